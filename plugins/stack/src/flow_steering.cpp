// SPDX-License-Identifier: Apache-2.0
// flow_steering.cpp - flow_hash.hpp and flow_steering.hpp.
#include "flow_hash.hpp"
#include "flow_steering.hpp"

#include <oryx/rss.hpp>

#include <rte_arp.h>
#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_mbuf.h>

#include <netinet/in.h>

#include <algorithm>
#include <cstring>

namespace oryx::stack {

unsigned flow_owner(const uint8_t* src, const uint8_t* dst, unsigned address_len,
                    uint16_t src_port, uint16_t dst_port, unsigned owners) {
  if (owners <= 1) return 0;
  // As a port with receive-side scaling spreads flows over its queues
  // (oryx/rss.hpp): with queue q polled by worker q, every frame then
  // arrives at its owner and nothing needs steering.
  return oryx::rss::queue_of(oryx::rss::flow_hash(src, dst, address_len, src_port, dst_port), owners);
}

namespace {

constexpr uint8_t kIcmp6RouterAdvertisement = 134;
constexpr uint8_t kIcmp6NeighbourAdvertisement = 136;

// TCP's and UDP's ports sit in the first four bytes of their header.
int owner_by_ports(const uint8_t* l4, const uint8_t* end, const uint8_t* src, const uint8_t* dst,
                   unsigned address_len, unsigned owners) {
  if (l4 + 4 > end) return kSteerHere;
  uint16_t sport = uint16_t(l4[0] << 8 | l4[1]), dport = uint16_t(l4[2] << 8 | l4[3]);
  return int(flow_owner(src, dst, address_len, sport, dport, owners));
}

}  // namespace

int steer_frame(const rte_mbuf* m, unsigned owners) {
  const uint8_t* f = rte_pktmbuf_mtod(m, const uint8_t*);
  const uint8_t* end = f + m->data_len;  // validate_frame: headers are in the first segment
  if (f + sizeof(rte_ether_hdr) > end) return kSteerHere;
  uint16_t type = rte_be_to_cpu_16(reinterpret_cast<const rte_ether_hdr*>(f)->ether_type);
  const uint8_t* l3 = f + sizeof(rte_ether_hdr);
  if (type == RTE_ETHER_TYPE_ARP) {
    if (l3 + sizeof(rte_arp_hdr) > end) return kSteerHere;
    auto* arp = reinterpret_cast<const rte_arp_hdr*>(l3);
    return arp->arp_opcode == rte_cpu_to_be_16(RTE_ARP_OP_REPLY) ? kSteerEveryone : kSteerHere;
  }
  if (type == RTE_ETHER_TYPE_IPV4) {
    if (l3 + sizeof(rte_ipv4_hdr) > end) return kSteerHere;
    auto* ip = reinterpret_cast<const rte_ipv4_hdr*>(l3);
    if (ip->next_proto_id != IPPROTO_TCP && ip->next_proto_id != IPPROTO_UDP) return kSteerHere;
    // A fragment (the stage reassembles before it steers) has no ports.
    if (ip->fragment_offset & rte_cpu_to_be_16(RTE_IPV4_HDR_MF_FLAG | RTE_IPV4_HDR_OFFSET_MASK))
      return kSteerHere;
    return owner_by_ports(l3 + rte_ipv4_hdr_len(ip), end,
                          reinterpret_cast<const uint8_t*>(&ip->src_addr),
                          reinterpret_cast<const uint8_t*>(&ip->dst_addr), 4, owners);
  }
  if (type == RTE_ETHER_TYPE_IPV6) {
    if (l3 + sizeof(rte_ipv6_hdr) > end) return kSteerHere;
    auto* ip = reinterpret_cast<const rte_ipv6_hdr*>(l3);
    const uint8_t* l4 = l3 + sizeof(rte_ipv6_hdr);
    if (ip->proto == IPPROTO_ICMPV6) {
      if (l4 + 1 > end) return kSteerHere;
      return l4[0] == kIcmp6NeighbourAdvertisement || l4[0] == kIcmp6RouterAdvertisement
                 ? kSteerEveryone
                 : kSteerHere;
    }
    if (ip->proto != IPPROTO_TCP && ip->proto != IPPROTO_UDP) return kSteerHere;
    return owner_by_ports(l4, end, ip->src_addr, ip->dst_addr, 16, owners);
  }
  return kSteerHere;
}

}  // namespace oryx::stack
