// SPDX-License-Identifier: Apache-2.0
// vlan_test.cpp - the vlan_demux and vlan stages in-process (test kit):
// routing by VID, untagged and priority-tagged frames, runts, tagging on
// the way down, and the configurations start-up refuses.
#include <oryx/testing.hpp>

#include <catch2/catch.hpp>

#include <rte_mbuf.h>

using oryx::testing::Frame;
using oryx::testing::Harness;
using oryx::testing::SetupError;

namespace {

// A trunk port (an in-memory ring) carrying VIDs 100 and 200 and untagged
// frames; null ports stand for the stages above.
constexpr const char* kTrunk = R"(
[stage.trunk]
type = "port"
driver = "ring"
next = "demux"

[stage.demux]
type = "vlan_demux"
native = "native"
next = ["v100", "v200", "native"]

[stage.v100]
type = "vlan"
vid = 100
priority = 5
next = ["trunk", "up"]

[stage.v200]
type = "vlan"
vid = 200
next = ["trunk"]

[stage.native]
type = "port"
driver = "null"

[stage.up]
type = "port"
driver = "null"
)";

Frame udp_frame() {
  return Frame().ether().ipv4("198.18.0.1", "198.18.0.2").udp(1000, 2000).payload("hello");
}

Frame tagged(uint16_t vid, uint8_t priority = 0) {
  return Frame()
      .ether()
      .vlan(vid, priority)
      .ipv4("198.18.0.1", "198.18.0.2")
      .udp(1000, 2000)
      .payload("hello");
}

}  // namespace

TEST_CASE("vlan_demux hands each tagged frame to its VID's sub-interface", "[vlan]") {
  Harness h({"io", "vlan"}, kTrunk);
  auto out = h.process("demux", {tagged(100), tagged(200), tagged(100), tagged(300)});
  CHECK(out.edge(0) == "v100");
  CHECK(out.edge(1) == "v200");
  CHECK(out.edge(2) == "v100");
  CHECK(out.edge(3) == "drop");
  // The tag is gone from the frame and kept in the mbuf, as a port's
  // vlan_strip offload leaves it.
  CHECK(out.bytes(0) == udp_frame().bytes());
  CHECK((out.packet(0)->vlan_tci & 0x0FFF) == 100);
  CHECK((out.packet(0)->ol_flags & RTE_MBUF_F_RX_VLAN_STRIPPED) != 0);
  CHECK(h.counter("demux", "tagged") == 3);
  CHECK(h.counter("demux", "unknown_vid") == 1);
  CHECK(h.counter("demux", "drops") == 1);
  CHECK(h.counter("demux", "packets") == 4);
}

TEST_CASE("vlan_demux: untagged and VID 0 frames go to the native stage", "[vlan]") {
  Harness h({"io", "vlan"}, kTrunk);
  auto out = h.process("demux", {udp_frame(), tagged(0, 3)});
  CHECK(out.edge(0) == "native");
  CHECK(out.edge(1) == "native");
  CHECK(out.bytes(0) == udp_frame().bytes());
  CHECK(out.bytes(1) == udp_frame().bytes());
  CHECK(h.counter("demux", "untagged") == 2);
}

TEST_CASE("vlan_demux without a native stage drops untagged frames, counted", "[vlan]") {
  Harness h({"io", "vlan"}, R"(
[stage.trunk]
type = "port"
driver = "ring"
next = "demux"
[stage.demux]
type = "vlan_demux"
next = ["v100"]
[stage.v100]
type = "vlan"
vid = 100
next = ["trunk"]
)");
  auto out = h.process("demux", {udp_frame(), tagged(100)});
  CHECK(out.edge(0) == "drop");
  CHECK(out.edge(1) == "v100");
  CHECK(h.counter("demux", "untagged_dropped") == 1);
}

TEST_CASE("vlan_demux drops runts: frames shorter than their headers", "[vlan]") {
  Harness h({"io", "vlan"}, kTrunk);
  auto full = tagged(100).bytes();
  std::vector<Frame> runts = {
      Frame(std::vector<uint8_t>(full.begin(), full.begin() + 13)),  // not even Ethernet
      Frame(std::vector<uint8_t>(full.begin(), full.begin() + 15)),  // half a tag
      Frame(std::vector<uint8_t>(full.begin(), full.begin() + 17)),  // tag, no inner type
  };
  auto out = h.process("demux", runts);
  for (size_t i = 0; i < out.size(); i++) CHECK(out.edge(i) == "drop");
  CHECK(h.counter("demux", "malformed") == 3);
  CHECK(h.counter("demux", "tagged") == 0);
  CHECK(h.mbufs_in_use() == 0);  // dropped frames went back to the pool
}

TEST_CASE("vlan_demux trusts a tag the port already stripped", "[vlan]") {
  Harness h({"io", "vlan"}, kTrunk);
  rte_mbuf* m = h.mbuf(udp_frame());
  m->ol_flags |= RTE_MBUF_F_RX_VLAN | RTE_MBUF_F_RX_VLAN_STRIPPED;
  m->vlan_tci = 200;
  auto out = h.process("demux", std::vector<rte_mbuf*>{m});
  CHECK(out.edge(0) == "v200");
  CHECK(h.counter("demux", "hardware_stripped") == 1);
}

TEST_CASE("a vlan sub-interface passes its frames up and tags what comes down", "[vlan]") {
  Harness h({"io", "vlan"}, kTrunk);
  auto up = h.process("demux", {tagged(100)});
  REQUIRE(up.edge(0) == "v100");
  // From the trunk (stripped): up, untagged, with its flags cleared.
  auto from_trunk = h.process("v100", std::vector<rte_mbuf*>{up.packet(0)});
  CHECK(from_trunk.edge(0) == "up");
  CHECK(from_trunk.bytes(0) == udp_frame().bytes());
  CHECK((from_trunk.packet(0)->ol_flags & RTE_MBUF_F_RX_VLAN_STRIPPED) == 0);
  // From above: tagged in software (the ring port has no vlan_insert)
  // with this sub-interface's VID and priority.
  auto down = h.process("v100", {udp_frame()});
  CHECK(down.edge(0) == "trunk");
  CHECK(down.bytes(0) == tagged(100, 5).bytes());
  CHECK(h.counter("v100", "rx_packets") == 1);
  CHECK(h.counter("v100", "tx_packets") == 1);
  CHECK(h.counter("v100", "tx_bytes") == udp_frame().bytes().size());
  // The sub-interface is a port of kind vlan on the parent's device.
  uint16_t trunk = 0, v100 = 1;
  REQUIRE(h.has_port("trunk", &trunk));
  REQUIRE(h.has_port("v100", &v100));
  CHECK(trunk == v100);
}

TEST_CASE("a vlan sub-interface without an upper stage drops what it receives", "[vlan]") {
  Harness h({"io", "vlan"}, kTrunk);
  auto up = h.process("demux", {tagged(200)});
  REQUIRE(up.edge(0) == "v200");
  auto out = h.process("v200", std::vector<rte_mbuf*>{up.packet(0)});
  CHECK(out.edge(0) == "drop");
  CHECK(h.counter("v200", "rx_no_upper") == 1);
}

TEST_CASE("vlan configurations start-up refuses", "[vlan]") {
  // The schema: a VID out of range, named by line and key.
  std::string bad_vid = kTrunk;
  bad_vid.replace(bad_vid.find("vid = 200"), 9, "vid = 4095");
  // One error for the key, not a second "missing required key".
  CHECK_THROWS_WITH(Harness({"io", "vlan"}, bad_vid),
                    Catch::Equals("test.toml:20: stage.v200.vid: expected integer in 1..4094, "
                                  "found 4095"));
  // A native stage that is not an edge.
  CHECK_THROWS_WITH(Harness({"io", "vlan"}, R"(
[stage.trunk]
type = "port"
driver = "ring"
next = "demux"
[stage.demux]
type = "vlan_demux"
native = "elsewhere"
next = ["v100"]
[stage.v100]
type = "vlan"
vid = 100
next = ["trunk"]
)"),
                    Catch::Contains("native = \"elsewhere\" is not one of this stage's next edges"));
  // Two sub-interfaces with one VID.
  std::string twice = kTrunk;
  twice.replace(twice.find("vid = 200"), 9, "vid = 100");
  CHECK_THROWS_WITH(Harness({"io", "vlan"}, twice),
                    Catch::Contains("VID 100 is served by both \"v100\" and \"v200\""));
}
