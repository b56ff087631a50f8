// SPDX-License-Identifier: Apache-2.0
// rss.hpp - the receive-side scaling Oryx assumes of a multi-queue port,
// and computes itself where a port has none (the io port's
// soft_rss_queues): the Toeplitz hash of a flow's addresses and ports
// (DPDK's rte_softrss, as a NIC computes it) with the 40-byte key most NICs
// ship as their default, then a 128-entry redirection table whose entry i
// is queue i % queues. A per-worker stack owns a flow by the same function
// (its owner is the queue the flow arrives on), so a port that spreads
// flows this way needs no software steering between the stack's instances.
// Header-only; needs DPDK's headers (rte_thash.h).
#pragma once

#include <rte_byteorder.h>
#include <rte_thash.h>

#include <cstdint>
#include <cstring>

namespace oryx::rss {

// The key of Intel's and Mellanox's NICs by default (RSS "Microsoft" key).
inline constexpr uint8_t kKey[40] = {
    0x6d, 0x5a, 0x56, 0xda, 0x25, 0x5b, 0x0e, 0xc2, 0x41, 0x67, 0x25, 0x3d, 0x43, 0xa3,
    0x8f, 0xb0, 0xd0, 0xca, 0x2b, 0xcb, 0xae, 0x7b, 0x30, 0xb4, 0x77, 0xcb, 0x2d, 0xa3,
    0x80, 0x30, 0xf2, 0x0c, 0x6a, 0x42, 0xb7, 0x3b, 0xbe, 0xac, 0x01, 0xfa};
inline constexpr unsigned kRetaSize = 128;

// The hash of a received segment's flow: `src` and `dst` as in the frame
// (4 or 16 bytes, network order), ports in host order.
inline uint32_t flow_hash(const uint8_t* src, const uint8_t* dst, unsigned address_len,
                          uint16_t src_port, uint16_t dst_port) {
  rte_thash_tuple tuple{};
  uint32_t words;
  if (address_len == 4) {
    uint32_t s, d;
    std::memcpy(&s, src, 4);
    std::memcpy(&d, dst, 4);
    tuple.v4.src_addr = rte_be_to_cpu_32(s);
    tuple.v4.dst_addr = rte_be_to_cpu_32(d);
    tuple.v4.sport = src_port;
    tuple.v4.dport = dst_port;
    words = RTE_THASH_V4_L4_LEN;
  } else {
    // rte_thash_load_v6_addrs's layout: each address as host-order words.
    for (unsigned i = 0; i < 4; i++) {
      uint32_t s, d;
      std::memcpy(&s, src + 4 * i, 4);
      std::memcpy(&d, dst + 4 * i, 4);
      reinterpret_cast<uint32_t*>(tuple.v6.src_addr)[i] = rte_be_to_cpu_32(s);
      reinterpret_cast<uint32_t*>(tuple.v6.dst_addr)[i] = rte_be_to_cpu_32(d);
    }
    tuple.v6.sport = src_port;
    tuple.v6.dport = dst_port;
    words = RTE_THASH_V6_L4_LEN;
  }
  return rte_softrss(reinterpret_cast<uint32_t*>(&tuple), words, kKey);
}

// The queue (or owner) of a hash among `queues`.
inline unsigned queue_of(uint32_t hash, unsigned queues) {
  return queues <= 1 ? 0 : (hash % kRetaSize) % queues;
}

}  // namespace oryx::rss
