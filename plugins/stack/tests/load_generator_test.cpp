// SPDX-License-Identifier: Apache-2.0
// load_generator_test.cpp - the stack's load generator against the stack's
// own echo service, two stages in separate lwIP instances whose ports the
// test wires together: every connection opens, requests are answered in
// full, nothing fails; a bad target stops the stage with a message.
#include <oryx/testing.hpp>

#include <catch2/catch.hpp>

#include <chrono>
#include <string>

using oryx::testing::Frame;
using oryx::testing::Harness;

namespace {

std::string config(const std::string& load_keys, const std::string& client_keys = "") {
  return R"(
[stage.wire_c]
type = "port"
driver = "ring"
next = "client"

[stage.client]
type = "stack"
instance = "client"
address = "198.18.0.2/24"
mac = "02:00:00:00:00:02"
next = "wire_c"
)" + load_keys + "\n" + client_keys + R"(

[stage.wire_s]
type = "port"
driver = "ring"
next = "server"

[stage.server]
type = "stack"
instance = "server"
address = "198.18.0.1/24"
mac = "02:00:00:00:00:01"
tcp_echo_port = 7
next = "wire_s"
)";
}

// Moves what each stage sent to the other (a copy of each frame, at most
// `burst` each way); returns how many frames moved.
size_t shuttle(Harness& h, uint16_t burst = 256) {
  size_t moved = 0;
  for (auto [from, to] : {std::pair{"client", "server"}, std::pair{"server", "client"}}) {
    auto out = h.poll(from, burst);
    std::vector<Frame> frames;
    for (size_t i = 0; i < out.size(); i++) frames.emplace_back(out.bytes(i));
    moved += frames.size();
    if (!frames.empty()) h.process(to, frames);
  }
  return moved;
}

}  // namespace

TEST_CASE("the load generator keeps requests in flight over every connection", "[stack]") {
  Harness h({"stack", "io"}, config(R"(load_connections = 1000
load_targets = ["198.18.0.1:7"]
load_in_flight = 10
load_size = 64)"));
  h.start();
  // Until all 1,000 are open and 20,000 requests answered (bounded).
  bool done = oryx::testing::eventually(
      [&] {
        for (int i = 0; i < 50; i++) shuttle(h);
        return h.counter("client", "load_requests") >= 20000;
      },
      20000);
  INFO("open " << h.counter("client", "load_connections_open") << ", requests "
               << h.counter("client", "load_requests") << ", failures "
               << h.counter("client", "load_connect_failures"));
  REQUIRE(done);
  CHECK(h.counter("client", "load_connections_open") == 1000);
  CHECK(h.counter("server", "tcp_accepted") == 1000);
  CHECK(h.counter("client", "load_connect_failures") == 0);
  CHECK(h.counter("client", "load_connections_lost") == 0);
  // Nothing was lost between the two, so nothing was sent twice (a
  // connect's SYN is not a retransmission).
  CHECK(h.counter("client", "tcp_retransmits") == 0);
  CHECK(h.counter("server", "tcp_retransmits") == 0);
}

TEST_CASE("lwIP's timers wait for a small transmit ring instead of overflowing it", "[stack]") {
  // 100 requests in flight over 1,000 connections: every response's ACK is
  // a delayed one, and the fast timer sends them in bursts of hundreds into
  // a ring of 256 (lwIP patch 0018). The worker (this thread) adds a few
  // dozen frames per burst of 32 and the opener 128 SYNs at most, so only
  // the timer could overflow it.
  Harness h({"stack", "io"}, config(R"(load_connections = 1000
load_targets = ["198.18.0.1:7"]
load_in_flight = 100
load_size = 64)", "tx_ring = 256"));
  h.start();
  // A worker polls without pause (oryx::testing::eventually sleeps between
  // tries, and a ring nobody drains makes the timers give up waiting).
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  bool done = false;
  while (!done && std::chrono::steady_clock::now() < deadline) {
    for (int i = 0; i < 50; i++) shuttle(h, 32);
    done = h.counter("client", "load_requests") >= 20000;
  }
  INFO("requests " << h.counter("client", "load_requests") << ", timer waits "
                   << h.counter("client", "tcp_timer_tx_waits") << ", ring full "
                   << h.counter("client", "drop_tx_ring_full"));
  REQUIRE(done);
  CHECK(h.counter("client", "tcp_timer_tx_waits") > 0);
  CHECK(h.counter("client", "drop_tx_ring_full") == 0);
  CHECK(h.counter("server", "drop_tx_ring_full") == 0);
  CHECK(h.counter("client", "load_connections_lost") == 0);
}

TEST_CASE("a load generator without a usable target does not start", "[stack]") {
  for (auto [keys, message] : {
           std::pair{"load_connections = 10", "load_connections needs load_targets"},
           std::pair{"load_connections = 10\nload_targets = [\"198.18.0.1\"]", "expected address:port"},
           std::pair{"load_connections = 70000\nload_targets = [\"198.18.0.1:7\"]",
                     "at most 64,512 per target"},
       }) {
    INFO(keys);
    try {
      Harness h({"stack", "io"}, config(keys));
      h.start();
      FAIL("started");
    } catch (const std::exception& e) {
      CHECK(std::string(e.what()).find(message) != std::string::npos);
    }
  }
}
