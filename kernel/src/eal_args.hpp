// SPDX-License-Identifier: Apache-2.0
// eal_args.hpp - the DPDK EAL command line derived from [kernel].
#pragma once

#include "appliance_config.hpp"

#include <string>
#include <vector>

namespace oryx::kernel {

std::vector<std::string> eal_arguments(const ApplianceConfig& cfg, const std::string& argv0);

}  // namespace oryx::kernel
