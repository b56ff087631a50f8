// SPDX-License-Identifier: Apache-2.0
// ipv4_reassembly.cpp - see ipv4_reassembly.hpp for why this exists.
#include "ipv4_reassembly.hpp"

#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_mbuf.h>

#include <algorithm>

namespace oryx::stack {

namespace {
constexpr uint32_t kMaxPayload = 65535 - 20;
}

Ipv4Reassembly::~Ipv4Reassembly() {
  for (auto& s : slots_)
    if (s.used) release(s);
}

void Ipv4Reassembly::release(Slot& s) {
  for (auto& f : s.frags) rte_pktmbuf_free(f.mbuf);
  held_ -= unsigned(s.frags.size());
  stats_.fragments_dropped += s.frags.size();
  s.frags.clear();
  s.used = false;
}

void Ipv4Reassembly::expire(uint64_t now) {
  for (auto& s : slots_)
    if (s.used && now - s.first_seen > timeout_) {
      stats_.timeout++;
      release(s);
    }
}

rte_mbuf* Ipv4Reassembly::add(rte_mbuf* m, uint64_t now) {
  auto* ip = rte_pktmbuf_mtod_offset(m, rte_ipv4_hdr*, sizeof(rte_ether_hdr));
  uint32_t ihl = rte_ipv4_hdr_len(ip);
  uint16_t frag_field = rte_be_to_cpu_16(ip->fragment_offset);
  uint32_t offset = uint32_t(frag_field & RTE_IPV4_HDR_OFFSET_MASK) * RTE_IPV4_HDR_OFFSET_UNITS;
  bool more = frag_field & RTE_IPV4_HDR_MF_FLAG;
  uint32_t length = rte_be_to_cpu_16(ip->total_length) - ihl;
  if (offset + length > kMaxPayload || (more && length % 8)) {
    stats_.too_big++;
    stats_.fragments_dropped++;
    rte_pktmbuf_free(m);
    return nullptr;
  }

  Slot* slot = nullptr;
  Slot* free_slot = nullptr;
  for (auto& s : slots_) {
    if (s.used && s.id == ip->packet_id && s.src == ip->src_addr && s.dst == ip->dst_addr &&
        s.proto == ip->next_proto_id) {
      slot = &s;
      break;
    }
    if (!s.used && !free_slot) free_slot = &s;
  }
  if (!slot) {
    if (!free_slot) {
      stats_.table_full++;
      stats_.fragments_dropped++;
      rte_pktmbuf_free(m);
      return nullptr;
    }
    slot = free_slot;
    slot->used = true;
    slot->src = ip->src_addr;
    slot->dst = ip->dst_addr;
    slot->id = ip->packet_id;
    slot->proto = ip->next_proto_id;
    slot->first_seen = now;
    slot->total = 0;
    slot->received = 0;
  }

  // Insert in offset order; any overlap (or a second last fragment
  // disagreeing on the length) drops the whole datagram.
  auto pos = std::lower_bound(slot->frags.begin(), slot->frags.end(), offset,
                              [](const Fragment& f, uint32_t off) { return f.offset < off; });
  bool overlap = (pos != slot->frags.end() && pos->offset < offset + length) ||
                 (pos != slot->frags.begin() && std::prev(pos)->offset + std::prev(pos)->length > offset) ||
                 (!more && slot->total && slot->total != offset + length) ||
                 (slot->total && offset + length > slot->total);
  if (overlap) {
    stats_.overlap++;
    stats_.fragments_dropped++;
    rte_pktmbuf_free(m);
    release(*slot);
    return nullptr;
  }
  slot->frags.insert(pos, {offset, length, m});
  held_++;
  slot->received += length;
  if (!more) slot->total = offset + length;
  if (!slot->total || slot->received != slot->total) return nullptr;
  stats_.reassembled++;
  return assemble(*slot);
}

rte_mbuf* Ipv4Reassembly::assemble(Slot& s) {
  rte_mbuf* head = s.frags.front().mbuf;
  auto* ip = rte_pktmbuf_mtod_offset(head, rte_ipv4_hdr*, sizeof(rte_ether_hdr));
  uint32_t ihl = rte_ipv4_hdr_len(ip);
  // First fragment: Ethernet + IP header + its payload (no padding). A
  // fragment may itself be chained (a jumbo frame); only a short frame,
  // which is one segment, carries padding to trim.
  rte_pktmbuf_trim(head, uint16_t(head->pkt_len - (sizeof(rte_ether_hdr) + ihl + s.frags[0].length)));
  rte_mbuf* tail = rte_pktmbuf_lastseg(head);
  for (size_t i = 1; i < s.frags.size(); i++) {
    rte_mbuf* m = s.frags[i].mbuf;
    auto* fip = rte_pktmbuf_mtod_offset(m, rte_ipv4_hdr*, sizeof(rte_ether_hdr));
    uint16_t headers = uint16_t(sizeof(rte_ether_hdr) + rte_ipv4_hdr_len(fip));
    rte_pktmbuf_adj(m, headers);
    rte_pktmbuf_trim(m, uint16_t(m->pkt_len - s.frags[i].length));
    tail->next = m;
    tail = rte_pktmbuf_lastseg(m);
    head->nb_segs = uint16_t(head->nb_segs + m->nb_segs);
    head->pkt_len += m->pkt_len;
  }
  ip->total_length = rte_cpu_to_be_16(uint16_t(ihl + s.total));
  ip->fragment_offset = 0;
  ip->hdr_checksum = 0;
  ip->hdr_checksum = rte_ipv4_cksum(ip);
  held_ -= unsigned(s.frags.size());
  s.frags.clear();
  s.used = false;
  return head;
}

}  // namespace oryx::stack
