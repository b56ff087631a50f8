// SPDX-License-Identifier: Apache-2.0
// frame.cpp - test frames laid out with DPDK's header structs; lengths and
// checksums computed by DPDK's own helpers.
#include <oryx/testing.hpp>

#include <rte_arp.h>
#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_tcp.h>
#include <rte_udp.h>

#include <arpa/inet.h>

#include <cstring>

namespace oryx::testing {

namespace {

rte_ether_addr parse_mac(std::string_view text) {
  rte_ether_addr a;
  std::string s(text);
  if (rte_ether_unformat_addr(s.c_str(), &a) != 0)
    throw std::invalid_argument("not a MAC address: " + s);
  return a;
}

rte_be32_t parse_ipv4(std::string_view text) {
  in_addr a;
  std::string s(text);
  if (inet_pton(AF_INET, s.c_str(), &a) != 1) throw std::invalid_argument("not an IPv4 address: " + s);
  return a.s_addr;
}

template <typename T>
T* at(std::vector<uint8_t>& raw, size_t offset) {
  return reinterpret_cast<T*>(raw.data() + offset);
}

}  // namespace

Frame& Frame::ether(std::string_view dst, std::string_view src, uint16_t type) {
  size_t off = raw_.size();
  raw_.resize(off + sizeof(rte_ether_hdr));
  auto* h = at<rte_ether_hdr>(raw_, off);
  h->dst_addr = parse_mac(dst);
  h->src_addr = parse_mac(src);
  h->ether_type = rte_cpu_to_be_16(type);
  layers_.push_back({Layer::kEther, off});
  return *this;
}

Frame& Frame::vlan(uint16_t vid, uint8_t priority) {
  if (layers_.empty() || layers_.back().kind != Layer::kEther)
    throw std::logic_error("vlan() follows ether()");
  auto* eth = at<rte_ether_hdr>(raw_, layers_.back().offset);
  uint16_t inner = eth->ether_type;
  eth->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_VLAN);
  size_t off = raw_.size();
  raw_.resize(off + sizeof(rte_vlan_hdr));
  auto* v = at<rte_vlan_hdr>(raw_, off);
  v->vlan_tci = rte_cpu_to_be_16(uint16_t(priority << 13) | (vid & 0x0FFF));
  v->eth_proto = inner;
  layers_.push_back({Layer::kVlan, off});
  return *this;
}

Frame& Frame::ipv4(std::string_view src, std::string_view dst, uint8_t protocol, uint8_t ttl) {
  size_t off = raw_.size();
  raw_.resize(off + sizeof(rte_ipv4_hdr));
  auto* h = at<rte_ipv4_hdr>(raw_, off);
  h->version_ihl = RTE_IPV4_VHL_DEF;
  h->time_to_live = ttl;
  h->next_proto_id = protocol;
  h->packet_id = rte_cpu_to_be_16(1);
  h->src_addr = parse_ipv4(src);
  h->dst_addr = parse_ipv4(dst);
  layers_.push_back({Layer::kIpv4, off});
  return *this;
}

Frame& Frame::fragment(uint16_t offset_bytes, bool more_fragments, uint16_t id) {
  if (layers_.empty() || layers_.back().kind != Layer::kIpv4)
    throw std::logic_error("fragment() follows ipv4()");
  if (offset_bytes % 8) throw std::invalid_argument("fragment offsets are multiples of 8");
  auto* h = at<rte_ipv4_hdr>(raw_, layers_.back().offset);
  h->fragment_offset = rte_cpu_to_be_16(uint16_t(offset_bytes / 8) |
                                        (more_fragments ? RTE_IPV4_HDR_MF_FLAG : 0));
  h->packet_id = rte_cpu_to_be_16(id);
  return *this;
}

Frame& Frame::udp(uint16_t src_port, uint16_t dst_port) {
  size_t off = raw_.size();
  raw_.resize(off + sizeof(rte_udp_hdr));
  auto* h = at<rte_udp_hdr>(raw_, off);
  h->src_port = rte_cpu_to_be_16(src_port);
  h->dst_port = rte_cpu_to_be_16(dst_port);
  layers_.push_back({Layer::kUdp, off});
  return *this;
}

Frame& Frame::tcp(uint16_t src_port, uint16_t dst_port, uint8_t flags, uint32_t seq, uint32_t ack,
                  uint16_t window) {
  size_t off = raw_.size();
  raw_.resize(off + sizeof(rte_tcp_hdr));
  auto* h = at<rte_tcp_hdr>(raw_, off);
  h->src_port = rte_cpu_to_be_16(src_port);
  h->dst_port = rte_cpu_to_be_16(dst_port);
  h->sent_seq = rte_cpu_to_be_32(seq);
  h->recv_ack = rte_cpu_to_be_32(ack);
  h->data_off = uint8_t((sizeof(rte_tcp_hdr) / 4) << 4);
  h->tcp_flags = flags;
  h->rx_win = rte_cpu_to_be_16(window);
  layers_.push_back({Layer::kTcp, off});
  return *this;
}

Frame& Frame::arp_request(std::string_view sender_mac, std::string_view sender_ip,
                          std::string_view target_ip) {
  size_t off = raw_.size();
  raw_.resize(off + sizeof(rte_arp_hdr));
  auto* h = at<rte_arp_hdr>(raw_, off);
  h->arp_hardware = rte_cpu_to_be_16(RTE_ARP_HRD_ETHER);
  h->arp_protocol = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
  h->arp_hlen = RTE_ETHER_ADDR_LEN;
  h->arp_plen = 4;
  h->arp_opcode = rte_cpu_to_be_16(RTE_ARP_OP_REQUEST);
  h->arp_data.arp_sha = parse_mac(sender_mac);
  h->arp_data.arp_sip = parse_ipv4(sender_ip);
  h->arp_data.arp_tip = parse_ipv4(target_ip);
  layers_.push_back({Layer::kRaw, off});
  return *this;
}

Frame& Frame::payload(std::string_view data) {
  raw_.insert(raw_.end(), data.begin(), data.end());
  return *this;
}

Frame& Frame::payload(const std::vector<uint8_t>& data) {
  raw_.insert(raw_.end(), data.begin(), data.end());
  return *this;
}

// Lengths and checksums, innermost layer first so that an IPv4 header's
// total length is set before the transport checksum reads it.
std::vector<uint8_t> Frame::bytes() const {
  std::vector<uint8_t> out = raw_;
  const rte_ipv4_hdr* ip = nullptr;
  size_t ip_off = 0;
  for (const auto& l : layers_)
    if (l.kind == Layer::kIpv4) {
      auto* h = at<rte_ipv4_hdr>(out, l.offset);
      h->total_length = rte_cpu_to_be_16(uint16_t(out.size() - l.offset));
      h->hdr_checksum = 0;
      h->hdr_checksum = rte_ipv4_cksum(h);
      ip = h;
      ip_off = l.offset;
    }
  for (const auto& l : layers_) {
    if (!ip || l.offset < ip_off) continue;
    // A fragment after the first carries no transport header of its own.
    if (rte_be_to_cpu_16(ip->fragment_offset) & RTE_IPV4_HDR_OFFSET_MASK) break;
    if (l.kind == Layer::kUdp) {
      auto* h = at<rte_udp_hdr>(out, l.offset);
      h->dgram_len = rte_cpu_to_be_16(uint16_t(out.size() - l.offset));
      h->dgram_cksum = 0;
      if (!(rte_be_to_cpu_16(ip->fragment_offset) & RTE_IPV4_HDR_MF_FLAG))
        h->dgram_cksum = rte_ipv4_udptcp_cksum(ip, h);
    } else if (l.kind == Layer::kTcp) {
      auto* h = at<rte_tcp_hdr>(out, l.offset);
      h->cksum = 0;
      if (!(rte_be_to_cpu_16(ip->fragment_offset) & RTE_IPV4_HDR_MF_FLAG))
        h->cksum = rte_ipv4_udptcp_cksum(ip, h);
    }
  }
  return out;
}

}  // namespace oryx::testing
