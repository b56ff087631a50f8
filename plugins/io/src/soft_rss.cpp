// SPDX-License-Identifier: Apache-2.0
// soft_rss.cpp - see soft_rss.hpp.
#include "soft_rss.hpp"

#include <oryx/rss.hpp>
#include <oryx/sdk.hpp>

#include <rte_ethdev.h>
#include <rte_ether.h>
#include <rte_ip.h>

#include <netinet/in.h>

#include <cstring>

namespace oryx::io {
using oryx::sdk::Error;

namespace {
constexpr uint16_t kBurst = 32;
}

SoftRss::SoftRss(const std::string& stage, unsigned queues, unsigned ring_size, int socket) {
  for (unsigned q = 0; q < queues; q++) {
    // Ring names are the process's: "<stage>.srss<q>" (at most 31 bytes).
    std::string name = (stage.substr(0, 20) + ".srss" + std::to_string(q));
    rte_ring* r = rte_ring_create(name.c_str(), ring_size, socket, RING_F_SP_ENQ | RING_F_SC_DEQ);
    if (!r) {
      for (rte_ring* made : rings_) rte_ring_free(made);
      throw Error("soft_rss_queues: cannot create software queue " + name + ": " +
                      rte_strerror(rte_errno),
                  ORYX_ERR_NOMEM);
    }
    rings_.push_back(r);
  }
  std::string tx = stage.substr(0, 20) + ".stx";
  tx_ = rte_ring_create(tx.c_str(), ring_size, socket, RING_F_SC_DEQ);
  if (!tx_) {
    for (rte_ring* made : rings_) rte_ring_free(made);
    throw Error("soft_rss_queues: cannot create software queue " + tx + ": " + rte_strerror(rte_errno),
                ORYX_ERR_NOMEM);
  }
}

SoftRss::~SoftRss() {
  rings_.push_back(tx_);
  for (rte_ring* r : rings_) {
    rte_mbuf* m;
    while (rte_ring_dequeue(r, reinterpret_cast<void**>(&m)) == 0) rte_pktmbuf_free(m);
    rte_ring_free(r);
  }
}

unsigned SoftRss::classify(rte_mbuf* m, unsigned queues) {
  const uint8_t* f = rte_pktmbuf_mtod(m, const uint8_t*);
  const uint8_t* end = f + m->data_len;
  if (f + sizeof(rte_ether_hdr) > end) return 0;
  uint16_t type = rte_be_to_cpu_16(reinterpret_cast<const rte_ether_hdr*>(f)->ether_type);
  const uint8_t* l3 = f + sizeof(rte_ether_hdr);
  const uint8_t *src, *dst, *l4 = nullptr;
  unsigned len;
  uint8_t proto;
  if (type == RTE_ETHER_TYPE_IPV4 && l3 + sizeof(rte_ipv4_hdr) <= end) {
    auto* ip = reinterpret_cast<const rte_ipv4_hdr*>(l3);
    src = l3 + 12;
    dst = l3 + 16;
    len = 4;
    proto = ip->next_proto_id;
    // A fragment has no ports (but the first): hashed by addresses.
    if ((rte_be_to_cpu_16(ip->fragment_offset) & (RTE_IPV4_HDR_MF_FLAG | RTE_IPV4_HDR_OFFSET_MASK)) == 0)
      l4 = l3 + rte_ipv4_hdr_len(ip);
  } else if (type == RTE_ETHER_TYPE_IPV6 && l3 + sizeof(rte_ipv6_hdr) <= end) {
    auto* ip = reinterpret_cast<const rte_ipv6_hdr*>(l3);
    src = l3 + 8;
    dst = l3 + 24;
    len = 16;
    proto = ip->proto;
    l4 = l3 + sizeof(rte_ipv6_hdr);
  } else {
    return 0;
  }
  uint16_t sport = 0, dport = 0;
  bool ports = l4 && (proto == IPPROTO_TCP || proto == IPPROTO_UDP) && l4 + 4 <= end;
  if (ports) {
    sport = uint16_t(l4[0] << 8 | l4[1]);
    dport = uint16_t(l4[2] << 8 | l4[3]);
  }
  // Without ports (ICMP, fragments): the addresses alone, as NICs hash them.
  uint32_t h;
  if (ports) {
    h = oryx::rss::flow_hash(src, dst, len, sport, dport);
  } else {
    rte_thash_tuple t{};
    for (unsigned i = 0; i < len / 4; i++) {
      uint32_t s, d;
      std::memcpy(&s, src + 4 * i, 4);
      std::memcpy(&d, dst + 4 * i, 4);
      if (len == 4) {
        t.v4.src_addr = rte_be_to_cpu_32(s);
        t.v4.dst_addr = rte_be_to_cpu_32(d);
      } else {
        reinterpret_cast<uint32_t*>(t.v6.src_addr)[i] = rte_be_to_cpu_32(s);
        reinterpret_cast<uint32_t*>(t.v6.dst_addr)[i] = rte_be_to_cpu_32(d);
      }
    }
    h = rte_softrss(reinterpret_cast<uint32_t*>(&t), len == 4 ? RTE_THASH_V4_L3_LEN : RTE_THASH_V6_L3_LEN,
                    oryx::rss::kKey);
  }
  m->hash.rss = h;
  m->ol_flags |= RTE_MBUF_F_RX_RSS_HASH;
  return oryx::rss::queue_of(h, queues);
}

void SoftRss::spread(uint16_t port_id, uint64_t* spread, uint64_t* ring_full) {
  rte_mbuf* pkts[kBurst];
  uint16_t n = rte_eth_rx_burst(port_id, 0, pkts, kBurst);
  for (uint16_t i = 0; i < n; i++) {
    unsigned q = classify(pkts[i], queues());
    if (rte_ring_enqueue(rings_[q], pkts[i]) == 0) {
      ++*spread;
    } else {
      rte_pktmbuf_free(pkts[i]);
      ++*ring_full;
    }
  }
}

uint16_t SoftRss::collect(uint32_t worker, uint32_t workers, rte_mbuf** pkts, uint16_t capacity) {
  uint16_t got = 0;
  for (unsigned q = worker; q < rings_.size() && got < capacity; q += workers)
    got += uint16_t(rte_ring_dequeue_burst(rings_[q], reinterpret_cast<void**>(pkts + got),
                                           capacity - got, nullptr));
  return got;
}

void SoftRss::drain_tx(uint16_t port_id, uint64_t* sent, uint64_t* bytes, uint64_t* full) {
  rte_mbuf* pkts[kBurst];
  unsigned n = rte_ring_dequeue_burst(tx_, reinterpret_cast<void**>(pkts), kBurst, nullptr);
  uint16_t took = rte_eth_tx_burst(port_id, 0, pkts, uint16_t(n));
  for (uint16_t i = 0; i < took; i++) *bytes += pkts[i]->pkt_len;
  *sent += took;
  for (unsigned i = took; i < n; i++) rte_pktmbuf_free(pkts[i]);
  *full += n - took;
}

uint16_t SoftRss::queue_tx(rte_mbuf** pkts, uint16_t n) {
  return uint16_t(rte_ring_enqueue_burst(tx_, reinterpret_cast<void**>(pkts), n, nullptr));
}

}  // namespace oryx::io
