// SPDX-License-Identifier: Apache-2.0
// live_services.hpp - the running instances of a BPF service type, for the
// REST endpoint they share: the first to start registers it (registrations
// live as long as the process), HTTP threads read the list, the main
// thread adds and removes.
#pragma once

#include <algorithm>
#include <mutex>
#include <vector>

namespace oryx::bpf {

template <class Service>
class LiveServices {
 public:
  // Adds `s`; the first one calls `register_endpoint` first, which throws
  // when the kernel refuses (the service's start then fails with why).
  template <class Register>
  void add(Service* s, Register register_endpoint) {
    std::lock_guard lock(mutex_);
    if (!registered_) {
      register_endpoint();
      registered_ = true;
    }
    services_.push_back(s);
  }
  void remove(Service* s) {
    std::lock_guard lock(mutex_);
    services_.erase(std::remove(services_.begin(), services_.end(), s), services_.end());
  }
  // fn(const Service&) for each, under the lock: none stops meanwhile.
  template <class Fn>
  void for_each(Fn fn) const {
    std::lock_guard lock(mutex_);
    for (const Service* s : services_) fn(*s);
  }
  // fn(Service&) for each, under the lock (a change through the API).
  template <class Fn>
  void change_each(Fn fn) {
    std::lock_guard lock(mutex_);
    for (Service* s : services_) fn(*s);
  }

 private:
  mutable std::mutex mutex_;
  std::vector<Service*> services_;
  bool registered_ = false;
};

}  // namespace oryx::bpf
