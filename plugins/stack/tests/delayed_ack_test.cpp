// SPDX-License-Identifier: Apache-2.0
// delayed_ack_test.cpp - lwip patch 0022: a segment that nothing answers
// at once is acknowledged delayed_ack_ms after it arrived (default 40,
// Linux's minimum), each connection on its own deadline; before the patch
// every such ACK left at the next 50 ms tick of lwIP's fast timer, all at
// once. The key is one value per lwIP instance.
#include <oryx/testing.hpp>

#include "peer.hpp"

#include <catch2/catch.hpp>

#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_tcp.h>

#include <chrono>
#include <thread>

using oryx::testing::Frame;
using oryx::testing::Harness;

namespace {

using namespace stack_test;
constexpr uint16_t kDiscard = 9;
using Clock = std::chrono::steady_clock;

Frame segment(uint16_t sport, uint8_t flags, uint32_t seq, uint32_t ack = 0) {
  return Frame().ether(kStackMac, kPeerMac).ipv4(kPeerIp, kStackIp, IPPROTO_TCP).tcp(sport, kDiscard, flags, seq, ack);
}

// A pure ACK's acknowledgment number and destination port, or 0.
std::pair<uint16_t, uint32_t> pure_ack(const std::vector<uint8_t>& b) {
  if (b.size() < sizeof(rte_ether_hdr) + sizeof(rte_ipv4_hdr) + sizeof(rte_tcp_hdr)) return {0, 0};
  auto* eth = reinterpret_cast<const rte_ether_hdr*>(b.data());
  auto* ip = reinterpret_cast<const rte_ipv4_hdr*>(eth + 1);
  if (eth->ether_type != rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4) || ip->next_proto_id != IPPROTO_TCP) return {0, 0};
  size_t ihl = (ip->version_ihl & 0xf) * 4;
  auto* tcp = reinterpret_cast<const rte_tcp_hdr*>(b.data() + sizeof(rte_ether_hdr) + ihl);
  size_t payload = rte_be_to_cpu_16(ip->total_length) - ihl - (tcp->data_off >> 4) * 4;
  if (tcp->tcp_flags != RTE_TCP_ACK_FLAG || payload) return {0, 0};
  return {rte_be_to_cpu_16(tcp->dst_port), rte_be_to_cpu_32(tcp->recv_ack)};
}

uint32_t syn_ack_seq(const std::vector<uint8_t>& b) {
  auto* ip = reinterpret_cast<const rte_ipv4_hdr*>(b.data() + sizeof(rte_ether_hdr));
  auto* tcp = reinterpret_cast<const rte_tcp_hdr*>(b.data() + sizeof(rte_ether_hdr) + (ip->version_ihl & 0xf) * 4);
  return rte_be_to_cpu_32(tcp->sent_seq);
}

// Five connections to the discard service, which answers nothing; ten
// bytes on each, 7 ms apart (the fast timer's ticks are 50 ms apart: with
// them, some ACKs would come after a few ms and others after 50). An ARP
// request arrives every half millisecond meanwhile, as traffic would: the
// packet path sends the ACKs due with each burst, so each must come
// `delay_ms` after its segment (the margin is for this thread's
// scheduling, far less than a fast-timer period).
void acks_after(const std::string& stack_keys, int delay_ms) {
  Harness h({"stack", "io"}, R"(
[stage.wire]
type = "port"
driver = "ring"
next = "ip"
[stage.ip]
type = "stack"
address = "198.18.0.1/24"
mac = "02:00:00:00:00:01"
tcp_discard_port = 9
next = "wire"
)" + stack_keys);
  h.start();
  h.process("ip", {arp_from_peer()});
  for (int i = 0; i < 100 && h.poll("ip").size() > 0; i++) {
  }

  constexpr int kConnections = 5;
  std::array<uint32_t, kConnections> server_seq{};
  for (int i = 0; i < kConnections; i++) {
    uint16_t sport = uint16_t(40000 + i);
    h.process("ip", {segment(sport, RTE_TCP_SYN_FLAG, 1000)});
    auto out = h.poll_until("ip", 1);
    REQUIRE(out.size() == 1);
    server_seq[i] = syn_ack_seq(out.bytes(0));
    h.process("ip", {segment(sport, RTE_TCP_ACK_FLAG, 1001, server_seq[i] + 1)});
  }

  std::array<Clock::time_point, kConnections> sent{}, acked{};
  int next = 0, seen = 0;
  const auto deadline = Clock::now() + std::chrono::seconds(2);
  while (seen < kConnections && Clock::now() < deadline) {
    if (next < kConnections && (next == 0 || Clock::now() - sent[next - 1] >= std::chrono::milliseconds(7))) {
      h.process("ip", {segment(uint16_t(40000 + next), RTE_TCP_PSH_FLAG | RTE_TCP_ACK_FLAG, 1001,
                               server_seq[next] + 1).payload("0123456789")});
      sent[next++] = Clock::now();
    }
    h.process("ip", {arp_from_peer()});
    auto out = h.poll("ip", 64);
    for (size_t k = 0; k < out.size(); k++) {
      auto [port, ack] = pure_ack(out.bytes(k));
      int i = port - 40000;
      if (i >= 0 && i < kConnections && ack == 1011 && acked[i] == Clock::time_point{}) {
        acked[i] = Clock::now();
        seen++;
      }
    }
    std::this_thread::sleep_for(std::chrono::microseconds(500));
  }
  REQUIRE(seen == kConnections);
  for (int i = 0; i < kConnections; i++) {
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(acked[i] - sent[i]).count();
    INFO("connection " << i << ": ACK after " << ms << " ms");
    CHECK(ms >= delay_ms - 1);
    CHECK(ms <= delay_ms + 20);
  }
}

}  // namespace

TEST_CASE("a delayed ACK leaves 40 ms after its segment, each on its own deadline", "[stack][tcp]") {
  acks_after("", 40);  // Linux's minimum, the default
}

TEST_CASE("delayed_ack_ms sets how long an ACK waits", "[stack][tcp]") {
  acks_after("delayed_ack_ms = 15\n", 15);
}

TEST_CASE("delayed_ack_ms is one value per lwIP instance", "[stack][tcp][config]") {
  const char* config = R"(
[stage.wire_a]
type = "port"
driver = "ring"
next = "a"
[stage.a]
type = "stack"
address = "198.18.0.1/24"
delayed_ack_ms = 15
next = "wire_a"
[stage.wire_b]
type = "port"
driver = "ring"
next = "b"
[stage.b]
type = "stack"
address = "198.18.1.1/24"
delayed_ack_ms = 20
next = "wire_b"
)";
  // The second stage of the instance is refused when it starts, naming both values.
  CHECK_THROWS_WITH(Harness({"stack", "io"}, config).start(),
                    Catch::Contains("delayed_ack_ms 20 differs from the 15"));
}
