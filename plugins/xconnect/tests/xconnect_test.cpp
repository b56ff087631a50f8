// SPDX-License-Identifier: Apache-2.0
// xconnect_test.cpp - the xconnect stage in-process (test kit): each end's
// packets go to the other end, a packet from elsewhere is dropped and
// counted, and the tables start-up refuses.
#include <oryx/testing.hpp>

#include <catch2/catch.hpp>

using oryx::testing::Frame;
using oryx::testing::Harness;

namespace {

constexpr const char* kPatch = R"(
[stage.a]
type = "port"
driver = "ring"
next = "x"

[stage.b]
type = "port"
driver = "ring"
next = "x"

[stage.x]
type = "xconnect"
next = ["a", "b"]

[stage.other]
type = "port"
driver = "null"
)";

Frame frame(const std::string& text) {
  return Frame().ether().ipv4("198.18.0.1", "198.18.0.2").udp(7, 7).payload(text);
}

}  // namespace

TEST_CASE("xconnect patches each end to the other", "[xconnect]") {
  Harness h({"io", "xconnect"}, kPatch);
  uint16_t a = 0, b = 0, other = 0;
  REQUIRE(h.has_port("a", &a));
  REQUIRE(h.has_port("b", &b));
  REQUIRE(h.has_port("other", &other));
  auto from_a = h.process("x", {frame("a1"), frame("a2")}, a);
  CHECK(from_a.count("b") == 2);
  auto from_b = h.process("x", {frame("b1")}, b);
  CHECK(from_b.edge(0) == "a");
  auto foreign = h.process("x", {frame("?")}, other);
  CHECK(foreign.edge(0) == "drop");
  CHECK(h.counter("x", "a_to_b") == 2);
  CHECK(h.counter("x", "b_to_a") == 1);
  CHECK(h.counter("x", "foreign") == 1);
  CHECK(h.counter("x", "drops") == 1);
}

TEST_CASE("xconnect end to end: a packet polled from a leaves through b", "[xconnect]") {
  Harness h({"io", "xconnect"}, kPatch);
  // Put a frame on a's ring (a port's own transmit loops back to it).
  h.process("a", {frame("through")});
  auto polled = h.poll_until("a", 1);
  REQUIRE(polled.edge(0) == "x");
  auto patched = h.process("x", std::vector<rte_mbuf*>{polled.packet(0)});
  REQUIRE(patched.edge(0) == "b");
  // The kit hands the packet on, as the graph would.
  auto sent = h.process("b", std::vector<rte_mbuf*>{patched.packet(0)});
  CHECK(sent.edge(0) == "consumed");
  auto out = h.poll_until("b", 1);
  REQUIRE(out.size() == 1);
  CHECK(out.bytes(0) == frame("through").bytes());
  CHECK(h.counter("b", "tx_packets") == 1);
}

TEST_CASE("xconnect tables start-up refuses", "[xconnect]") {
  auto refused = [](const std::string& toml) { return oryx::testing::setup_error({"io", "xconnect"}, toml); };
  const std::string ports = "[stage.a]\ntype = \"port\"\ndriver = \"ring\"\n"
                            "[stage.b]\ntype = \"port\"\ndriver = \"ring\"\n";
  CHECK_THAT(refused(ports + "[stage.x]\ntype = \"xconnect\"\nnext = [\"a\"]\n"),
             Catch::Contains("xconnect needs next = [\"port-a\", \"port-b\"], found 1 edge(s)"));
  CHECK_THAT(refused(ports + "[stage.x]\ntype = \"xconnect\"\nnext = [\"a\", \"a\"]\n"),
             Catch::Contains("xconnect ends must be two different ports"));
}
