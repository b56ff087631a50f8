// SPDX-License-Identifier: Apache-2.0
// fuzz_packet_input: any bytes as a burst of received frames, on real
// mbufs, through the stack's validation and IPv4 reassembly in the order
// the stack stage runs them. Input: one byte of receive-offload flags,
// then frames as [2-byte length][bytes]. The contract: every frame is
// accepted, counted under a reason, or held for reassembly; no mbuf is
// lost or freed twice (the pool is full again after every input).
#include "fuzz_eal.hpp"
#include "ipv4_reassembly.hpp"
#include "packet_validation.hpp"

#include <rte_mbuf.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>

using namespace oryx::stack;

namespace {

constexpr unsigned kPoolSize = 1023;
rte_mempool* g_pool;

// What a port's offload flags may say about the checksums.
uint64_t offload_flags(uint8_t b) {
  static const uint64_t l4[] = {0, RTE_MBUF_F_RX_L4_CKSUM_GOOD, RTE_MBUF_F_RX_L4_CKSUM_BAD,
                                RTE_MBUF_F_RX_L4_CKSUM_UNKNOWN};
  static const uint64_t ip[] = {0, RTE_MBUF_F_RX_IP_CKSUM_GOOD, RTE_MBUF_F_RX_IP_CKSUM_BAD,
                                RTE_MBUF_F_RX_IP_CKSUM_UNKNOWN};
  return l4[b & 3] | ip[(b >> 2) & 3];
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  oryx::fuzz::start_eal();
  g_pool = rte_pktmbuf_pool_create("fuzz", kPoolSize, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
                                   SOCKET_ID_ANY);
  if (!g_pool) std::abort();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  uint64_t flags = offload_flags(data[0]);
  size_t at = 1;
  uint64_t now = 1;
  {
    Ipv4Reassembly reassembly(1000);  // a datagram expires 1,000 "cycles" after its first fragment
    while (at + 2 <= size) {
      size_t len = size_t(data[at]) << 8 | data[at + 1];
      at += 2;
      len = std::min(len, size - at);
      len = std::min<size_t>(len, RTE_MBUF_DEFAULT_DATAROOM);
      rte_mbuf* m = rte_pktmbuf_alloc(g_pool);
      if (!m) std::abort();  // more than the pool in flight: a leak
      std::memcpy(rte_pktmbuf_append(m, uint16_t(len)), data + at, len);
      at += len;
      m->ol_flags |= flags;
      now += 10;
      if (validate_frame(m) != FrameVerdict::kFine) {
        rte_pktmbuf_free(m);
        continue;
      }
      if (is_ipv4_fragment(m)) m = reassembly.add(m, now);
      if (m) rte_pktmbuf_free(m);  // lwIP's turn; a datagram comes as a chain
      reassembly.expire(now);
    }
    reassembly.expire(now + 1000000);
    if (reassembly.mbufs_held() != 0) std::abort();
  }
  if (rte_mempool_avail_count(g_pool) != kPoolSize) std::abort();
  return 0;
}
