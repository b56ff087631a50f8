// SPDX-License-Identifier: Apache-2.0
// bond_monitor.cpp - see bond_monitor.hpp.
#include "bond_monitor.hpp"

#include <pthread.h>

#include <chrono>
#include <csignal>

namespace oryx::bond {

BondMonitor::BondMonitor(uint32_t interval_ms, MemberSnapshot initial, Observe observe,
                         Changed changed)
    : interval_ms_(interval_ms),
      last_(std::move(initial)),
      observe_(std::move(observe)),
      changed_(std::move(changed)) {
  // Signals belong to the process's main thread (oryxd, or the application
  // under oryx run), never to this one.
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_BLOCK, &all, &old);
  thread_ = std::thread([this] { run(); });
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  pthread_setname_np(thread_.native_handle(), "oryx-bond-mon");
}

BondMonitor::~BondMonitor() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

void BondMonitor::run() {
  std::unique_lock lock(mutex_);
  while (!wake_.wait_for(lock, std::chrono::milliseconds(interval_ms_), [this] { return stopping_; })) {
    lock.unlock();
    MemberSnapshot now = observe_();
    if (!(now == last_)) changed_(last_, now);
    last_ = std::move(now);
    lock.lock();
  }
}

}  // namespace oryx::bond
