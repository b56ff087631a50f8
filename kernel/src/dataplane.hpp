// SPDX-License-Identifier: Apache-2.0
// dataplane.hpp - the validated graph plan as DPDK rte_graph nodes, one
// graph per worker lcore, and the worker loop (run to completion, with
// busy-poll or adaptive back-off when idle).
#pragma once

#include "counters.hpp"
#include "graph_plan.hpp"
#include "hosted_worker.hpp"

#include <oryx/abi.h>

#include <nlohmann/json.hpp>

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

struct rte_graph;

namespace oryx::kernel {

struct StageRuntime {
  std::string name;
  std::string type;
  const oryx_stage_desc* desc = nullptr;
  void* instance = nullptr;
  CounterBlock* counters = nullptr;
  bool started = false;
};

// A capture tap (abi.h, oryx_capture_fn) and the two tap slots of a graph
// node: before its stage runs and after it. Workers read a slot once per
// burst; with no tap attached that is the whole cost.
struct CaptureTap {
  oryx_capture_fn fn;
  void* ctx;
};
struct NodeTaps {
  std::atomic<const CaptureTap*> before{nullptr};
  std::atomic<const CaptureTap*> after{nullptr};
};

// One capture point: a tap slot of a graph node.
struct CapturePoint {
  std::string name;   // "<stage>.rx", ".in", ".out", ".tx"
  std::string stage;
  std::string where;  // "received", "emitted", "before", "after"
  bool port;          // a registered port: received = in, before = out
  size_t node;        // index into the plan's nodes
  bool after;         // the node's after slot (else before)
};

struct alignas(64) Worker {
  uint32_t index = 0;
  unsigned lcore = 0;
  rte_graph* graph = nullptr;
  uint16_t graph_id = 0;
  // Written by the worker only.
  uint64_t polled = 0;        // packets polled in the current walk
  uint64_t walks = 0;          // stored with release order: capture_detach waits on it
  uint64_t busy_walks = 0;
  uint64_t busy_cycles = 0;
  uint64_t idle_cycles = 0;
  uint64_t sleeps = 0;
  std::atomic<bool> running{false};
};

struct DataplaneOptions {
  std::vector<unsigned> lcores;  // one launched worker each (unless hosted)
  // The shared-thread model: one worker, walked by the threads that use it
  // (HostedWorker) instead of a thread of its own.
  bool hosted = false;
  HostedWorker::Options hosted_options;
  uint16_t burst = 32;
  bool busy_poll = false;
  uint32_t idle_sleep_max_us = 200;
};

class Dataplane {
 public:
  Dataplane(const GraphPlan& plan, std::vector<StageRuntime>& stages, DataplaneOptions options);
  ~Dataplane();
  Dataplane(const Dataplane&) = delete;
  Dataplane& operator=(const Dataplane&) = delete;

  // Registers nodes and creates the per-worker graphs. Throws on failure.
  void build();
  // Runs worker_init of every stage on each worker, then the loop.
  void launch();
  // Asks workers to stop and waits for them (worker_fini runs on each).
  void stop();

  uint32_t worker_count() const { return uint32_t(workers_.size()); }
  // The hosted worker (shared-thread model) once launched, else nullptr.
  HostedWorker* hosted() const { return hosted_.get(); }
  uint16_t burst() const { return options_.burst; }
  nlohmann::json workers_json() const;
  // Per node of worker graphs: calls, objects, cycles (from rte_graph).
  nlohmann::json node_stats_json() const;
  uint64_t total_drops() const;
  bool running() const { return launched_; }

  // Capture points (abi.h, capture_points): "<stage>.rx", "<stage>.in",
  // "<stage>.out", and "<stage>.tx" for ports (stages that poll a device
  // and transmit what reaches them; is_port tells which stage names are
  // registered ports). Attach and detach run on control threads.
  using IsPort = std::function<bool(const std::string& stage)>;
  void set_port_test(IsPort is_port) { is_port_ = std::move(is_port); }
  nlohmann::ordered_json capture_points() const;  // keys in the order oryxctl shows
  int capture_attach(const std::string& point, oryx_capture_fn fn, void* ctx);
  int capture_detach(const std::string& point);
  std::vector<CapturePoint> capture_point_list() const;

  // Internal, for the C trampolines.
  struct NodeRuntime {
    StageRuntime* stage;
    bool source;
    uint16_t edge_count;  // drop edge included
    NodeTaps* taps;
  };
  // What one node needs on one worker (dataplane.cpp), set in the node's
  // ctx once its graph exists.
  struct NodeWorkerCtx;

 private:
  const GraphPlan& plan_;
  std::vector<StageRuntime>& stages_;
  DataplaneOptions options_;
  std::vector<Worker*> workers_;
  std::vector<NodeRuntime> node_runtimes_;
  std::vector<std::string> graph_node_names_;
  std::vector<std::unique_ptr<NodeTaps>> taps_;  // one per plan node
  std::vector<std::unique_ptr<NodeWorkerCtx>> contexts_;  // per worker and node
  std::atomic<bool> stop_requested_{false};               // launched workers return
  std::mutex capture_mutex_;                      // attach/detach
  IsPort is_port_;
  bool launched_ = false;
  std::unique_ptr<HostedWorker> hosted_;

  void launch_hosted();
  // The wake descriptors of the graph's sources for worker 0; sets
  // timer_poll when a source has none.
  std::vector<int> source_wake_fds(bool& timer_poll) const;
};

}  // namespace oryx::kernel
