// SPDX-License-Identifier: Apache-2.0
// delayed_ack_test.cpp - when the stack acknowledges data.
// lwIP patch 0022: a segment that nothing answers at once is acknowledged
// delayed_ack_ms after it arrived (default 40, Linux's minimum), each
// connection on its own deadline; before the patch every such ACK left at
// the next 50 ms tick of lwIP's fast timer, all at once. The key is one
// value per lwIP instance.
// lwIP patch 0024, Linux's quick-ACK mode: a connection's first 16 data
// segments, and data after an idle gap longer than the retransmission
// timeout, are acknowledged at once, unless the connection is interactive
// (its answers carry the ACKs) until a delayed ACK goes alone.
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

constexpr uint16_t kHttp = 80;
constexpr int kQuickAcks = 16;  // Linux's TCP_MAX_QUICKACKS
using Clock = std::chrono::steady_clock;

Frame segment(uint16_t sport, uint8_t flags, uint32_t seq, uint32_t ack = 0, uint16_t dport = kDiscard) {
  return Frame().ether(kStackMac, kPeerMac).ipv4(kPeerIp, kStackIp, IPPROTO_TCP).tcp(sport, dport, flags, seq, ack);
}

// What a test reads of a TCP frame from the stack (all 0 if it is not one).
struct TcpView {
  uint16_t dport = 0;
  uint8_t flags = 0;
  uint32_t ack = 0;
  size_t payload = 0;
};

TcpView tcp_view(const std::vector<uint8_t>& b) {
  if (b.size() < sizeof(rte_ether_hdr) + sizeof(rte_ipv4_hdr) + sizeof(rte_tcp_hdr)) return {};
  auto* eth = reinterpret_cast<const rte_ether_hdr*>(b.data());
  auto* ip = reinterpret_cast<const rte_ipv4_hdr*>(eth + 1);
  if (eth->ether_type != rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4) || ip->next_proto_id != IPPROTO_TCP) return {};
  size_t ihl = (ip->version_ihl & 0xf) * 4;
  auto* tcp = reinterpret_cast<const rte_tcp_hdr*>(b.data() + sizeof(rte_ether_hdr) + ihl);
  return {rte_be_to_cpu_16(tcp->dst_port), tcp->tcp_flags, rte_be_to_cpu_32(tcp->recv_ack),
          rte_be_to_cpu_16(ip->total_length) - ihl - (tcp->data_off >> 4) * 4};
}

// A pure ACK's acknowledgment number and destination port, or 0.
std::pair<uint16_t, uint32_t> pure_ack(const std::vector<uint8_t>& b) {
  TcpView t = tcp_view(b);
  if (t.flags != RTE_TCP_ACK_FLAG || t.payload) return {0, 0};
  return {t.dport, t.ack};
}

uint32_t syn_ack_seq(const std::vector<uint8_t>& b) {
  auto* ip = reinterpret_cast<const rte_ipv4_hdr*>(b.data() + sizeof(rte_ether_hdr));
  auto* tcp = reinterpret_cast<const rte_tcp_hdr*>(b.data() + sizeof(rte_ether_hdr) + (ip->version_ihl & 0xf) * 4);
  return rte_be_to_cpu_32(tcp->sent_seq);
}

constexpr const char* kStack = R"(
[stage.wire]
type = "port"
driver = "ring"
next = "ip"
[stage.ip]
type = "stack"
address = "198.18.0.1/24"
mac = "02:00:00:00:00:01"
tcp_discard_port = 9
http_port = 80
next = "wire"
)";

// The stack knows the peer's MAC (an ARP request from it), so that it
// answers at once.
void meet_peer(Harness& h) {
  h.process("ip", {arp_from_peer()});
  for (int i = 0; i < 100 && h.poll("ip").size() > 0; i++) {
  }
}

// A connection from `sport` to `dport`, established; the stack's initial
// sequence number.
uint32_t open_connection(Harness& h, uint16_t sport, uint16_t dport = kDiscard) {
  h.process("ip", {segment(sport, RTE_TCP_SYN_FLAG, 1000, 0, dport)});
  auto out = h.poll_until("ip", 1);
  REQUIRE(out.size() == 1);
  uint32_t iss = syn_ack_seq(out.bytes(0));
  h.process("ip", {segment(sport, RTE_TCP_ACK_FLAG, 1001, iss + 1, dport)});
  return iss;
}

// Sends `data` at `seq` on the connection from `sport`; true if a pure
// ACK of all of it came back at once (within 10 ms, a quarter of the
// delay: the stack answers in the same call).
bool acked_at_once(Harness& h, uint16_t sport, uint16_t dport, uint32_t seq, uint32_t ack, const std::string& data) {
  h.process("ip", {segment(sport, RTE_TCP_PSH_FLAG | RTE_TCP_ACK_FLAG, seq, ack, dport).payload(data)});
  const auto until = Clock::now() + std::chrono::milliseconds(10);
  do {
    auto out = h.poll("ip", 64);
    for (size_t k = 0; k < out.size(); k++) {
      auto [port, acked] = pure_ack(out.bytes(k));
      if (port == sport && acked == seq + data.size()) return true;
    }
  } while (Clock::now() < until);
  return false;
}

// Five connections to the discard service, which answers nothing; once
// each has had its quick ACKs, ten bytes on each, 7 ms apart (the fast timer's ticks are 50 ms apart: with
// them, some ACKs would come after a few ms and others after 50). An ARP
// request arrives every half millisecond meanwhile, as traffic would: the
// packet path sends the ACKs due with each burst, so each must come
// `delay_ms` after its segment (the margin is for this thread's
// scheduling, far less than a fast-timer period).
void acks_after(const std::string& stack_keys, int delay_ms) {
  Harness h({"stack", "io"}, kStack + stack_keys);
  h.start();
  meet_peer(h);

  // Each connection's first 16 data segments are acknowledged at once
  // (quick-ACK mode), the next ones after the delay.
  constexpr int kConnections = 5;
  constexpr uint32_t kQuick = 1001 + 10 * kQuickAcks;  // the first byte after them
  std::array<uint32_t, kConnections> server_seq{};
  for (int i = 0; i < kConnections; i++) {
    uint16_t sport = uint16_t(40000 + i);
    server_seq[i] = open_connection(h, sport);
    for (int q = 0; q < kQuickAcks; q++) {
      INFO("connection " << i << ", data segment " << q);
      REQUIRE(acked_at_once(h, sport, kDiscard, 1001 + 10 * q, server_seq[i] + 1, "0123456789"));
    }
  }

  std::array<Clock::time_point, kConnections> sent{}, acked{};
  int next = 0, seen = 0;
  const auto deadline = Clock::now() + std::chrono::seconds(2);
  while (seen < kConnections && Clock::now() < deadline) {
    if (next < kConnections && (next == 0 || Clock::now() - sent[next - 1] >= std::chrono::milliseconds(7))) {
      h.process("ip", {segment(uint16_t(40000 + next), RTE_TCP_PSH_FLAG | RTE_TCP_ACK_FLAG, kQuick,
                               server_seq[next] + 1).payload("0123456789")});
      sent[next++] = Clock::now();
    }
    h.process("ip", {arp_from_peer()});
    auto out = h.poll("ip", 64);
    for (size_t k = 0; k < out.size(); k++) {
      auto [port, ack] = pure_ack(out.bytes(k));
      int i = port - 40000;
      if (i >= 0 && i < kConnections && ack == kQuick + 10 && acked[i] == Clock::time_point{}) {
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

TEST_CASE("data after an idle gap longer than the retransmission timeout is acknowledged at once", "[stack][tcp]") {
  Harness h({"stack", "io"}, kStack);
  h.start();
  meet_peer(h);
  const uint16_t sport = 40100;
  const uint32_t ack = open_connection(h, sport) + 1;
  uint32_t seq = 1001;
  for (int q = 0; q < kQuickAcks; q++, seq += 10) REQUIRE(acked_at_once(h, sport, kDiscard, seq, ack, "0123456789"));
  // The quick ACKs are spent: the next segment's ACK waits (and comes).
  CHECK_FALSE(acked_at_once(h, sport, kDiscard, seq, ack, "0123456789"));
  seq += 10;
  bool delayed = false;
  for (auto until = Clock::now() + std::chrono::seconds(1); !delayed && Clock::now() < until;) {
    auto out = h.poll("ip", 64);
    for (size_t k = 0; k < out.size(); k++) delayed |= pure_ack(out.bytes(k)) == std::pair<uint16_t, uint32_t>{sport, seq};
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  REQUIRE(delayed);
  // 250 ms of silence, more than the timeout (Linux's least, 200 ms, on
  // this round trip of microseconds): the next data is acknowledged at
  // once, and so is the one after it.
  std::this_thread::sleep_for(std::chrono::milliseconds(250));
  CHECK(acked_at_once(h, sport, kDiscard, seq, ack, "0123456789"));
  CHECK(acked_at_once(h, sport, kDiscard, seq + 10, ack, "0123456789"));
}

TEST_CASE("an interactive connection's ACKs ride on its answers until a delayed ACK goes alone", "[stack][tcp]") {
  Harness h({"stack", "io"}, kStack);
  h.start();
  meet_peer(h);
  const uint16_t sport = 40200;
  const uint32_t ack = open_connection(h, sport, kHttp) + 1;
  // A whole request: its first data (quick-ACK mode), answered at once by
  // the HTTP service: one frame, the answer, carries the ACK.
  const std::string request = "GET / HTTP/1.1\r\nHost: oryx\r\n\r\n";
  h.process("ip", {segment(sport, RTE_TCP_PSH_FLAG | RTE_TCP_ACK_FLAG, 1001, ack, kHttp).payload(request)});
  auto out = h.poll_until("ip", 1);
  REQUIRE(out.size() == 1);
  TcpView answer = tcp_view(out.bytes(0));
  CHECK(answer.payload > 0);
  CHECK(answer.ack == 1001 + request.size());
  uint32_t seq = uint32_t(1001 + request.size());
  const uint32_t stack_seq = ack + uint32_t(answer.payload);
  // The connection answers what it gets: part of a request waits for its
  // answer (none comes), and the ACK goes alone after the delay.
  CHECK_FALSE(acked_at_once(h, sport, kHttp, seq, stack_seq, "GET / HT"));
  seq += 8;
  bool delayed = false;
  for (auto until = Clock::now() + std::chrono::seconds(1); !delayed && Clock::now() < until;) {
    auto later = h.poll("ip", 64);
    for (size_t k = 0; k < later.size(); k++)
      delayed |= pure_ack(later.bytes(k)) == std::pair<uint16_t, uint32_t>{sport, seq};
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  REQUIRE(delayed);
  // That ACK went alone: the connection is no longer interactive, and its
  // quick ACKs are left.
  CHECK(acked_at_once(h, sport, kHttp, seq, stack_seq, "TP/1.1\r\n"));
}
