// SPDX-License-Identifier: Apache-2.0
// lwip_lock.cpp - lwIP's core lock for fuzz_packet_input, in a translation
// unit of its own (lwIP's and DPDK's headers clash). Holding it keeps
// lwIP's timer thread from sending while the harness counts mbufs. The
// harness's stack stage runs in the default lwIP instance.
#include "instance.hpp"

#include <optional>

namespace oryx::fuzz {

namespace {
std::optional<stack::CoreLock> held;
}

void lwip_lock() { held.emplace(stack::instance_named("default")); }
void lwip_unlock() { held.reset(); }

}  // namespace oryx::fuzz
