// SPDX-License-Identifier: Apache-2.0
// bond_test.cpp - the bond stage in-process (test kit) over ring members:
// which member carries traffic in each mode, failover when the active
// member's link goes down, per-flow stickiness of the hash modes, and the
// tables start-up refuses.
#include <oryx/testing.hpp>

#include <catch2/catch.hpp>

#include <rte_ethdev.h>


using oryx::testing::Frame;
using oryx::testing::eventually;
using oryx::testing::Harness;

namespace {

std::string bond_config(const std::string& mode, const std::string& extra = "") {
  return R"(
[stage.bond0]
type = "bond"
member_driver = "null"
members = ["m1", "m2"]
link_monitoring_ms = 10
mode = ")" + mode + "\"\n" + extra + R"(
next = "sink"

[stage.sink]
type = "port"
driver = "null"
)";
}

Frame flow(uint16_t src_port) {
  return Frame()
      .ether("02:00:00:00:00:02", "02:00:00:00:00:01")
      .ipv4("198.18.0.1", "198.18.0.2")
      .udp(src_port, 9)
      .payload("bond");
}

// Packets member `m` of bond0 transmitted, from its ethdev.
uint64_t sent_by(const Harness& h, const std::string& m) {
  uint16_t port = 0;
  REQUIRE(h.has_port("bond0/" + m, &port));
  rte_eth_stats st{};
  REQUIRE(rte_eth_stats_get(port, &st) == 0);
  return st.opackets;
}

// The bond's members become active once the driver's link monitoring has
// seen their links up (within link_monitoring_ms).
void wait_active(const Harness& h, uint64_t members) {
  REQUIRE(eventually([&] { return h.counter("bond0", "active_members") == members; }));
}

}  // namespace

TEST_CASE("active-backup sends on the primary and fails over when its link goes down",
          "[bond]") {
  Harness h({"io", "bond"}, bond_config("active-backup", "primary = \"m2\""));
  wait_active(h, 2);  // both in the bond; one carries
  auto out = h.process("bond0", std::vector<Frame>(10, flow(1)));
  CHECK(out.count("consumed") == 10);
  CHECK(sent_by(h, "m2") == 10);
  CHECK(sent_by(h, "m1") == 0);
  CHECK(h.counter("bond0", "tx_packets") == 10);
  // The bond receives from its active member only (null devices
  // receive endless blank frames) and hands what it got on.
  auto got = h.poll("bond0", 4);
  CHECK(got.count("sink") == 4);
  CHECK(h.counter("bond0", "rx_packets") == 4);

  uint16_t m2 = 0;
  REQUIRE(h.has_port("bond0/m2", &m2));
  // A stopped null device reports its link down (it has no link_down).
  REQUIRE(rte_eth_dev_stop(m2) == 0);
  // The monitor thread counts, logs and updates the gauge in turn.
  auto logged = [&] {
    for (const auto& line : h.log())
      if (line.message.find("traffic moved from m2 to m1") != std::string::npos) return true;
    return false;
  };
  REQUIRE(eventually([&] {
    return h.counter("bond0", "failovers") == 1 && h.counter("bond0", "active_members") == 1 &&
           logged();
  }));
  CHECK(h.counter("bond0", "member_link_changes") >= 1);
  h.process("bond0", std::vector<Frame>(4, flow(1)));
  CHECK(sent_by(h, "m1") == 4);
  CHECK(sent_by(h, "m2") == 10);
}

TEST_CASE("round-robin alternates members", "[bond]") {
  Harness h({"io", "bond"}, bond_config("round-robin"));
  wait_active(h, 2);
  h.process("bond0", std::vector<Frame>(10, flow(1)));
  CHECK(sent_by(h, "m1") == 5);
  CHECK(sent_by(h, "m2") == 5);
}

TEST_CASE("balance-xor keeps a flow on one member and spreads flows", "[bond]") {
  Harness h({"io", "bond"}, bond_config("balance-xor", "xmit_hash_policy = \"layer3+4\""));
  wait_active(h, 2);
  h.process("bond0", std::vector<Frame>(8, flow(1000)));
  uint64_t m1 = sent_by(h, "m1"), m2 = sent_by(h, "m2");
  CHECK(((m1 == 8 && m2 == 0) || (m1 == 0 && m2 == 8)));
  std::vector<Frame> flows;
  for (uint16_t p = 0; p < 64; p++) flows.push_back(flow(uint16_t(2000 + p)));
  h.process("bond0", flows);
  CHECK(sent_by(h, "m1") + sent_by(h, "m2") == 72);
  CHECK(sent_by(h, "m1") > m1);  // both members got some of the 64 flows
  CHECK(sent_by(h, "m2") > m2);
}

TEST_CASE("bond tables start-up refuses", "[bond]") {
  auto refused = [](const std::string& toml) { return oryx::testing::setup_error({"io", "bond"}, toml); };
  const std::string head = "[stage.b]\ntype = \"bond\"\nmember_driver = \"null\"\n";
  CHECK_THAT(refused(head + "members = [\"m1\", \"m1\"]\n"),
             Catch::Contains("member 'm1' is listed twice"));
  CHECK_THAT(refused(head + "members = [\"m1\"]\nprimary = \"m9\"\n"),
             Catch::Contains("primary 'm9' is not one of the members"));
  CHECK_THAT(refused(head + "members = [\"m1\"]\nmac = \"02:00\"\n"),
             Catch::Contains("mac: \"02:00\" is not a MAC address"));
  CHECK_THAT(refused(head + "members = []\n"), Catch::Contains("stage.b.members"));
}
