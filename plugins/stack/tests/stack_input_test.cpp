// SPDX-License-Identifier: Apache-2.0
// stack_input_test.cpp - the stack stage in-process (test kit), fed frames
// by hand: ARP and the UDP echo service answer (and lwIP's own statistics
// count what it did), a closed port is unreachable, hostile headers are
// counted and dropped before lwIP, and IPv4 reassembly rebuilds a
// datagram of three fragments and drops overlapping or oversized ones.
// Every test checks that no mbuf is left behind.
#include <oryx/testing.hpp>

#include "peer.hpp"

#include <catch2/catch.hpp>

#include <rte_arp.h>
#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_mbuf.h>
#include <rte_udp.h>

using oryx::testing::Frame;
using oryx::testing::Harness;

namespace {

using namespace stack_test;

constexpr const char* kConfig = R"(
[stage.wire]
type = "port"
driver = "ring"
next = "ip"

[stage.ip]
type = "stack"
address = "198.18.0.1/24"
mac = "02:00:00:00:00:01"
udp_echo_port = 7
next = "wire"
)";

Frame to_stack() { return Frame().ether(kStackMac, kPeerMac); }

Frame udp_datagram(const std::string& text, uint16_t dst_port = 7) {
  return to_stack().ipv4(kPeerIp, kStackIp).udp(5000, dst_port).payload(text);
}

// Frames the stack sent on its own (its gratuitous ARP when it came up).
void drain(Harness& h) {
  for (int i = 0; i < 100 && h.poll("ip").size() > 0; i++) {
  }
}

// The stack learns the peer's MAC from the peer's ARP request (and answers).
void introduce_peer(Harness& h) {
  drain(h);
  auto in = h.process("ip", {arp_from_peer()});
  CHECK(in.edge(0) == "consumed");
  auto reply = h.poll_until("ip", 1);
  REQUIRE(reply.size() == 1);
  auto bytes = reply.bytes(0);
  auto* arp = reinterpret_cast<const rte_arp_hdr*>(bytes.data() + sizeof(rte_ether_hdr));
  CHECK(rte_be_to_cpu_16(arp->arp_opcode) == RTE_ARP_OP_REPLY);
  CHECK(reply.edge(0) == "wire");
}

// The UDP payload of each IPv4 frame in `out`.
std::string udp_payload(const oryx::testing::Result& out, size_t i) {
  auto bytes = out.bytes(i);
  size_t off = sizeof(rte_ether_hdr) + sizeof(rte_ipv4_hdr) + sizeof(rte_udp_hdr);
  REQUIRE(bytes.size() >= off);
  return std::string(bytes.begin() + off, bytes.end());
}

// `datagram`'s IPv4 payload cut into fragments at `cuts` (byte offsets,
// multiples of 8), each wrapped in its own Ethernet and IPv4 header.
std::vector<Frame> fragments(const Frame& datagram, std::vector<uint16_t> cuts, uint16_t id) {
  auto bytes = datagram.bytes();
  size_t l4 = sizeof(rte_ether_hdr) + sizeof(rte_ipv4_hdr);
  std::vector<uint8_t> payload(bytes.begin() + l4, bytes.end());
  cuts.push_back(uint16_t(payload.size()));
  std::vector<Frame> out;
  uint16_t from = 0;
  for (uint16_t to : cuts) {
    std::vector<uint8_t> part(payload.begin() + from, payload.begin() + to);
    out.push_back(to_stack()
                      .ipv4(kPeerIp, kStackIp, IPPROTO_UDP)
                      .fragment(from, to != payload.size(), id)
                      .payload(part));
    from = to;
  }
  return out;
}

// The same frame with byte `at` set to `value`.
Frame patched(const Frame& f, size_t at, uint8_t value) {
  auto bytes = f.bytes();
  bytes.at(at) = value;
  return Frame(bytes);
}

constexpr size_t kIpOffset = sizeof(rte_ether_hdr);

}  // namespace

TEST_CASE("the stack answers ARP and its UDP echo service", "[stack]") {
  Harness h({"io", "stack"}, kConfig);
  unsigned baseline = h.mbufs_in_use();
  introduce_peer(h);
  CHECK(h.counter("ip", "arp_requests_in") == 1);
  CHECK(h.counter("ip", "arp_replies_out") == 1);

  h.process("ip", {udp_datagram("hello, stack")});
  auto echo = h.poll_until("ip", 1);
  REQUIRE(echo.size() == 1);
  CHECK(udp_payload(echo, 0) == "hello, stack");
  CHECK(h.counter("ip", "rx_udp") == 1);
  CHECK(h.counter("ip", "tx_udp") == 1);
  echo = {};

  // A datagram to a closed port: lwIP answers port unreachable, and its
  // own statistics (published once a second) count both, as Linux's
  // Udp NoPorts and Icmp OutMsgs would.
  h.process("ip", {udp_datagram("nobody", 9)});
  auto unreachable = h.poll_until("ip", 1);
  REQUIRE(unreachable.size() == 1);
  auto bytes = unreachable.bytes(0);
  REQUIRE(bytes.size() > kIpOffset + sizeof(rte_ipv4_hdr));
  CHECK(bytes[kIpOffset + sizeof(rte_ipv4_hdr)] == 3);  // ICMP destination unreachable
  unreachable = {};
  CHECK(oryx::testing::eventually([&] { return h.counter("ip", "udp_no_ports") == 1; }, 3000));
  CHECK(h.counter("ip", "udp_in_datagrams") == 1);
  CHECK(h.counter("ip", "udp_out_datagrams") == 1);
  CHECK(h.counter("ip", "icmp_out_msgs") == 1);
  CHECK(h.counter("ip", "ip_in_receives") == 2);
  CHECK(h.counter("ip", "ip_in_delivers") == 2);
  CHECK(h.counter("ip", "lwip_memory_errors") == 0);
  drain(h);  // what the stack sent on its own meanwhile (IPv6 router solicitations)
  CHECK(h.mbufs_in_use() <= baseline);
}

TEST_CASE("hostile headers are counted and dropped before lwIP", "[stack]") {
  Harness h({"io", "stack"}, kConfig);
  drain(h);
  unsigned baseline = h.mbufs_in_use();
  const Frame good = udp_datagram("x");
  const size_t udp = kIpOffset + sizeof(rte_ipv4_hdr);
  std::vector<Frame> hostile = {
      patched(good, kIpOffset + 10, good.bytes()[kIpOffset + 10] ^ 0xff),  // IP checksum
      patched(good, kIpOffset, 0x44),                                      // IHL 4 (16 bytes)
      patched(good, kIpOffset + 2, 0x7f),                                  // total length > frame
      patched(good, kIpOffset, 0x65),                                      // version 6 in IPv4
  };
  auto out = h.process("ip", hostile);
  for (size_t i = 0; i < out.size(); i++) CHECK(out.edge(i) == "consumed");
  CHECK(h.counter("ip", "drop_bad_ipv4_header") == 4);

  // UDP: a length beyond the IP payload, then a wrong checksum.
  Frame long_udp = patched(good, udp + 5, 0xff);
  Frame bad_sum = patched(good, udp + 6, good.bytes()[udp + 6] ^ 0x55);
  // TCP: a data offset beyond the segment.
  auto tcp = to_stack().ipv4(kPeerIp, kStackIp, IPPROTO_TCP).tcp(5000, 80, 0x02).bytes();
  tcp[udp + 12] = 0xf0;
  h.process("ip", {long_udp, bad_sum, Frame(tcp)});
  CHECK(h.counter("ip", "drop_bad_l4_header") == 2);
  CHECK(h.counter("ip", "drop_bad_checksum") == 1);
  CHECK(h.counter("ip", "rx_udp") == 0);  // lwIP saw none of them

  // What lwIP itself refuses: another host's frame, an unknown ethertype.
  h.process("ip", {Frame().ether("02:00:00:00:00:99", kPeerMac)
                       .ipv4(kPeerIp, "198.18.0.99")
                       .udp(1, 7)
                       .payload("not mine"),
                   Frame().ether(kStackMac, kPeerMac, 0x88b5).payload("experimental")});
  CHECK(h.counter("ip", "drop_not_for_us") == 1);
  CHECK(h.counter("ip", "drop_unknown_ethertype") == 1);
  CHECK(h.poll("ip").size() == 0);  // nothing answered
  CHECK(h.mbufs_in_use() <= baseline);
}

TEST_CASE("IPv4 reassembly rebuilds a datagram from fragments in any order", "[stack]") {
  Harness h({"io", "stack"}, kConfig);
  unsigned baseline = h.mbufs_in_use();
  introduce_peer(h);
  std::string text(3000, 'a');
  for (size_t i = 0; i < text.size(); i++) text[i] = char('a' + i % 26);
  auto frags = fragments(udp_datagram(text), {1480, 2960}, 42);
  REQUIRE(frags.size() == 3);
  h.process("ip", {frags[2], frags[0]});
  CHECK(h.counter("ip", "reassembly_mbufs") == 2);
  h.process("ip", {frags[1]});
  CHECK(h.counter("ip", "ipv4_reassembled") == 1);
  CHECK(h.counter("ip", "reassembly_mbufs") == 0);
  // The echo comes back whole (fragmented again by lwIP to the MTU).
  auto echo = h.poll_until("ip", 3);
  REQUIRE(echo.size() == 3);
  CHECK(h.counter("ip", "tx_udp") == 1);
  CHECK(h.counter("ip", "tx_udp_bytes") == 8 + text.size());
  echo = {};
  CHECK(h.mbufs_in_use() <= baseline);
}

TEST_CASE("IPv4 reassembly drops overlapping and oversized fragments, counted", "[stack]") {
  Harness h({"io", "stack"}, kConfig);
  unsigned baseline = h.mbufs_in_use();
  introduce_peer(h);
  std::string text(64, 'o');
  auto frags = fragments(udp_datagram(text), {24, 48}, 7);
  // A middle part shifted by 8 bytes: overlaps the first fragment.
  auto overlap = to_stack()
                     .ipv4(kPeerIp, kStackIp, IPPROTO_UDP)
                     .fragment(16, true, 7)
                     .payload(std::string(24, 'X'));
  h.process("ip", {frags[0], frags[2], overlap});
  CHECK(h.counter("ip", "drop_reass_overlap") == 1);
  CHECK(h.counter("ip", "ipv4_reassembled") == 0);
  CHECK(h.counter("ip", "rx_udp") == 0);

  // A fragment that would end beyond 65,535 bytes.
  auto beyond = to_stack()
                    .ipv4(kPeerIp, kStackIp, IPPROTO_UDP)
                    .fragment(65528, false, 8)
                    .payload(std::string(16, 'B'));
  h.process("ip", {beyond});
  CHECK(h.counter("ip", "drop_reass_too_big") == 1);
  CHECK(h.counter("ip", "reassembly_mbufs") == 0);
  CHECK(h.poll("ip").size() == 0);
  CHECK(h.mbufs_in_use() <= baseline);
}
