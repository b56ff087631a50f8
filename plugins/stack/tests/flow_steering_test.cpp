// SPDX-License-Identifier: Apache-2.0
// flow_steering_test.cpp - a per-worker stack's steering: a received
// segment goes to the owner flow_owner() names for its addresses and
// ports (the owner the load generator picks its local ports for), flows
// spread over the owners, and neighbour answers go to every instance.
#include "../src/flow_hash.hpp"
#include "../src/flow_steering.hpp"

#include <oryx/rss.hpp>

#include <rte_mbuf.h>

#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>

#include <array>
#include <cstring>
#include <vector>

using namespace oryx::stack;

namespace {

// An mbuf header over `frame` (steer_frame reads the data pointer and the
// first segment's length only).
struct FakeMbuf {
  rte_mbuf m{};
  explicit FakeMbuf(std::vector<uint8_t>& frame) {
    m.buf_addr = frame.data();
    m.data_off = 0;
    m.data_len = uint16_t(frame.size());
    m.pkt_len = uint32_t(frame.size());
    m.nb_segs = 1;
  }
};

std::vector<uint8_t> ethernet(uint16_t type, size_t payload) {
  std::vector<uint8_t> f(14 + payload, 0);
  f[12] = uint8_t(type >> 8);
  f[13] = uint8_t(type);
  return f;
}

std::vector<uint8_t> ipv4(uint8_t proto, const uint8_t src[4], const uint8_t dst[4],
                          uint16_t sport, uint16_t dport, uint16_t frag = 0) {
  auto f = ethernet(0x0800, 20 + 20);
  uint8_t* ip = f.data() + 14;
  ip[0] = 0x45;
  ip[6] = uint8_t(frag >> 8);
  ip[7] = uint8_t(frag);
  ip[9] = proto;
  std::memcpy(ip + 12, src, 4);
  std::memcpy(ip + 16, dst, 4);
  uint8_t* l4 = ip + 20;
  l4[0] = uint8_t(sport >> 8), l4[1] = uint8_t(sport), l4[2] = uint8_t(dport >> 8), l4[3] = uint8_t(dport);
  return f;
}

std::vector<uint8_t> ipv6(uint8_t next, const uint8_t src[16], const uint8_t dst[16],
                          const std::vector<uint8_t>& l4) {
  auto f = ethernet(0x86dd, 40 + l4.size());
  uint8_t* ip = f.data() + 14;
  ip[0] = 0x60;
  ip[6] = next;
  std::memcpy(ip + 8, src, 16);
  std::memcpy(ip + 24, dst, 16);
  std::memcpy(ip + 40, l4.data(), l4.size());
  return f;
}

int steer(std::vector<uint8_t> f, unsigned owners) {
  FakeMbuf m(f);
  return steer_frame(&m.m, owners);
}

}  // namespace

TEST_CASE("a TCP or UDP segment goes to the owner of its addresses and ports", "[stack][steering]") {
  const uint8_t remote[4] = {198, 18, 0, 1}, local[4] = {198, 18, 0, 2};
  std::array<unsigned, 2> per_owner{};
  for (uint16_t port = 1024; port < 3024; port++) {
    unsigned owner = flow_owner(remote, local, 4, 7, port, 2);
    REQUIRE(owner < 2);
    per_owner[owner]++;
    CHECK(steer(ipv4(6, remote, local, 7, port), 2) == int(owner));
    CHECK(steer(ipv4(17, remote, local, 7, port), 2) == int(owner));
  }
  // Flows spread over the owners (2,000 ports: each gets 40-60 %).
  CHECK(per_owner[0] > 800);
  CHECK(per_owner[1] > 800);
  // Four owners: every one gets some.
  std::array<unsigned, 4> four{};
  for (uint16_t port = 1024; port < 2024; port++) four[flow_owner(remote, local, 4, 80, port, 4)]++;
  for (unsigned n : four) CHECK(n > 150);
  CHECK(steer(ipv4(6, remote, local, 7, 1024), 1) == 0);
}

TEST_CASE("the owner is the queue a NIC's RSS would pick (Toeplitz, default key)", "[stack][steering]") {
  // Microsoft's RSS verification vector for IPv4 with TCP ports, with the
  // key of oryx/rss.hpp; for IPv6, the value of a bit-by-bit Toeplitz
  // computed apart (Python, over the 36 bytes in wire order).
  const uint8_t src4[4] = {66, 9, 149, 187}, dst4[4] = {161, 142, 100, 80};
  CHECK(oryx::rss::flow_hash(src4, dst4, 4, 2794, 1766) == 0x51ccc178u);
  const uint8_t src6[16] = {0x3f, 0xfe, 0x25, 0x01, 0x02, 0x00, 0x00, 0x03, 0, 0, 0, 0, 0, 0, 0, 0x01};
  const uint8_t dst6[16] = {0x3f, 0xfe, 0x25, 0x01, 0x02, 0x00, 0x1f, 0xff, 0, 0, 0, 0, 0, 0, 0, 0x07};
  CHECK(oryx::rss::flow_hash(src6, dst6, 16, 2794, 1766) == 0xd3dadb5du);
  // Owner = the redirection table's entry: (hash mod 128) mod owners.
  CHECK(flow_owner(src4, dst4, 4, 2794, 1766, 2) == (0x51ccc178u % 128) % 2);
  CHECK(flow_owner(src4, dst4, 4, 2794, 1766, 3) == (0x51ccc178u % 128) % 3);
}

TEST_CASE("IPv6 segments are steered by addresses and ports too", "[stack][steering]") {
  uint8_t remote[16] = {0x20, 0x01, 0x0d, 0xb8}, local[16] = {0x20, 0x01, 0x0d, 0xb8};
  remote[15] = 1;
  local[15] = 2;
  for (uint16_t port = 40000; port < 40200; port++) {
    std::vector<uint8_t> tcp(20, 0);
    tcp[0] = 0, tcp[1] = 80, tcp[2] = uint8_t(port >> 8), tcp[3] = uint8_t(port);
    CHECK(steer(ipv6(6, remote, local, tcp), 2) == int(flow_owner(remote, local, 16, 80, port, 2)));
  }
}

TEST_CASE("neighbour answers go to every instance, the rest stays", "[stack][steering]") {
  auto arp = [](uint16_t op) {
    auto f = ethernet(0x0806, 28);
    f[14 + 6] = uint8_t(op >> 8);
    f[14 + 7] = uint8_t(op);
    return f;
  };
  CHECK(steer(arp(2), 2) == kSteerEveryone);  // a reply: every instance learns the MAC
  CHECK(steer(arp(1), 2) == kSteerHere);      // a request: one instance answers
  const uint8_t a[16] = {0xfe, 0x80}, b[16] = {0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
  CHECK(steer(ipv6(58, a, b, {136, 0, 0, 0}), 2) == kSteerEveryone);  // neighbour advertisement
  CHECK(steer(ipv6(58, a, b, {134, 0, 0, 0}), 2) == kSteerEveryone);  // router advertisement
  CHECK(steer(ipv6(58, a, b, {135, 0, 0, 0}), 2) == kSteerHere);      // neighbour solicitation
  CHECK(steer(ipv6(58, a, b, {128, 0, 0, 0}), 2) == kSteerHere);      // echo request
  const uint8_t r[4] = {198, 18, 0, 1}, l[4] = {198, 18, 0, 2};
  CHECK(steer(ipv4(1, r, l, 0, 0), 2) == kSteerHere);            // ICMP
  CHECK(steer(ipv4(17, r, l, 7, 7, 0x2000), 2) == kSteerHere);   // first fragment (MF)
  CHECK(steer(ipv4(17, r, l, 7, 7, 0x0010), 2) == kSteerHere);   // a later fragment
  CHECK(steer(ethernet(0x88cc, 40), 2) == kSteerHere);           // LLDP
  std::vector<uint8_t> runt = {0, 1, 2};
  CHECK(steer(runt, 2) == kSteerHere);
}
