// SPDX-License-Identifier: Apache-2.0
// fuzz_packet_input: any bytes as a burst of received frames, on real
// mbufs, through what the stack stage runs on each: frame validation, IPv4
// reassembly, then lwIP's input (an interface at 198.18.0.2/24 and
// 2001:db8::2 with the echo, discard and HTTP services on), in the order the
// stage runs them. Input: one byte of receive-offload flags, then frames as
// [2-byte length][bytes]. The contract: every frame is accepted, counted
// under a reason, or held; no mbuf is lost or freed twice: after each input
// every mbuf is back in the pool or counted as held by lwIP (mbufs_held),
// and reassembly holds nothing once its timeout passed.
#include "flow_steering.hpp"
#include "fuzz_eal.hpp"
#include "glue.hpp"
#include "ipv4_reassembly.hpp"
#include "mbuf_ops.hpp"
#include "packet_validation.hpp"

#include <rte_mbuf.h>
#include <rte_ring.h>

#include <array>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

using namespace oryx::stack;

namespace oryx::fuzz {
void lwip_lock();  // lwip_lock.cpp
void lwip_unlock();
}  // namespace oryx::fuzz

namespace {

constexpr unsigned kPoolSize = 4095;
rte_mempool* g_pool;
rte_ring* g_tx;
Interface* g_interface;
std::array<uint64_t, kCounterCount> g_counters{};

// What a port's offload flags may say about the checksums.
uint64_t offload_flags(uint8_t b) {
  static const uint64_t l4[] = {0, RTE_MBUF_F_RX_L4_CKSUM_GOOD, RTE_MBUF_F_RX_L4_CKSUM_BAD,
                                RTE_MBUF_F_RX_L4_CKSUM_UNKNOWN};
  static const uint64_t ip[] = {0, RTE_MBUF_F_RX_IP_CKSUM_GOOD, RTE_MBUF_F_RX_IP_CKSUM_BAD,
                                RTE_MBUF_F_RX_IP_CKSUM_UNKNOWN};
  return l4[b & 3] | ip[(b >> 2) & 3];
}

// What lwIP sent in answer: freed, as a port would after transmitting.
void drain_tx() {
  void* m;
  while (rte_ring_dequeue(g_tx, &m) == 0) rte_pktmbuf_free(static_cast<rte_mbuf*>(m));
}

// Drains what lwIP sent, then counts the mbufs free or held by lwIP, plus
// `elsewhere` (held by reassembly): the pool's size when none leaked.
// Under lwIP's core lock: its timer thread may be sending meanwhile.
uint64_t accounted_mbufs(uint64_t elsewhere) {
  oryx::fuzz::lwip_lock();
  drain_tx();
  uint64_t n = rte_mempool_avail_count(g_pool) + g_counters[kMbufsHeld] + elsewhere;
  oryx::fuzz::lwip_unlock();
  return n;
}

// As the stack stage hands a packet to lwIP: one frame per segment.
void to_lwip(rte_mbuf* m) {
  std::vector<Interface::Frame> frames(m->nb_segs);
  g_interface->input(frames.data(), frames_of(m, frames.data()));
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  oryx::fuzz::start_eal();
  g_pool = rte_pktmbuf_pool_create("fuzz", kPoolSize, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
                                   SOCKET_ID_ANY);
  g_tx = rte_ring_create("fuzz_tx", 8192, SOCKET_ID_ANY, 0);
  if (!g_pool || !g_tx || RTE_PKTMBUF_HEADROOM < Interface::headroom_needed()) std::abort();
  InterfaceConfig cfg{};
  cfg.name = "fuzz";
  const uint8_t mac[6] = {0x02, 0, 0, 0, 0, 0x02};
  std::memcpy(cfg.mac, mac, sizeof(mac));
  cfg.mtu = 1500;
  cfg.ipv4 = "198.18.0.2";
  cfg.ipv4_mask = "255.255.255.0";
  cfg.ipv6 = "2001:db8::2";
  cfg.gratuitous_arp = false;
  Services services;
  services.tcp_echo_port = services.udp_echo_port = 7;
  services.tcp_discard_port = services.udp_discard_port = 9;
  services.http_port = 80;
  services.http_body_bytes = 128;
  g_interface = new Interface(cfg, services, dpdk_mbuf_ops(nullptr), g_pool, g_tx,
                              g_counters.data());
  g_interface->up();
  drain_tx();
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
      if (!m) std::abort();  // the pool ran dry: mbufs leak
      std::memcpy(rte_pktmbuf_append(m, uint16_t(len)), data + at, len);
      at += len;
      m->ol_flags |= flags;
      now += 10;
      if (!accepted(validate_frame(m))) {
        rte_pktmbuf_free(m);
        continue;
      }
      if (is_ipv4_fragment(m)) m = reassembly.add(m, now);
      // A per-worker stack's steering reads the headers of what was
      // validated (and reassembled): an owner in range, or a marker.
      if (m) {
        int owner = steer_frame(m, 3);
        if (owner < kSteerEveryone || owner >= 3) std::abort();
      }
      if (m) to_lwip(m);
      reassembly.expire(now);
      // After every frame: each mbuf is free, held by lwIP, or held by
      // reassembly. On a miss, say which frame broke it.
      uint64_t accounted = accounted_mbufs(reassembly.mbufs_held());
      if (accounted != kPoolSize) {
        std::fprintf(stderr, "fuzz_packet_input: %ld mbufs unaccounted for after the frame at "
                     "byte %zu (%zu bytes); lwIP holds %lu\n",
                     long(kPoolSize) - long(accounted), at - len, len,
                     (unsigned long)g_counters[kMbufsHeld]);
        std::abort();
      }
    }
    reassembly.expire(now + 1000000);
    if (reassembly.mbufs_held() != 0) std::abort();
  }
  if (accounted_mbufs(0) != kPoolSize) std::abort();
  // To see what a seed reaches: ORYX_FUZZ_COUNTERS=1 fuzz_packet_input SEED
  if (std::getenv("ORYX_FUZZ_COUNTERS"))
    std::fprintf(stderr, "rx %lu, echo requests %lu, replies %lu, tcp %lu, udp %lu, tx %lu, arp in %lu\n",
                 (unsigned long)g_counters[kRxFrames], (unsigned long)g_counters[kIcmpEchoRequests],
                 (unsigned long)g_counters[kIcmpEchoReplies], (unsigned long)g_counters[kRxTcp],
                 (unsigned long)g_counters[kRxUdp], (unsigned long)g_counters[kTxFrames],
                 (unsigned long)g_counters[kRxArp]);
  return 0;
}
