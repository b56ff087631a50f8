// SPDX-License-Identifier: Apache-2.0
// mbuf_ops.cpp - see mbuf_ops.hpp.
#include "mbuf_ops.hpp"

#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_mbuf.h>
#include <rte_ring.h>
#include <rte_tcp.h>

#include <netinet/in.h>

#include <algorithm>

namespace oryx::stack {

namespace {

void (*g_after_tx)() = nullptr;  // one per process, as lwIP is one instance

void* mbuf_alloc(void* pool, uint32_t len, TxSpan* spans, unsigned* count) {
  auto* mp = static_cast<rte_mempool*>(pool);
  rte_mbuf* head = nullptr;
  unsigned n = 0;
  for (uint32_t left = len; left || !head;) {
    rte_mbuf* m = n < kMaxTxSpans ? rte_pktmbuf_alloc(mp) : nullptr;
    if (!m) {
      rte_pktmbuf_free(head);
      return nullptr;
    }
    uint16_t take = uint16_t(std::min<uint32_t>(left, rte_pktmbuf_tailroom(m)));
    spans[n++] = {reinterpret_cast<uint8_t*>(rte_pktmbuf_append(m, take)), take};
    left -= take;
    if (!head) {
      head = m;
    } else if (rte_pktmbuf_chain(head, m) != 0) {
      rte_pktmbuf_free(m);
      rte_pktmbuf_free(head);
      return nullptr;
    }
  }
  *count = n;
  return head;
}

void mbuf_free(void* m) { rte_pktmbuf_free(static_cast<rte_mbuf*>(m)); }

void mbuf_free_segment(void* m) { rte_pktmbuf_free_seg(static_cast<rte_mbuf*>(m)); }

bool mbuf_queue_tx(void* ring, void* m) {
  if (rte_ring_mp_enqueue(static_cast<rte_ring*>(ring), m) != 0) return false;
  if (g_after_tx) g_after_tx();
  return true;
}

unsigned mbuf_tx_fill_percent(void* ring) {
  auto* r = static_cast<rte_ring*>(ring);
  return rte_ring_count(r) * 100 / rte_ring_get_capacity(r);
}

// lwIP left the IPv4 header checksum and the TCP checksum at 0 (the netif's
// checksum control, tx_checksum_offload): the port computes them from the
// offload flags and header lengths, the TCP one from the pseudo header's
// sum that DPDK wants in its place. UDP keeps lwIP's own checksum, since a
// datagram larger than the MTU is fragmented and no port sums across
// fragments; ICMP too.
bool mbuf_offload_checksums(void* mbuf) {
  auto* m = static_cast<rte_mbuf*>(mbuf);
  auto* eth = rte_pktmbuf_mtod(m, rte_ether_hdr*);
  const uint16_t type = rte_be_to_cpu_16(eth->ether_type);
  m->l2_len = sizeof(rte_ether_hdr);
  if (type == RTE_ETHER_TYPE_IPV4) {
    auto* ip = reinterpret_cast<rte_ipv4_hdr*>(eth + 1);
    m->l3_len = rte_ipv4_hdr_len(ip);
    m->ol_flags |= RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_IP_CKSUM;
    const bool fragment =
        rte_be_to_cpu_16(ip->fragment_offset) & (RTE_IPV4_HDR_MF_FLAG | RTE_IPV4_HDR_OFFSET_MASK);
    if (ip->next_proto_id == IPPROTO_TCP && !fragment) {
      m->ol_flags |= RTE_MBUF_F_TX_TCP_CKSUM;
      auto* tcp = reinterpret_cast<rte_tcp_hdr*>(reinterpret_cast<uint8_t*>(ip) + m->l3_len);
      tcp->cksum = rte_ipv4_phdr_cksum(ip, m->ol_flags);
    }
    return true;
  }
  if (type == RTE_ETHER_TYPE_IPV6) {
    auto* ip6 = reinterpret_cast<rte_ipv6_hdr*>(eth + 1);
    if (ip6->proto != IPPROTO_TCP) return false;  // lwIP sends no extension header before TCP
    m->l3_len = sizeof(rte_ipv6_hdr);
    m->ol_flags |= RTE_MBUF_F_TX_IPV6 | RTE_MBUF_F_TX_TCP_CKSUM;
    reinterpret_cast<rte_tcp_hdr*>(ip6 + 1)->cksum = rte_ipv6_phdr_cksum(ip6, m->ol_flags);
    return true;
  }
  return false;
}

}  // namespace

uint16_t frames_of(rte_mbuf* m, Interface::Frame* out) {
  uint16_t n = 0;
  for (rte_mbuf* s = m; s; s = s->next)
    out[n++] = {s, rte_pktmbuf_mtod(s, uint8_t*), s->data_len, static_cast<uint8_t*>(s->buf_addr),
                uint16_t(s == m ? m->nb_segs : 0), m->pkt_len};
  return n;
}

MbufOps dpdk_mbuf_ops(void (*after_tx)()) {
  g_after_tx = after_tx;
  return {mbuf_alloc,    mbuf_free,
          mbuf_free_segment, mbuf_queue_tx,
          mbuf_offload_checksums, mbuf_tx_fill_percent};
}

}  // namespace oryx::stack
