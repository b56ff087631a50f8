// SPDX-License-Identifier: Apache-2.0
// graph_plan.cpp - graph construction and validation.
#include "graph_plan.hpp"

#include <cstdint>
#include <functional>

namespace oryx::kernel {

GraphPlan plan_graph(const ApplianceConfig& cfg, const std::vector<const oryx_stage_desc*>& descs,
                     std::vector<ConfigError>& errors) {
  GraphPlan plan;
  plan.input_node.assign(cfg.stages.size(), SIZE_MAX);
  std::vector<size_t> source_node(cfg.stages.size(), SIZE_MAX);
  for (size_t i = 0; i < cfg.stages.size(); i++) {
    const auto* d = descs[i];
    if (d->poll) {
      source_node[i] = plan.nodes.size();
      plan.nodes.push_back({cfg.stages[i].name + ".rx", i, true, {}});
    }
    if (d->process) {
      plan.input_node[i] = plan.nodes.size();
      plan.nodes.push_back({cfg.stages[i].name, i, false, {}});
    }
  }

  std::vector<std::string> names;
  for (const auto& s : cfg.stages) names.push_back(s.name);
  for (size_t i = 0; i < cfg.stages.size(); i++) {
    const auto& s = cfg.stages[i];
    std::vector<size_t> targets;
    for (const auto& target : s.next) {
      const std::string key = "stage." + s.name + ".next";
      const StageSpec* t = cfg.find_stage(target);
      if (!t) {
        std::string msg = "unknown stage \"" + target + "\"";
        std::string close = did_you_mean(target, names);
        if (!close.empty()) msg += " (did you mean \"" + close + "\"?)";
        errors.push_back({cfg.file, s.next_line, key, msg});
        continue;
      }
      size_t j = size_t(t - cfg.stages.data());
      if (j == i) {
        errors.push_back({cfg.file, s.next_line, key,
                          "\"" + target + "\" is this stage itself: a stage cannot feed itself"});
        continue;
      }
      if ((descs[i]->flags & ORYX_STAGE_NEXT_INTERFACES) && !(descs[j]->flags & ORYX_STAGE_INTERFACE)) {
        errors.push_back({cfg.file, s.next_line, key,
                          "a " + s.type + " sends through interfaces: expected a port, vlan or "
                          "bond stage, found \"" + target + "\" (type " + t->type + ")"});
        continue;
      }
      if (t->service) {
        errors.push_back({cfg.file, s.next_line, key,
                          "\"" + target + "\" is a service (type " + t->type +
                              ") and does not receive packets"});
        continue;
      }
      if (plan.input_node[j] == SIZE_MAX) {
        errors.push_back({cfg.file, s.next_line, key,
                          "stage \"" + target + "\" (type " + t->type +
                              ") only produces packets and cannot receive them"});
        continue;
      }
      targets.push_back(plan.input_node[j]);
    }
    if (s.next.size() > 254)
      errors.push_back({cfg.file, s.next_line, "stage." + s.name + ".next",
                        "expected at most 254 edges, found " + std::to_string(s.next.size())});
    if (source_node[i] != SIZE_MAX) plan.nodes[source_node[i]].edges = targets;
    if (plan.input_node[i] != SIZE_MAX && !(descs[i]->flags & ORYX_STAGE_SINK))
      plan.nodes[plan.input_node[i]].edges = targets;
  }
  if (!errors.empty()) return plan;

  // Cycle check: depth-first search with colours over node edges.
  std::vector<int> colour(plan.nodes.size(), 0);
  std::vector<size_t> path;
  bool cycle_found = false;
  std::function<void(size_t)> visit = [&](size_t n) {
    if (cycle_found) return;
    colour[n] = 1;
    path.push_back(n);
    for (size_t e : plan.nodes[n].edges) {
      if (colour[e] == 1) {
        std::string loop;
        bool on = false;
        for (size_t p : path) {
          if (p == e) on = true;
          if (on) loop += plan.nodes[p].name + " -> ";
        }
        loop += plan.nodes[e].name;
        const auto& s = cfg.stages[plan.nodes[n].stage];
        errors.push_back({cfg.file, s.next_line, "stage." + s.name + ".next",
                          "edges form a cycle: " + loop});
        cycle_found = true;
        return;
      }
      if (colour[e] == 0) visit(e);
      if (cycle_found) return;
    }
    path.pop_back();
    colour[n] = 2;
  };
  for (size_t n = 0; n < plan.nodes.size() && !cycle_found; n++)
    if (colour[n] == 0) visit(n);

  std::function<void(size_t)> mark = [&](size_t n) {
    if (plan.nodes[n].reachable) return;
    plan.nodes[n].reachable = true;
    for (size_t e : plan.nodes[n].edges) mark(e);
  };
  for (size_t n = 0; n < plan.nodes.size(); n++)
    if (plan.nodes[n].source) mark(n);
  return plan;
}

}  // namespace oryx::kernel
