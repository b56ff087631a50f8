// SPDX-License-Identifier: Apache-2.0
// stage_validation.cpp - stage tables against their plugins, then the graph.
#include "stage_validation.hpp"

#include <algorithm>

namespace oryx::kernel {

namespace {

std::string unknown_type_message(const StageSpec& stage, const std::vector<std::string>& types) {
  std::string msg = "unknown " + std::string(stage.kind()) + " type \"" + stage.type + "\"";
  std::string close = did_you_mean(stage.type, types);
  if (!close.empty()) msg += " (did you mean \"" + close + "\"?)";
  std::string list;
  for (const auto& t : types) list += (list.empty() ? "" : ", ") + t;
  return msg + "; loaded plugins provide: " + (list.empty() ? std::string("none") : list);
}

}  // namespace

ValidatedStages validate_stages(ApplianceConfig& cfg, const PluginLoader& loader,
                                const oryx_host_api* host) {
  std::vector<ConfigError> errors;
  ValidatedStages out;
  auto types = loader.stage_types();
  for (auto& stage : cfg.stages) {
    const oryx_stage_desc* d = stage.type.empty() ? nullptr : loader.find_stage(stage.type, nullptr);
    if (!d) {
      errors.push_back({cfg.file, stage.line, stage.path() + ".type",
                        unknown_type_message(stage, types)});
      out.descs.push_back(nullptr);
      continue;
    }
    bool is_service_type = d->flags & ORYX_STAGE_SERVICE;
    if (is_service_type != stage.service) {
      errors.push_back({cfg.file, stage.line, stage.path() + ".type",
                        "\"" + stage.type + "\" is a " +
                            (is_service_type ? "service: declare it as [service." + stage.name + "]"
                                             : "packet stage: declare it as [stage." + stage.name + "]")});
      out.descs.push_back(nullptr);
      continue;
    }
    size_t before = errors.size();
    validate_stage(stage, cfg.file, d->params, errors);
    if (errors.size() == before) check_stage(stage, cfg.file, *d, host, errors);
    out.descs.push_back(d);
  }
  // The graph is checked whenever every stage's type is known, so that all
  // errors of a file are reported together.
  if (std::find(out.descs.begin(), out.descs.end(), nullptr) == out.descs.end())
    out.plan = plan_graph(cfg, out.descs, errors);
  std::sort(errors.begin(), errors.end(),
            [](const ConfigError& a, const ConfigError& b) { return a.line < b.line; });
  if (!errors.empty()) throw ConfigInvalid(std::move(errors));
  return out;
}

}  // namespace oryx::kernel
