// SPDX-License-Identifier: Apache-2.0
// graph_plan.hpp - turns the configured stages and their `next` edges into
// graph nodes, and validates it: no unknown names, no edge into a stage
// that cannot take packets, no cycles. Pure logic, no DPDK.
#pragma once

#include "appliance_config.hpp"

#include <oryx/abi.h>

#include <string>
#include <vector>

namespace oryx::kernel {

struct PlanNode {
  std::string name;           // "<stage>" (input) or "<stage>.rx" (source)
  size_t stage;               // index into ApplianceConfig::stages
  bool source;
  std::vector<size_t> edges;  // node index of edge k+1 (edge 0 is the drop sink)
  bool reachable = false;     // fed, directly or not, by some source
};

struct GraphPlan {
  std::vector<PlanNode> nodes;
  // input node of each stage, or SIZE_MAX
  std::vector<size_t> input_node;
};

// `descs[i]` is the descriptor of stage i. Errors are appended.
GraphPlan plan_graph(const ApplianceConfig& cfg, const std::vector<const oryx_stage_desc*>& descs,
                     std::vector<ConfigError>& errors);

}  // namespace oryx::kernel
