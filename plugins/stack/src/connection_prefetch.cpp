// SPDX-License-Identifier: Apache-2.0
// connection_prefetch.cpp - see connection_prefetch.hpp. VPP's pattern:
// each step of a lookup is issued for the whole burst before the next, so
// the cache misses of a burst's segments overlap instead of following one
// another. With many connections each segment's bucket and pcb are cold
// (at 100,000, tcp_lookup alone took about 900 cycles a request in the
// server of bench/scale_oryx.sh), and lwIP takes them one segment at a time.
#include "connection_prefetch.hpp"

extern "C" {
#include <lwip/priv/tcp_priv.h>
#include <lwip/tcp.h>
}

namespace oryx::stack {

void prefetch_connections(const TcpSegment* segs, const bool* is_tcp, uint16_t count) {
  tcp_pcb** slots[kPrefetchPackets];
  uint16_t buckets = 0;
  for (uint16_t i = 0; i < count && buckets < kPrefetchPackets; i++) {
    if (!is_tcp[i]) continue;
    slots[buckets] = connection_slot(segs[i]);
    __builtin_prefetch(slots[buckets]);
    buckets++;
  }
  tcp_pcb* pcbs[kPrefetchPackets];
  uint16_t found = 0;
  for (uint16_t k = 0; k < buckets; k++) {
    tcp_pcb* p = *slots[k];
    if (!p) continue;
    for (size_t line = 0; line < sizeof(tcp_pcb); line += 64)
      __builtin_prefetch(reinterpret_cast<const char*>(p) + line);
    pcbs[found++] = p;
  }
  for (uint16_t k = 0; k < found; k++) {
    if (pcbs[k]->unacked) __builtin_prefetch(pcbs[k]->unacked);
    if (pcbs[k]->callback_arg) __builtin_prefetch(pcbs[k]->callback_arg);
  }
}

}  // namespace oryx::stack
