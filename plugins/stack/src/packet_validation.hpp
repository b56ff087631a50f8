// SPDX-License-Identifier: Apache-2.0
// packet_validation.hpp - checks of received frames before lwIP sees them:
// what lwIP (built by Debian without statistics) would otherwise drop
// without a trace. Pure functions of one frame, fuzzed by fuzz/packet_input.
#pragma once

struct rte_mbuf;

namespace oryx::stack {

enum class FrameVerdict {
  kFine,         // lwIP may have it (fragments are checked after reassembly)
  kBadIpv4,      // version, header length, total length or header checksum
  kBadIpv6,      // payload length beyond the frame
  kBadL4,        // TCP/UDP header truncated or lengths inconsistent
  kBadChecksum,  // TCP/UDP checksum wrong (by the port's flags or computed)
};

// IP header sanity, and TCP/UDP lengths and checksums of unfragmented
// packets, of a one-segment Ethernet frame.
FrameVerdict validate_frame(const rte_mbuf* m);

// An IPv4 fragment (MF set or a non-zero offset): for Ipv4Reassembly.
bool is_ipv4_fragment(const rte_mbuf* m);

}  // namespace oryx::stack
