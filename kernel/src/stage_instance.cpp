// SPDX-License-Identifier: Apache-2.0
// stage_instance.cpp - instance_create with the arguments the ABI defines.
#include "stage_instance.hpp"

#include <stdexcept>
#include <vector>

namespace oryx::kernel {

void* create_instance(const StageSpec& spec, const oryx_stage_desc& desc,
                      const oryx_host_api* host, oryx_logger* logger, uint64_t* control_counters) {
  std::vector<const char*> edge_names;
  for (const auto& n : spec.next) edge_names.push_back(n.c_str());
  char err[512] = "";
  oryx_instance_args args{};
  args.struct_size = sizeof(args);
  args.name = spec.name.c_str();
  args.config = spec.config.get();
  args.host = host;
  args.logger = logger;
  args.control_counters = control_counters;
  args.error = err;
  args.error_size = sizeof(err);
  args.edge_count = edge_names.size();
  args.edge_names = edge_names.data();
  void* instance = nullptr;
  if (desc.instance_create(&args, &instance) != ORYX_OK)
    throw std::runtime_error(std::string(spec.kind()) + " " + spec.name + " (" + spec.type +
                             "): " + (err[0] ? err : "instance_create failed"));
  return instance;
}

}  // namespace oryx::kernel
