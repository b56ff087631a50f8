// SPDX-License-Identifier: Apache-2.0
// core_lock.hpp - lwIP's core lock as a scope (lwIP side only).
#pragma once

extern "C" {
#include <lwip/tcpip.h>
}

namespace oryx::stack {

class CoreLock {
 public:
  CoreLock() { LOCK_TCPIP_CORE(); }
  ~CoreLock() { UNLOCK_TCPIP_CORE(); }
  CoreLock(const CoreLock&) = delete;
  CoreLock& operator=(const CoreLock&) = delete;
};

}  // namespace oryx::stack
