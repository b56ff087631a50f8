// SPDX-License-Identifier: Apache-2.0
// instance.cpp - the process's lwIP instances, by name.
#include "instance.hpp"

#include <oryx_clock.h>

extern "C" {
#include <lwip/priv/instance_state.h>
#include <lwip/tcpip.h>
}

#include <pthread.h>
#include <sched.h>
#include <sys/prctl.h>
#include <time.h>

#include <map>
#include <mutex>
#include <stdexcept>

namespace oryx::stack {

namespace {
std::mutex registry_lock;
std::map<std::string, std::unique_ptr<Instance>>& registry() {
  static auto* instances = new std::map<std::string, std::unique_ptr<Instance>>();
  return *instances;
}

struct TimerThreadSetup {
  std::string name;
  int cpu;
};

// Runs first in the instance's timer thread (tcpip_init's callback).
void setup_timer_thread(void* arg) {
  std::unique_ptr<TimerThreadSetup> setup(static_cast<TimerThreadSetup*>(arg));
  pthread_setname_np(pthread_self(), ("lwip-" + setup->name).substr(0, 15).c_str());
  // Its pauses (oryx_tcp_timer_pause_point) are tens of microseconds.
  prctl(PR_SET_TIMERSLACK, 1000UL);
  if (setup->cpu >= 0) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(setup->cpu, &set);
    pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
    // On a worker's CPU the timers must run when due and hand the CPU back
    // for exactly their pauses, not for the scheduler's slices of the
    // busy-polling worker: a real-time priority (the lowest) where the
    // process may have one.
    sched_param param{};
    param.sched_priority = sched_get_priority_min(SCHED_FIFO);
    pthread_setschedparam(pthread_self(), SCHED_FIFO, &param);
  }
}
}  // namespace

Instance& instance_named(const std::string& name, int timer_cpu) {
  std::lock_guard guard(registry_lock);
  auto& slot = registry()[name];
  if (slot) return *slot;
  auto inst = std::make_unique<Instance>();
  inst->name = name;
  inst->lwip = lwip_instance_new();
  if (!inst->lwip) throw std::runtime_error("no memory for an lwIP instance");
  lwip_instance_set_client_data(inst->lwip, inst.get());
  // tcpip_init initialises the current instance and starts its thread,
  // which drives its timers (retransmission, delayed ACK, ARP and
  // reassembly ageing) whether the workers busy-poll or sleep.
  lwip_instance* previous = lwip_current_instance;
  lwip_current_instance = inst->lwip;
  tcpip_init(setup_timer_thread, new TimerThreadSetup{name, timer_cpu});
  lwip_current_instance = previous;
  slot = std::move(inst);
  return *slot;
}

Instance& current_instance() {
  return *static_cast<Instance*>(lwip_instance_client_data(lwip_current_instance));
}

bool any_interface() {
  std::lock_guard guard(registry_lock);
  for (auto& [name, inst] : registry())
    if (inst->interfaces) return true;
  return false;
}

std::vector<Instance*> all_instances() {
  std::lock_guard guard(registry_lock);
  std::vector<Instance*> all;
  for (auto& [name, inst] : registry()) all.push_back(inst.get());
  return all;
}

CoreLock::CoreLock(Instance& inst) : previous_(lwip_current_instance) {
  lwip_current_instance = inst.lwip;
  LOCK_TCPIP_CORE();
  oryx_clock_freeze();  // one clock reading for the whole hold (oryx_clock.h)
}

CoreLock::~CoreLock() {
  oryx_clock_thaw();
  UNLOCK_TCPIP_CORE();
  lwip_current_instance = previous_;
}

}  // namespace oryx::stack

namespace {

// The timer thread shares its CPU with the worker it feeds (instance_named's
// timer_cpu): a pause lets the worker run, and take the core lock.
constexpr uint64_t kTimerSliceNs = 300'000;  // timer work between two pauses
constexpr uint64_t kPauseNs = 30'000;
constexpr uint64_t kBacklogWaitNs = 50'000'000;
constexpr unsigned kPointsPerClockRead = 32;

uint64_t now_ns() {
  timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return uint64_t(t.tv_sec) * 1'000'000'000u + uint64_t(t.tv_nsec);
}

void pause_unlocked() {
  UNLOCK_TCPIP_CORE();
  timespec t{0, long(kPauseNs)};
  nanosleep(&t, nullptr);
  LOCK_TCPIP_CORE();
}

bool backlogged(const oryx::stack::TxBacklog* b) {
  return b && b->half_full();
}

}  // namespace

// lwIP patch 0018: called by the TCP timers (their thread, core lock held)
// between two connections. While a transmit ring of the instance is
// backlogged, they wait for its worker (up to kBacklogWaitNs per walk, in
// case nothing drains it: a hosted worker with idle application threads);
// otherwise they pause briefly every kTimerSliceNs, so the worker can take
// in what arrived meanwhile. The lock is released only in pause_unlocked,
// and the backlog re-read under it (its interface may be gone after).
extern "C" void oryx_tcp_timer_pause_point(void) {
  thread_local u8_t walk;
  thread_local uint64_t slice_started, waited;
  thread_local unsigned points;
  if (LWIP_INST->tcp_timer_ctr != walk) {  // a new walk of a timer list
    walk = LWIP_INST->tcp_timer_ctr;
    slice_started = now_ns();
    waited = 0;
    points = 0;
  }
  auto& inst = oryx::stack::current_instance();
  const oryx::stack::TxBacklog* b = inst.tx_backlog.load(std::memory_order_relaxed);
  if (b) {
    if (backlogged(b) && waited < kBacklogWaitNs) {
      (*b->waits)++;
      uint64_t started = now_ns();
      do {
        pause_unlocked();
      } while (backlogged(inst.tx_backlog.load(std::memory_order_relaxed)) &&
               now_ns() - started < kBacklogWaitNs - waited);
      waited += now_ns() - started;
      slice_started = now_ns();
    }
    inst.tx_backlog.store(nullptr, std::memory_order_relaxed);
    return;
  }
  if (++points < kPointsPerClockRead) return;
  points = 0;
  if (now_ns() - slice_started < kTimerSliceNs) return;
  pause_unlocked();
  slice_started = now_ns();
}
