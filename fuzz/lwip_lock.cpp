// SPDX-License-Identifier: Apache-2.0
// lwip_lock.cpp - lwIP's core lock for fuzz_packet_input, in a translation
// unit of its own (lwIP's and DPDK's headers clash). Holding it keeps
// lwIP's timer thread from sending while the harness counts mbufs.
#include "core_lock.hpp"

namespace oryx::fuzz {

void lwip_lock() { LOCK_TCPIP_CORE(); }
void lwip_unlock() { UNLOCK_TCPIP_CORE(); }

}  // namespace oryx::fuzz
