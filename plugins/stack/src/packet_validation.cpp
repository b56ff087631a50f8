// SPDX-License-Identifier: Apache-2.0
// packet_validation.cpp - checks of received frames before lwIP.
#include "packet_validation.hpp"

#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_mbuf.h>
#include <rte_tcp.h>
#include <rte_udp.h>

#include <netinet/in.h>

namespace oryx::stack {

namespace {

// Whether a TCP/UDP checksum over a frame's transport data (at l4, `l4_off`
// bytes into the frame) is right; a chained frame's data spans segments.
bool ipv4_checksum_ok(const rte_mbuf* m, const rte_ipv4_hdr* ip, const void* l4, uint16_t l4_off) {
  return m->nb_segs == 1 ? rte_ipv4_udptcp_cksum_verify(ip, l4) == 0
                         : rte_ipv4_udptcp_cksum_mbuf_verify(m, ip, l4_off) == 0;
}

bool ipv6_checksum_ok(const rte_mbuf* m, const rte_ipv6_hdr* ip, const void* l4, uint16_t l4_off) {
  return m->nb_segs == 1 ? rte_ipv6_udptcp_cksum_verify(ip, l4) == 0
                         : rte_ipv6_udptcp_cksum_mbuf_verify(m, ip, l4_off) == 0;
}

}  // namespace

FrameVerdict validate_frame(const rte_mbuf* m) {
  const uint8_t* f = rte_pktmbuf_mtod(m, const uint8_t*);
  // Lengths are checked against the whole frame; the headers read here
  // must be in the first segment (`head` bytes), as lwIP reads them there.
  const uint32_t head = m->data_len;
  uint32_t len = m->pkt_len;
  if (len < sizeof(rte_ether_hdr)) return FrameVerdict::kFine;  // lwIP side counts truncation
  if (head < sizeof(rte_ether_hdr)) return FrameVerdict::kSplitHeaders;
  auto in_head = [&](const uint8_t* end) { return end <= f + head; };
  uint16_t type = rte_be_to_cpu_16(reinterpret_cast<const rte_ether_hdr*>(f)->ether_type);
  const uint8_t* l3 = f + sizeof(rte_ether_hdr);
  uint32_t l3len = len - uint32_t(sizeof(rte_ether_hdr));
  uint8_t proto;
  const uint8_t* l4;
  uint32_t l4len;
  bool good_by_port = (m->ol_flags & RTE_MBUF_F_RX_L4_CKSUM_MASK) == RTE_MBUF_F_RX_L4_CKSUM_GOOD;
  bool bad_by_port = (m->ol_flags & RTE_MBUF_F_RX_L4_CKSUM_MASK) == RTE_MBUF_F_RX_L4_CKSUM_BAD;
  if (type == RTE_ETHER_TYPE_IPV4) {
    if (l3len < sizeof(rte_ipv4_hdr)) return FrameVerdict::kBadIpv4;
    if (!in_head(l3 + sizeof(rte_ipv4_hdr))) return FrameVerdict::kSplitHeaders;
    auto* ip = reinterpret_cast<const rte_ipv4_hdr*>(l3);
    uint32_t ihl = rte_ipv4_hdr_len(ip);
    uint32_t total = rte_be_to_cpu_16(ip->total_length);
    if ((ip->version_ihl >> 4) != 4 || ihl < sizeof(rte_ipv4_hdr) || ihl > l3len ||
        total < ihl || total > l3len)
      return FrameVerdict::kBadIpv4;
    if (!in_head(l3 + ihl)) return FrameVerdict::kSplitHeaders;
    if ((m->ol_flags & RTE_MBUF_F_RX_IP_CKSUM_MASK) == RTE_MBUF_F_RX_IP_CKSUM_BAD ||
        ((m->ol_flags & RTE_MBUF_F_RX_IP_CKSUM_MASK) != RTE_MBUF_F_RX_IP_CKSUM_GOOD &&
         rte_raw_cksum(ip, ihl) != 0xffff))
      return FrameVerdict::kBadIpv4;
    if (rte_be_to_cpu_16(ip->fragment_offset) & (RTE_IPV4_HDR_MF_FLAG | RTE_IPV4_HDR_OFFSET_MASK))
      return FrameVerdict::kFine;
    proto = ip->next_proto_id;
    l4 = l3 + ihl;
    l4len = total - ihl;
    if (proto == IPPROTO_TCP) {
      if (l4len < sizeof(rte_tcp_hdr)) return FrameVerdict::kBadL4;
      if (!in_head(l4 + sizeof(rte_tcp_hdr))) return FrameVerdict::kSplitHeaders;
      uint32_t doff = uint32_t(reinterpret_cast<const rte_tcp_hdr*>(l4)->data_off >> 4) * 4;
      if (doff < sizeof(rte_tcp_hdr) || doff > l4len) return FrameVerdict::kBadL4;
      if (!in_head(l4 + doff)) return FrameVerdict::kSplitHeaders;
    } else if (proto == IPPROTO_UDP) {
      if (l4len < sizeof(rte_udp_hdr)) return FrameVerdict::kBadL4;
      if (!in_head(l4 + sizeof(rte_udp_hdr))) return FrameVerdict::kSplitHeaders;
      auto* udp = reinterpret_cast<const rte_udp_hdr*>(l4);
      uint32_t ulen = rte_be_to_cpu_16(udp->dgram_len);
      if (ulen < sizeof(rte_udp_hdr) || ulen > l4len) return FrameVerdict::kBadL4;
      if (udp->dgram_cksum == 0) return FrameVerdict::kFine;  // IPv4 UDP without checksum
    } else {
      return FrameVerdict::kFine;
    }
    if (bad_by_port) return FrameVerdict::kBadChecksum;
    if (!good_by_port && !ipv4_checksum_ok(m, ip, l4, uint16_t(l4 - f))) return FrameVerdict::kBadChecksum;
    return FrameVerdict::kVerified;
  }
  if (type == RTE_ETHER_TYPE_IPV6) {
    if (l3len < sizeof(rte_ipv6_hdr)) return FrameVerdict::kBadIpv6;
    if (!in_head(l3 + sizeof(rte_ipv6_hdr))) return FrameVerdict::kSplitHeaders;
    auto* ip6 = reinterpret_cast<const rte_ipv6_hdr*>(l3);
    uint32_t payload = rte_be_to_cpu_16(ip6->payload_len);
    if ((l3[0] >> 4) != 6 || payload > l3len - sizeof(rte_ipv6_hdr)) return FrameVerdict::kBadIpv6;
    proto = ip6->proto;
    l4 = l3 + sizeof(rte_ipv6_hdr);
    if (proto == IPPROTO_TCP) {
      if (payload < sizeof(rte_tcp_hdr)) return FrameVerdict::kBadL4;
      if (!in_head(l4 + sizeof(rte_tcp_hdr))) return FrameVerdict::kSplitHeaders;
      uint32_t doff = uint32_t(reinterpret_cast<const rte_tcp_hdr*>(l4)->data_off >> 4) * 4;
      if (doff < sizeof(rte_tcp_hdr) || doff > payload) return FrameVerdict::kBadL4;
      if (!in_head(l4 + doff)) return FrameVerdict::kSplitHeaders;
    } else if (proto == IPPROTO_UDP) {
      if (payload < sizeof(rte_udp_hdr)) return FrameVerdict::kBadL4;
      if (!in_head(l4 + sizeof(rte_udp_hdr))) return FrameVerdict::kSplitHeaders;
      uint32_t ulen = rte_be_to_cpu_16(reinterpret_cast<const rte_udp_hdr*>(l4)->dgram_len);
      if (ulen < sizeof(rte_udp_hdr) || ulen > payload) return FrameVerdict::kBadL4;
    } else {
      return FrameVerdict::kFine;  // extension headers and ICMPv6: lwIP checks them
    }
    if (bad_by_port) return FrameVerdict::kBadChecksum;
    if (!good_by_port && !ipv6_checksum_ok(m, ip6, l4, uint16_t(l4 - f))) return FrameVerdict::kBadChecksum;
    return FrameVerdict::kVerified;
  }
  return FrameVerdict::kFine;
}

bool segments_have_headroom(const rte_mbuf* m, size_t needed) {
  for (; m; m = m->next)
    if (m->data_off < needed) return false;
  return true;
}

bool is_ipv4_fragment(const rte_mbuf* m) {
  if (m->data_len < sizeof(rte_ether_hdr) + sizeof(rte_ipv4_hdr)) return false;
  auto* eth = rte_pktmbuf_mtod(m, const rte_ether_hdr*);
  if (eth->ether_type != rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4)) return false;
  auto* ip = reinterpret_cast<const rte_ipv4_hdr*>(eth + 1);
  return rte_be_to_cpu_16(ip->fragment_offset) & (RTE_IPV4_HDR_MF_FLAG | RTE_IPV4_HDR_OFFSET_MASK);
}

}  // namespace oryx::stack
