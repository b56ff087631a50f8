// SPDX-License-Identifier: Apache-2.0
// periodic_task.hpp - a thread that calls a function every period until
// it is destroyed (the BPF services' counter and housekeeping loops).
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>

namespace oryx::bpf {

class PeriodicTask {
 public:
  // fn(tick) runs every `period`, tick counting from 1.
  PeriodicTask(std::chrono::milliseconds period, std::function<void(uint64_t tick)> fn);
  ~PeriodicTask();  // wakes the thread and joins it
  PeriodicTask(const PeriodicTask&) = delete;
  PeriodicTask& operator=(const PeriodicTask&) = delete;

 private:
  std::chrono::milliseconds period_;
  std::function<void(uint64_t)> fn_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace oryx::bpf
