// SPDX-License-Identifier: Apache-2.0
// stage_instance.hpp - one stage or service instance created from its
// validated table: the arguments instance_create gets, and the message a
// refusal becomes. Shared by oryxd's start-up and the plugin test kit.
#pragma once

#include "appliance_config.hpp"

#include <oryx/abi.h>

namespace oryx::kernel {

// Calls desc.instance_create for `spec` (validated: spec.config set).
// Throws std::runtime_error "<kind> <name> (<type>): <why>" on refusal.
void* create_instance(const StageSpec& spec, const oryx_stage_desc& desc,
                      const oryx_host_api* host, oryx_logger* logger, uint64_t* control_counters);

}  // namespace oryx::kernel
