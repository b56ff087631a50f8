// SPDX-License-Identifier: Apache-2.0
// periodic_task.cpp - the loop behind PeriodicTask.
#include "periodic_task.hpp"

namespace oryx::bpf {

PeriodicTask::PeriodicTask(std::chrono::milliseconds period, std::function<void(uint64_t)> fn)
    : period_(period), fn_(std::move(fn)) {
  thread_ = std::thread([this] {
    std::unique_lock lock(mutex_);
    for (uint64_t tick = 1; !wake_.wait_for(lock, period_, [this] { return stopping_; }); tick++) {
      lock.unlock();
      fn_(tick);
      lock.lock();
    }
  });
}

PeriodicTask::~PeriodicTask() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

}  // namespace oryx::bpf
