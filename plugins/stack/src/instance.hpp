// SPDX-License-Identifier: Apache-2.0
// instance.hpp - lwIP instances (lwip patch 0016) and what the glue keeps
// beside each one (lwIP side only).
//
// Stack stages that name the same `instance` share one lwIP: one
// connection table, one core lock, one timer thread. Stages with
// different names run independent stacks, none waiting for another's
// lock. An instance lives until the process ends (lwIP
// cannot stop its timer thread); a later stage of the same name reuses it.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

struct lwip_instance;

namespace oryx::stack {

// A transmit ring at least this full stops lwIP's TCP timers until the
// worker has drained it below (or 50 ms, a fast-timer period, of a walk
// passed).
constexpr unsigned kTxBacklogPercent = 50;

// A transmit ring of one of the instance's interfaces, and its count of
// the timers' waits for it.
struct TxBacklog {
  void* ring = nullptr;
  unsigned (*fill_percent)(void* ring) = nullptr;
  uint64_t* waits = nullptr;

  // At least kTxBacklogPercent full (never, without a way to tell).
  bool half_full() const { return fill_percent && fill_percent(ring) >= kTxBacklogPercent; }
};

struct Instance {
  std::string name;
  lwip_instance* lwip = nullptr;
  // A transmit ring found filling up (by link_output; read and cleared
  // under the core lock): lwIP's TCP timers wait for the worker to drain
  // it before they send more (lwip patch 0018, oryx_tcp_timer_pause_point).
  std::atomic<const TxBacklog*> tx_backlog{nullptr};
  std::atomic<size_t> interfaces{0};  // live Interface objects on it
  // Per-instance state of glue modules that keep some (their own types).
  std::shared_ptr<void> watch;     // tcp_watch.cpp
  std::shared_ptr<void> services;  // services.cpp
};

// The instance called `name`, created and started on first use; its
// timer thread is named lwip-NAME (as top and ps show it) and, with
// timer_cpu >= 0, runs on that CPU.
Instance& instance_named(const std::string& name, int timer_cpu = -1);
// The instance the calling thread works on: the one whose core lock it
// holds, or whose timer thread it is.
Instance& current_instance();
// Whether any instance of the process has an interface (process-wide
// settings, the pools' ceilings, are fixed from then on).
bool any_interface();
// Every instance, in the order of their names.
std::vector<Instance*> all_instances();

// lwIP's core lock of one instance, as a scope; makes the instance the
// calling thread's current one meanwhile.
class CoreLock {
 public:
  explicit CoreLock(Instance& inst);
  ~CoreLock();
  CoreLock(const CoreLock&) = delete;
  CoreLock& operator=(const CoreLock&) = delete;

 private:
  lwip_instance* previous_;
};

}  // namespace oryx::stack
