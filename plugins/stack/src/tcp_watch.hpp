// SPDX-License-Identifier: Apache-2.0
// tcp_watch.hpp - what the glue sees of TCP segments crossing the lwIP
// boundary: counters lwIP keeps only with LWIP_STATS (retransmissions,
// out-of-order, duplicate and out-of-window segments), Linux's TIME_WAIT
// reuse, NewReno partial-ACK recovery for peers without SACK, and loss
// probes (a tail loss, a lost retransmission in SACK recovery).
// Everything here runs under the lwIP core lock.
#pragma once

#include <cstdint>

struct tcp_pcb;

namespace oryx::stack {

// The fields of a TCP segment the glue looks at, copied out of a frame
// (lwIP may free the frame before the glue is done with them).
struct TcpSegment {
  bool ipv6;
  uint8_t src[16];  // 4 or 16 bytes used, network order
  uint8_t dst[16];
  uint16_t sport, dport;
  uint32_t seq, ack;
  uint8_t flags;
  uint32_t payload;  // bytes after the TCP header
};

// Reads an Ethernet frame of `len` bytes carrying an unfragmented IPv4 or
// IPv6 (no extension headers) TCP segment, whose headers are in its first
// `head` bytes; false for anything else or if short.
bool parse_tcp_segment(const uint8_t* frame, uint32_t head, uint32_t len, TcpSegment* seg);

// The bucket of lwIP's connection hash a received segment's connection is
// in (lwip patch 0023), for connection_prefetch.cpp.
tcp_pcb** connection_slot(const TcpSegment& seg);

// Per received segment: call before lwIP sees it and, with the returned
// token, after. Counts into the stage's counter row.
struct RxWatch {
  void* pcb = nullptr;  // the connection the segment belongs to, if any
  uint32_t lastack_before = 0;
  uint32_t snd_nxt_before = 0;
  bool in_recovery_before = false;
};
RxWatch watch_rx_before(const TcpSegment& seg, uint64_t* counters);
void watch_rx_after(const TcpSegment& seg, const RxWatch& before, uint64_t* counters);

// Per transmitted segment, before it leaves: counts retransmissions.
void watch_tx(const TcpSegment& seg, uint64_t* counters);

}  // namespace oryx::stack
