// SPDX-License-Identifier: Apache-2.0
// ipv4_reassembly.hpp - IPv4 reassembly in front of lwIP (DPDK side).
//
// Why not a library: Debian builds lwIP with IP_REASS_MAX_PBUFS = 10 and
// DPDK with RTE_LIBRTE_IP_FRAG_MAX_FRAG = 8, so neither can rebuild a
// datagram of more than 8-10 fragments, while a 65,507-byte UDP datagram
// over a 1,500-byte MTU takes 45. This reassembler chains the fragments'
// mbufs (no copy) into one IPv4 packet whose first segment carries the
// headers; lwIP then sees an unfragmented datagram.
//
// Policy: datagrams whose fragments overlap are dropped whole (as Linux
// does); incomplete datagrams expire after a timeout; at most kSlots
// datagrams per worker are in progress. Everything dropped is counted.
#pragma once

#include <cstdint>
#include <vector>

struct rte_mbuf;

namespace oryx::stack {

class Ipv4Reassembly {
 public:
  static constexpr unsigned kSlots = 64;

  struct Stats {
    uint64_t reassembled = 0;
    uint64_t overlap = 0;      // datagrams dropped for overlapping fragments
    uint64_t timeout = 0;      // datagrams that never completed
    uint64_t too_big = 0;      // fragments beyond 65,535 bytes
    uint64_t table_full = 0;   // fragments dropped: no free slot
    uint64_t fragments_dropped = 0;
  };

  explicit Ipv4Reassembly(uint64_t timeout_cycles) : timeout_(timeout_cycles) {}
  ~Ipv4Reassembly();
  Ipv4Reassembly(const Ipv4Reassembly&) = delete;
  Ipv4Reassembly& operator=(const Ipv4Reassembly&) = delete;

  // Takes ownership of a validated IPv4 fragment (Ethernet frame, one
  // segment). Returns the complete datagram as a chained mbuf, or nullptr
  // while fragments are missing (or when the fragment was dropped).
  rte_mbuf* add(rte_mbuf* frag, uint64_t now);
  // Drops datagrams older than the timeout.
  void expire(uint64_t now);

  const Stats& stats() const { return stats_; }
  unsigned mbufs_held() const { return held_; }

 private:
  struct Fragment {
    uint32_t offset;  // payload offset in bytes
    uint32_t length;  // payload bytes
    rte_mbuf* mbuf;
  };
  struct Slot {
    bool used = false;
    uint32_t src = 0, dst = 0;
    uint16_t id = 0;
    uint8_t proto = 0;
    uint64_t first_seen = 0;
    uint32_t total = 0;     // payload length, known once the last fragment arrived
    uint32_t received = 0;  // payload bytes held
    std::vector<Fragment> frags;  // sorted by offset, non-overlapping
  };

  void release(Slot& s);
  rte_mbuf* assemble(Slot& s);

  uint64_t timeout_;
  Slot slots_[kSlots];
  Stats stats_;
  unsigned held_ = 0;
};

}  // namespace oryx::stack
