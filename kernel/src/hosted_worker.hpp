// SPDX-License-Identifier: Apache-2.0
// hosted_worker.hpp - a worker without a thread of its own: the seeds'
// shared-thread model. The threads that use the stack (an application's,
// under `oryx run`) walk the worker's graph themselves while they wait for
// the network, one at a time (a stack lock in Onload's sense: whoever holds
// it polls), so a request needs no hand-off between threads.
//
// Three rules keep the network answering without burning a CPU:
//  * a thread that waits polls for a bounded time (spin_us), but only the
//    last application thread awake does, one at a time (while others run,
//    the CPU a spin takes is theirs); a spin stops early when the walk
//    brought packets for another thread, which then needs the CPU more;
//  * the last thread going to sleep hands the ports to the keeper, a helper
//    thread that sleeps on the ports' wake descriptors (the AF_XDP
//    socket, a queue's interrupt event) and walks when packets arrive;
//  * while application threads walk, the keeper only looks every grace
//    period and walks when nobody did, so an application that computes
//    for a long time still answers ARP, SYNs and ACKs.
// A stage with work that no poll brought (the stack's timers) kicks the
// keeper, which costs one atomic load while somebody polls anyway.
#pragma once

#include <nlohmann/json.hpp>

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace oryx::kernel {

// What one thread did with the hosted worker (oryxctl applications).
struct PollerStats {
  int tid = 0;
  bool keeper = false;
  std::atomic<bool> exited{false};
  std::atomic<uint64_t> polls{0};      // walks this thread ran
  std::atomic<uint64_t> packets{0};    // packets those walks received
  std::atomic<uint64_t> deferred{0};   // walks left to the thread holding the lock
  std::atomic<uint64_t> spins{0};      // waits that ended while spinning
  std::atomic<uint64_t> sleeps{0};     // waits that went to sleep
  std::atomic<uint64_t> wakeups{0};    // sleeps ended by an event (not a timeout)
  std::atomic<uint64_t> hold_cycles{0};  // time spent walking, holding the lock
  std::atomic<uint64_t> spin_cycles{0};  // time spent spinning
};

class HostedWorker {
 public:
  struct Options {
    uint32_t spin_us = 100;    // a waiting thread polls this long before sleeping
    uint32_t grace_us = 10000;  // the keeper walks when no application thread did for this long
    uint32_t timer_poll_us = 1000;  // idle polling of sources that have no wake descriptor
  };
  // One walk of the graph; returns the packets its sources received.
  using Walk = std::function<uint64_t()>;

  // wake_fds: descriptors readable when a source has packets; timer_poll:
  // some source has none, so the keeper polls every timer_poll_us when idle.
  HostedWorker(Options options, Walk walk, std::vector<int> wake_fds, bool timer_poll);
  ~HostedWorker();
  HostedWorker(const HostedWorker&) = delete;
  HostedWorker& operator=(const HostedWorker&) = delete;

  void start();  // the keeper thread
  void stop();
  // Stops the keeper and takes the lock for good once the walk in
  // progress ended: later poll() calls walk nothing (the graph is going).
  void retire();

  // Walks once unless another thread is walking (which then walks again
  // for us); returns the packets received.
  int poll();
  // The spin of a waiting thread: true when this thread may spin (no other
  // thread does); end_spin() when it stops.
  bool begin_spin();
  void end_spin(uint64_t spun_cycles, bool satisfied);
  // The calling thread stops polling and sleeps: the keeper takes over
  // until sleep_end().
  void sleep_begin();
  void sleep_end(bool by_event);
  // Some application thread sleeps: a walk that brought packets but not
  // what the spinning thread waits for probably woke it, and it needs the
  // CPU more than the spinner.
  bool others_sleep() const { return asleep_.load(std::memory_order_relaxed) > 0; }
  // Waits until *word != value (futex semantics), spinning and polling
  // first. deadline_ns: CLOCK_MONOTONIC, 0 = none. 0, -ETIMEDOUT or -EINTR.
  int wait_word(const uint32_t* word, uint32_t value, int64_t deadline_ns);
  // The sleeping half alone, a plain futex wait (also for workers with a
  // thread of their own); `woken`, if given, says a wake-up ended a wait.
  static int sleep_on_word(const uint32_t* word, uint32_t value, int64_t deadline_ns,
                           bool* woken = nullptr);
  // Something needs a walk soon though nobody may be polling.
  void kick();

  // Time on the hot paths is read from the TSC: clock_gettime is a
  // system call under some hypervisors (kvm-clock here).
  static uint64_t cycles();
  uint64_t cycles_per_us() const { return cycles_per_us_; }
  uint64_t spin_cycles() const { return uint64_t(options_.spin_us) * cycles_per_us_; }
  // An application thread that used the worker ended (its record says so).
  void thread_exited() { live_threads_.fetch_sub(1); }
  static int64_t now_ns();  // CLOCK_MONOTONIC, for deadlines
  nlohmann::json json() const;

 private:
  enum State : uint32_t { kAwake, kTiming, kSleeping };
  static constexpr uint32_t kHeld = 1, kAgain = 2;

  PollerStats& me();
  void keeper_loop();
  void walk_until_idle();

  Options options_;
  Walk walk_;
  std::vector<int> wake_fds_;
  bool timer_poll_;
  int kick_fd_ = -1;  // eventfd in the keeper's epoll set

  alignas(64) std::atomic<uint32_t> lock_{0};  // kHeld | kAgain
  uint64_t cycles_per_us_;
  std::atomic<uint64_t> last_app_walk_{0};  // cycles
  std::atomic<uint32_t> spinners_{0};
  std::atomic<uint32_t> asleep_{0};
  std::atomic<uint32_t> live_threads_{0};  // application threads that polled, not exited
  alignas(64) std::atomic<uint32_t> state_{kAwake};
  std::atomic<bool> kick_pending_{false};
  std::atomic<bool> kick_written_{false};
  std::atomic<bool> handoff_{false};
  std::atomic<uint32_t> keeper_word_{0};  // futex the keeper waits on while others poll
  std::atomic<bool> stopping_{false};
  std::thread keeper_;

  mutable std::mutex stats_mutex_;
  std::vector<std::shared_ptr<PollerStats>> stats_;
};

}  // namespace oryx::kernel
