// SPDX-License-Identifier: Apache-2.0
// stage_validation.hpp - every [stage.*] and [service.*] table checked
// against the loaded plugins: known type, stage or service as declared,
// the plugin's schema and its own check(), then the graph. Shared by
// oryxd's start-up and the plugin test kit, so both refuse the same files.
#pragma once

#include "appliance_config.hpp"
#include "graph_plan.hpp"
#include "plugin_loader.hpp"

#include <oryx/abi.h>

#include <vector>

namespace oryx::kernel {

struct ValidatedStages {
  std::vector<const oryx_stage_desc*> descs;  // descs[i] is cfg.stages[i]'s type
  GraphPlan plan;
};

// Validates cfg.stages (filling each StageSpec::config). Throws
// ConfigInvalid with every error found, sorted by line.
ValidatedStages validate_stages(ApplianceConfig& cfg, const PluginLoader& loader,
                                const oryx_host_api* host);

}  // namespace oryx::kernel
