// SPDX-License-Identifier: Apache-2.0
// connection_prefetch.hpp - a burst's connections brought into the cache
// before lwIP handles the burst's first segment.
#pragma once

#include "tcp_watch.hpp"

#include <cstdint>

namespace oryx::stack {

// Packets the packet path parses and prefetches together (a burst's worth).
constexpr uint16_t kPrefetchPackets = 64;

// Prefetches, for each of `count` segments whose `is_tcp` is true, its
// hash bucket, then the pcb that heads it, then the pcb's unacknowledged
// segments and its owner's state. Only reads; under the core lock.
void prefetch_connections(const TcpSegment* segs, const bool* is_tcp, uint16_t count);

}  // namespace oryx::stack
