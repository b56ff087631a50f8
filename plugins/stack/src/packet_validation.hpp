// SPDX-License-Identifier: Apache-2.0
// packet_validation.hpp - checks of received frames before lwIP sees them:
// what lwIP (built by Debian without statistics) would otherwise drop
// without a trace. Pure functions of one frame, fuzzed by fuzz/packet_input.
#pragma once

#include <cstddef>

struct rte_mbuf;

namespace oryx::stack {

enum class FrameVerdict {
  kFine,         // lwIP may have it (fragments are checked after reassembly)
  kVerified,     // as kFine, and its TCP/UDP checksum is right: lwIP need not check it
  kBadIpv4,      // version, header length, total length or header checksum
  kBadIpv6,      // payload length beyond the frame
  kBadL4,        // TCP/UDP header truncated or lengths inconsistent
  kBadChecksum,  // TCP/UDP checksum wrong (by the port's flags or computed)
  kSplitHeaders,  // a chained frame whose headers go past its first segment
};

// IP header sanity, and TCP/UDP lengths and checksums of unfragmented
// packets, of an Ethernet frame (chained or not: lengths and checksums
// cover every segment, the headers must be in the first).
FrameVerdict validate_frame(const rte_mbuf* m);

// Whether the frame may go on to lwIP.
inline bool accepted(FrameVerdict v) { return v == FrameVerdict::kFine || v == FrameVerdict::kVerified; }

// Whether every segment of a frame has `needed` bytes of headroom (where
// the lwIP side puts its wrapper of the segment).
bool segments_have_headroom(const rte_mbuf* m, size_t needed);

// An IPv4 fragment (MF set or a non-zero offset): for Ipv4Reassembly.
bool is_ipv4_fragment(const rte_mbuf* m);

}  // namespace oryx::stack
