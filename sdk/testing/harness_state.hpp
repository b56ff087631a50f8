// SPDX-License-Identifier: Apache-2.0
// harness_state.hpp - what a Harness keeps: the kernel's configuration,
// loader and counters, and the in-memory registries its host table fills.
#pragma once

#include <oryx/testing.hpp>

#include "appliance_config.hpp"
#include "counters.hpp"
#include "plugin_loader.hpp"

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace oryx::testing {

struct Tap {
  oryx_capture_fn fn = nullptr;
  void* ctx = nullptr;
};

struct Harness::StageSlot {
  std::string name;
  std::string type;
  const oryx_stage_desc* desc = nullptr;
  void* instance = nullptr;
  std::unique_ptr<kernel::CounterBlock> counters;
  std::vector<std::string> edge_names;  // [0] "drop", [k] the stage next[k-1] names
  bool started = false;
  bool worker_ready = false;
  Tap before;  // "<stage>.in": what process() is handed
  Tap after;   // "<stage>.out" after process(), "<stage>.rx" after poll()
  bool source() const { return desc->flags & ORYX_STAGE_SOURCE; }
};

struct Route {
  std::string help;
  char* (*endpoint)(void*) = nullptr;  // ABI 1.1 GET endpoint
  oryx_route_fn route = nullptr;        // ABI 1.4 route
  void* ctx = nullptr;
};

struct Harness::State {
  HarnessOptions options;
  std::unique_ptr<kernel::ApplianceConfig> config;
  kernel::PluginLoader loader;
  bool plugins_up = false;
  std::vector<StageSlot> stages;
  rte_mempool* pool = nullptr;

  // Registries the host table fills.
  std::map<std::string, uint16_t> ports;
  std::map<std::string, std::pair<uint32_t, const void*>> services;
  std::map<std::string, Route> routes;
  std::map<const oryx_logger*, std::string> logger_names;
  std::mutex log_mutex;  // plugins log from threads of their own
  std::vector<LogLine> log;
  uint64_t kicks = 0;
};

// The running harness, behind the host table (one at a time).
extern Harness::State* g_harness;
const oryx_host_api* fake_host();
// The kernel's logger handle for `name`, remembered for log().
oryx_logger* logger_for(Harness::State& state, const std::string& name);

}  // namespace oryx::testing
