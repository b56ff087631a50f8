// SPDX-License-Identifier: Apache-2.0
// eal_args.hpp - the DPDK EAL command line derived from [kernel].
#pragma once

#include "appliance_config.hpp"

#include <string>
#include <vector>

namespace oryx::kernel {

// The control thread's lcore when main_lcore is also a worker's CPU (the
// EAL's last, RTE_MAX_LCORE - 1 in Debian's build).
constexpr unsigned kSharedMainLcore = 127;

std::vector<std::string> eal_arguments(const ApplianceConfig& cfg, const std::string& argv0);

}  // namespace oryx::kernel
