// SPDX-License-Identifier: Apache-2.0
// stack_instances_test.cpp - stack stages in different lwIP instances
// (lwip patch 0016, key `instance`) are independent stacks: both take the
// same address and the same service port; the same 4-tuple opens one
// connection in each, answered on each stage's own port from its own
// table; the connection table tells them apart. Stages that name the same
// instance share one table, as before.
#include <oryx/testing.hpp>

#include "peer.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_tcp.h>
#include <rte_udp.h>

#include <map>
#include <string>
#include <thread>

using oryx::testing::Frame;
using oryx::testing::Harness;

namespace {

using namespace stack_test;

// Two ports, a stack on each with the same address and echo port; the
// instances named `a` and `b`.
std::string config(const char* a, const char* b) {
  std::string cfg;
  for (auto [stage, instance] : {std::pair{"a", a}, std::pair{"b", b}}) {
    cfg += std::string("[stage.wire_") + stage + "]\ntype = \"port\"\ndriver = \"ring\"\nnext = \"" +
           stage + "\"\n";
    cfg += std::string("[stage.") + stage + "]\ntype = \"stack\"\ninstance = \"" + instance +
           "\"\naddress = \"198.18.0.1/24\"\nmac = \"" + kStackMac +
           "\"\ntcp_echo_port = 7\nudp_echo_port = 7\nnext = \"wire_" + stage + "\"\n";
  }
  return cfg;
}

Frame to_stack() { return Frame().ether(kStackMac, kPeerMac); }

Frame segment(uint8_t flags, uint32_t seq, uint32_t ack = 0) {
  return to_stack().ipv4(kPeerIp, kStackIp, IPPROTO_TCP).tcp(40000, 7, flags, seq, ack);
}

struct Tcp {
  uint8_t flags;
  uint32_t seq, ack;
  std::string payload;
};

// The TCP segments among `out` (ARP and others skipped), with the edge
// each left by.
std::vector<std::pair<std::string, Tcp>> tcp_segments(const oryx::testing::Result& out) {
  std::vector<std::pair<std::string, Tcp>> segs;
  for (size_t i = 0; i < out.size(); i++) {
    auto b = out.bytes(i);
    if (b.size() < sizeof(rte_ether_hdr) + sizeof(rte_ipv4_hdr) + sizeof(rte_tcp_hdr)) continue;
    auto* eth = reinterpret_cast<const rte_ether_hdr*>(b.data());
    auto* ip = reinterpret_cast<const rte_ipv4_hdr*>(eth + 1);
    if (eth->ether_type != rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4) || ip->next_proto_id != IPPROTO_TCP)
      continue;
    size_t ihl = (ip->version_ihl & 0xf) * 4;
    auto* tcp = reinterpret_cast<const rte_tcp_hdr*>(b.data() + sizeof(rte_ether_hdr) + ihl);
    size_t data = sizeof(rte_ether_hdr) + ihl + (tcp->data_off >> 4) * 4;
    size_t end = sizeof(rte_ether_hdr) + rte_be_to_cpu_16(ip->total_length);
    segs.push_back({out.edge(i),
                    {tcp->tcp_flags, rte_be_to_cpu_32(tcp->sent_seq), rte_be_to_cpu_32(tcp->recv_ack),
                     std::string(b.begin() + data, b.begin() + end)}});
  }
  return segs;
}

// The UDP payload of an IPv4 frame, or "" if it is not one.
// Whether a frame is an IPv4 UDP datagram (not one of the IPv6 messages
// the stack sends on its timers' schedule).
bool is_ipv4_udp(const std::vector<uint8_t>& b) {
  if (b.size() < sizeof(rte_ether_hdr) + sizeof(rte_ipv4_hdr)) return false;
  auto* eth = reinterpret_cast<const rte_ether_hdr*>(b.data());
  auto* ip = reinterpret_cast<const rte_ipv4_hdr*>(b.data() + sizeof(rte_ether_hdr));
  return eth->ether_type == rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4) && ip->next_proto_id == IPPROTO_UDP;
}

std::string udp_payload(const std::vector<uint8_t>& b) {
  size_t off = sizeof(rte_ether_hdr) + sizeof(rte_ipv4_hdr) + sizeof(rte_udp_hdr);
  if (b.size() < off) return "";
  auto* ip = reinterpret_cast<const rte_ipv4_hdr*>(b.data() + sizeof(rte_ether_hdr));
  if (ip->next_proto_id != IPPROTO_UDP) return "";
  return std::string(b.begin() + off, b.begin() + sizeof(rte_ether_hdr) + rte_be_to_cpu_16(ip->total_length));
}

// The stack learns the peer's MAC from its ARP request; everything the
// stage sent so far (its gratuitous ARP, the reply) is dropped.
void introduce_peer(Harness& h, const char* stage) {
  h.process(stage, {arp_from_peer()});
  for (int i = 0; i < 100 && h.poll(stage).size() > 0; i++) {
  }
}

// The SYN-ACK `stage` answers a SYN with, which must leave by its own port.
Tcp handshake_reply(Harness& h, const char* stage) {
  h.process(stage, {segment(RTE_TCP_SYN_FLAG, 1000)});
  auto out = h.poll_until(stage, 1);
  auto segs = tcp_segments(out);
  REQUIRE(segs.size() == 1);
  CHECK(segs[0].first == std::string("wire_") + stage);
  CHECK(segs[0].second.flags == (RTE_TCP_SYN_FLAG | RTE_TCP_ACK_FLAG));
  CHECK(segs[0].second.ack == 1001);
  return segs[0].second;
}

// state -> count of the connection table's rows of `instance` on port 7
// (the services listen on any address).
std::map<std::string, int> table(Harness& h, const std::string& instance) {
  auto reply = h.request("GET", "/api/v1/connections");
  REQUIRE(reply.status == 200);
  auto j = nlohmann::json::parse(reply.body);
  std::map<std::string, int> states;
  for (auto& row : j["connections"])
    if (row["instance"] == instance && row["local"].get<std::string>().ends_with(":7"))
      states[row["state"]]++;
  return states;
}

}  // namespace

TEST_CASE("stacks in different lwIP instances are independent", "[stack]") {
  Harness h({"stack", "io"}, config("a", "b"));
  h.start();
  introduce_peer(h, "a");
  introduce_peer(h, "b");
  // Both listen on port 7: two tables, so no EADDRINUSE.
  CHECK(table(h, "a")["LISTEN"] == 1);
  CHECK(table(h, "b")["LISTEN"] == 1);

  // One 4-tuple, a connection in each: each stage answers its SYN itself.
  Tcp syn_ack_a = handshake_reply(h, "a");
  Tcp syn_ack_b = handshake_reply(h, "b");
  h.process("a", {segment(RTE_TCP_ACK_FLAG, 1001, syn_ack_a.seq + 1)});
  CHECK(table(h, "a")["ESTABLISHED"] == 1);
  CHECK(table(h, "b")["SYN_RCVD"] == 1);
  CHECK(table(h, "b")["ESTABLISHED"] == 0);
  CHECK(h.counter("a", "tcp_accepted") == 1);
  CHECK(h.counter("b", "tcp_accepted") == 0);

  // Data on a's connection is echoed by a, on a's port.
  h.process("a", {segment(RTE_TCP_ACK_FLAG | RTE_TCP_PSH_FLAG, 1001, syn_ack_a.seq + 1)
                      .payload("instance a")});
  auto echoed = tcp_segments(h.poll_until("a", 1));
  REQUIRE(!echoed.empty());
  CHECK(echoed.back().first == "wire_a");
  CHECK(echoed.back().second.payload == "instance a");
  CHECK(h.poll("b").size() == 0);

  // Both reset: nothing is left in either table.
  h.process("a", {segment(RTE_TCP_RST_FLAG, 1011)});
  h.process("b", {segment(RTE_TCP_RST_FLAG, 1001)});
  CHECK(table(h, "a")["ESTABLISHED"] == 0);
  CHECK(table(h, "b")["SYN_RCVD"] == 0);
  CHECK(syn_ack_b.ack == 1001);
}

TEST_CASE("stacks naming the same instance share one table", "[stack]") {
  // The second listener on the same address and port is refused.
  try {
    Harness h({"stack", "io"}, config("shared", "shared"));
    h.start();
    FAIL("two echo services on port 7 in one instance");
  } catch (const std::exception& e) {
    INFO(e.what());
    CHECK(std::string(e.what()).find("TCP port 7 is already in use") != std::string::npos);
  }
}

TEST_CASE("two instances run at the same time, each on its own thread", "[stack]") {
  Harness h({"stack", "io"}, config("a", "b"));
  h.start();
  introduce_peer(h, "a");
  introduce_peer(h, "b");
  // Each thread echoes datagrams through its own stage: both lwIP
  // instances take input, answer and run their timers at once.
  constexpr int kRounds = 2000;
  auto echo = [&](const char* stage, int* echoed, std::string* first_error) {
    for (int i = 0; i < kRounds; i++) {
      std::string text = std::string(stage) + "-" + std::to_string(i);
      h.process(stage, {to_stack().ipv4(kPeerIp, kStackIp).udp(5000, 7).payload(text)});
      // The echo, past what the stack sends meanwhile on its own (IPv6
      // router and neighbour solicitations, MLD reports: a slow run, as
      // under CI's load, reaches their time).
      bool answered = false;
      for (int tries = 0; tries < 10 && !answered; tries++) {
        auto out = h.poll_until(stage, 1);
        for (size_t k = 0; k < out.size(); k++) {
          if (!is_ipv4_udp(out.bytes(k))) continue;
          std::string got = udp_payload(out.bytes(k));
          answered = true;
          if (got == text && out.edge(k) == std::string("wire_") + stage)
            ++*echoed;
          else if (first_error->empty())
            *first_error = "round " + std::to_string(i) + ": got \"" + got + "\" by " + out.edge(k);
        }
      }
    }
  };
  int echoed_a = 0, echoed_b = 0;
  std::string error_a, error_b;
  std::thread ta(echo, "a", &echoed_a, &error_a);
  std::thread tb(echo, "b", &echoed_b, &error_b);
  ta.join();
  tb.join();
  INFO(error_a << error_b);
  CHECK(error_a.empty());
  CHECK(error_b.empty());
  CHECK(echoed_a == kRounds);
  CHECK(echoed_b == kRounds);
  // Each instance's own lwIP statistics (published once a second) saw
  // its own datagrams only.
  for (const char* stage : {"a", "b"}) {
    INFO(stage << ": udp_in_datagrams " << h.counter(stage, "udp_in_datagrams"));
    CHECK(oryx::testing::eventually(
        [&] { return h.counter(stage, "udp_in_datagrams") >= uint64_t(kRounds); }));
    CHECK(h.counter(stage, "udp_in_datagrams") == uint64_t(kRounds));
  }
  // What the timers sent meanwhile (IPv6 router solicitations and the
  // like) waits in the stages' rings; nothing else holds an mbuf.
  for (const char* stage : {"a", "b"})
    for (int i = 0; i < 100 && h.poll(stage).size() > 0; i++) {
    }
  CHECK(h.mbufs_in_use() == 0);
}
