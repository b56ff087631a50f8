// SPDX-License-Identifier: Apache-2.0
// port_test.cpp - the io plugin's port stage in-process (test kit), on
// DPDK's ring and null devices: what it sends comes back intact and
// counted, a full transmit queue is counted, a port without a next edge
// counts what it must drop, software RSS hashes and delivers every frame,
// and the tables start-up refuses.
#include <oryx/testing.hpp>

#include <catch2/catch.hpp>

#include <oryx/rss.hpp>
#include <rte_mbuf.h>

#include <chrono>
#include <set>
#include <string>
#include <thread>
#include <unistd.h>

using oryx::testing::Frame;
using oryx::testing::Harness;

namespace {

// A ring port: what it transmits comes back on its receive side.
constexpr const char* kLoop = R"(
[stage.loop]
type = "port"
driver = "ring"
next = "sink"

[stage.sink]
type = "port"
driver = "null"
)";

Frame numbered(int i) {
  return Frame()
      .ether()
      .ipv4("198.18.0.1", "198.18.0.2")
      .udp(uint16_t(1000 + i), 2000)
      .payload("packet " + std::to_string(i));
}

}  // namespace

TEST_CASE("a ring port sends, receives back intact and counts both ways", "[io]") {
  Harness h({"io"}, kLoop);
  uint16_t loop_id = 0;
  REQUIRE(h.has_port("loop", &loop_id));
  std::vector<Frame> frames;
  size_t bytes = 0;
  for (int i = 0; i < 5; i++) {
    frames.push_back(numbered(i));
    bytes += numbered(i).bytes().size();
  }
  auto sent = h.process("loop", frames);
  CHECK(sent.count("consumed") == 5);
  CHECK(h.counter("loop", "tx_packets") == 5);
  CHECK(h.counter("loop", "tx_bytes") == bytes);

  auto got = h.poll_until("loop", 5);
  REQUIRE(got.size() == 5);
  for (size_t i = 0; i < got.size(); i++) {
    CHECK(got.edge(i) == "sink");
    CHECK(got.bytes(i) == numbered(int(i)).bytes());
    CHECK(got.packet(i)->port == loop_id);  // the ring driver leaves it unset
  }
  CHECK(h.counter("loop", "rx_packets") == 5);
  CHECK(h.counter("loop", "rx_bytes") == bytes);
  CHECK(h.counter("loop", "packets") == 10);  // 5 handed to it, 5 polled
}

TEST_CASE("a full transmit queue drops the rest of the burst, counted", "[io]") {
  Harness h({"io"}, kLoop);
  // net_ring's rings hold 1023 packets; nobody polls this one.
  std::vector<Frame> frames(1100, numbered(0));
  auto sent = h.process("loop", frames);
  CHECK(sent.count("consumed") == 1023);
  CHECK(sent.count("drop") == 77);
  CHECK(h.counter("loop", "tx_full") == 77);
  CHECK(h.counter("loop", "drops") == 77);
  CHECK(h.counter("loop", "tx_packets") == 1023);
}

TEST_CASE("a port without a next edge drops what it receives, counted", "[io]") {
  Harness h({"io"}, R"(
[stage.lonely]
type = "port"
driver = "ring"
)");
  h.process("lonely", {numbered(1), numbered(2)});
  auto got = h.poll_until("lonely", 2);
  REQUIRE(got.size() == 2);
  CHECK(got.count("drop") == 2);
  CHECK(h.counter("lonely", "rx_no_route") == 2);
  CHECK(h.mbufs_in_use() == 0);
}

TEST_CASE("a null port produces packets of packet_size", "[io]") {
  Harness h({"io"}, R"(
[stage.gen]
type = "port"
driver = "null"
packet_size = 128
next = "sink"
[stage.sink]
type = "port"
driver = "null"
)");
  auto got = h.poll("gen", 8);
  REQUIRE(got.size() == 8);
  for (size_t i = 0; i < got.size(); i++) {
    CHECK(got.edge(i) == "sink");
    CHECK(got.bytes(i).size() == 128);
  }
}

TEST_CASE("port tables start-up refuses, by line and key", "[io]") {
  auto refused = [](const std::string& table) {
    return oryx::testing::setup_error({"io"}, "[stage.p]\ntype = \"port\"\n" + table);
  };
  CHECK(refused("driver = \"af_xdp\"\n") ==
        "test.toml:1: stage.p.iface: driver af_xdp needs the kernel interface to use (or attach)");
  CHECK(refused("driver = \"memif\"\nattach = \"/run/oryx/share-s.sock\"\n") ==
        "test.toml:4: stage.p.attach: only an af_xdp port attaches to a port share");
  CHECK(refused("driver = \"af_xdp\"\niface = \"eth9\"\nattach = \"/run/oryx/share-s.sock\"\n") ==
        "test.toml:4: stage.p.iface: a port that attaches to a port share gets its interface from oryxd");
  CHECK(refused("driver = \"ring\"\nsoft_rss_queues = 1\n") ==
        "test.toml:4: stage.p.soft_rss_queues: one queue needs no spreading (0 turns it off)");
  CHECK(refused("driver = \"ring\"\nrx_queues = 2\nsoft_rss_queues = 2\n") ==
        "test.toml:5: stage.p.soft_rss_queues: the device is read through one queue (rx_queues = 1)");
  CHECK(refused("driver = \"af_xdp\"\niface = \"eth9\"\nattach_rules = [\"tcp 80\"]\n") ==
        "test.toml:5: stage.p.attach_rules: only with attach");
  // Attaching to a share nobody serves: the error says where and why.
  CHECK_THAT(refused("driver = \"af_xdp\"\nattach = \"/nonexistent/share.sock\"\n"),
             Catch::Contains("attach: port share at /nonexistent/share.sock: No such file or directory"));
  CHECK(refused("driver = \"pci\"\naddress = \"03:00\"\n") ==
        "test.toml:4: stage.p.address: expected a PCI address like 0000:03:00.0, found "
        "\"03:00\"");
  CHECK(refused("driver = \"memif\"\nsocket = \"/run/a,b\"\n") ==
        "test.toml:4: stage.p.socket: a memif socket name cannot hold ',' or '='");
  CHECK(refused("driver = \"memif\"\nrole = \"server\"\nmemif_ids = 4\n") ==
        "test.toml:5: stage.p.memif_ids: only a memif client chooses among several ids");
  CHECK(refused("driver = \"carrier-pigeon\"\n") ==
        "test.toml:3: stage.p.driver: expected one of \"af_xdp\", \"af_packet\", \"tap\", "
        "\"memif\", \"ring\", \"null\", \"pci\", found \"carrier-pigeon\"");
}

// A memif client and its server in one process, rings of `desc`
// descriptors; how many of 3,000 frames the client's ring takes while
// nobody reads it.
size_t memif_ring_takes(int desc) {
  const std::string sock = "/tmp/oryx-port-test-" + std::to_string(getpid()) + ".sock";
  const std::string sizes = "rx_desc = " + std::to_string(desc) + "\ntx_desc = " + std::to_string(desc) + "\n";
  Harness h({"io"}, "[stage.srv]\ntype = \"port\"\ndriver = \"memif\"\nrole = \"server\"\nsocket = \"" + sock +
                        "\"\nsocket_abstract = false\n" + sizes +
                        "[stage.cli]\ntype = \"port\"\ndriver = \"memif\"\nrole = \"client\"\nsocket = \"" + sock +
                        "\"\nsocket_abstract = false\n" + sizes);
  h.start();
  // The client connects through EAL's interrupt thread; its link comes up
  // when the rings are mapped (the port stage watches it from poll()).
  auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (h.counter("cli", "link_up_events") == 0 && std::chrono::steady_clock::now() < until) {
    h.poll("cli");
    h.poll("srv");
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  REQUIRE(h.counter("cli", "link_up_events") == 1);
  std::vector<Frame> frames(3000, numbered(0));
  return h.process("cli", frames).count("consumed");
}

TEST_CASE("a memif port's rings are as long as rx_desc and tx_desc say", "[io][memif]") {
  // DPDK's memif driver ignores the queues' descriptor counts (its rings
  // would stay at 1,024): the port passes them as its ring size.
  CHECK(memif_ring_takes(1024) == 1024);
  CHECK(memif_ring_takes(2048) == 2048);
}

TEST_CASE("software RSS hashes each frame as a NIC would and delivers every one", "[io]") {
  Harness h({"io"}, R"(
[stage.loop]
type = "port"
driver = "ring"
soft_rss_queues = 3
next = "sink"

[stage.sink]
type = "port"
driver = "null"
)");
  std::vector<Frame> frames;
  for (int i = 0; i < 60; i++) frames.push_back(numbered(i));
  frames.push_back(Frame().ether("ff:ff:ff:ff:ff:ff", "02:00:00:00:00:01", 0x0806)
                       .arp_request("02:00:00:00:00:01", "198.18.0.1", "198.18.0.2"));
  CHECK(h.process("loop", frames).count("consumed") == 61);
  auto got = h.poll_until("loop", 61);
  REQUIRE(got.size() == 61);
  const uint8_t src[4] = {198, 18, 0, 1}, dst[4] = {198, 18, 0, 2};
  std::multiset<std::vector<uint8_t>> want, seen;
  size_t hashed = 0;
  for (size_t i = 0; i < got.size(); i++) {
    seen.insert(got.bytes(i));
    want.insert(frames[i].bytes());
    CHECK(got.edge(i) == "sink");
    const rte_mbuf* m = got.packet(i);
    const uint8_t* f = rte_pktmbuf_mtod(m, const uint8_t*);
    if (f[12] != 0x08 || f[13] != 0x00) {  // not IP (the ARP request): queue 0, no hash
      CHECK(!(m->ol_flags & RTE_MBUF_F_RX_RSS_HASH));
    } else {  // IPv4/UDP: the flow's Toeplitz hash, flagged as a NIC flags it
      REQUIRE(m->ol_flags & RTE_MBUF_F_RX_RSS_HASH);
      uint16_t sport = uint16_t(f[34] << 8 | f[35]), dport = uint16_t(f[36] << 8 | f[37]);
      CHECK(m->hash.rss == oryx::rss::flow_hash(src, dst, 4, sport, dport));
      hashed++;
    }
  }
  CHECK(hashed == 60);
  CHECK(seen == want);  // every frame, intact (in queue order, not send order)
  CHECK(h.counter("loop", "soft_rss_spread") == 61);
  CHECK(h.counter("loop", "soft_rss_ring_full") == 0);
  CHECK(h.counter("loop", "rx_packets") == 61);
}
