// SPDX-License-Identifier: Apache-2.0
// bridge_service_test.cpp - the ebpf_bridge service in-process (test kit;
// needs root and BPF) over two veth pairs of the test's own: a frame sent
// into one port is flooded to the other intact, its source is learned in
// the forwarding table, a frame back to it is forwarded (not flooded),
// the REST routes answer, and bad tables are refused.
#include <oryx/testing.hpp>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <arpa/inet.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

using nlohmann::json;
using oryx::testing::Frame;
using oryx::testing::Harness;

namespace {

// Two veth pairs, host ends h1 and h2 (the bridge's ports) and peer ends
// p1 and p2 (where the test sends and listens); deleted at the end.
struct VethPairs {
  std::string tag = "kb" + std::to_string(getpid());
  std::string h1 = tag + "h1", p1 = tag + "p1", h2 = tag + "h2", p2 = tag + "p2";
  VethPairs() {
    for (const auto& [h, p] : {std::pair{h1, p1}, std::pair{h2, p2}}) {
      std::string cmd = "ip link add " + h + " type veth peer name " + p + " && ip link set " + h +
                        " up && ip link set " + p + " up";
      REQUIRE(std::system(cmd.c_str()) == 0);
    }
  }
  ~VethPairs() {
    std::system(("ip link del " + h1 + " 2>/dev/null; ip link del " + h2 + " 2>/dev/null").c_str());
  }
};

// A raw socket on one interface.
struct RawSocket {
  int fd;
  explicit RawSocket(const std::string& ifname) {
    fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(ETH_P_ALL));
    REQUIRE(fd >= 0);
    sockaddr_ll a{};
    a.sll_family = AF_PACKET;
    a.sll_protocol = htons(ETH_P_ALL);
    a.sll_ifindex = int(if_nametoindex(ifname.c_str()));
    REQUIRE(bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0);
  }
  ~RawSocket() { close(fd); }
  void send(const std::vector<uint8_t>& frame) {
    REQUIRE(::send(fd, frame.data(), frame.size(), 0) == ssize_t(frame.size()));
  }
  // The first frame whose bytes equal `want` within 2 s.
  bool receive(const std::vector<uint8_t>& want) {
    for (int i = 0; i < 200; i++) {
      pollfd p{fd, POLLIN, 0};
      if (poll(&p, 1, 10) <= 0) continue;
      uint8_t buf[2048];
      ssize_t n = recv(fd, buf, sizeof(buf), 0);
      if (n == ssize_t(want.size()) && std::equal(want.begin(), want.end(), buf)) return true;
    }
    return false;
  }
};

std::string config(const VethPairs& v, const std::string& attach) {
  return "[kernel]\nfile_prefix = \"kit-" + std::to_string(getpid()) + "\"\n" +
         "[service.br]\ntype = \"ebpf_bridge\"\nattach = \"" + attach + "\"\n" +
         "interfaces = [\"" + v.h1 + "\", \"" + v.h2 + "\"]\n";
}

json port_counters(Harness& h, const std::string& port) {
  auto r = h.request("GET", "/api/v1/bridge");
  REQUIRE(r.status == 200);
  json body = json::parse(r.body);
  for (const auto& p : body["bridges"][0]["ports"])
    if (p["name"] == port) return p["counters"];
  FAIL("no port " << port << " in " << r.body);
  return {};
}

}  // namespace

TEST_CASE("the eBPF bridge floods, learns and forwards between its ports",
          "[ebpf-bridge][needs-root]") {
  VethPairs v;
  RawSocket s1(v.p1), s2(v.p2);
  Harness h({"ebpf-bridge"}, config(v, "tc"));
  auto r = h.request("GET", "/api/v1/bridge");
  REQUIRE(r.status == 200);
  json ports = json::parse(r.body)["bridges"][0]["ports"];
  REQUIRE(ports.size() == 2);
  CHECK(ports[0]["hook"] == "tc");

  // A broadcast from a station behind p1: flooded to p2, source learned.
  auto hello = Frame()
                   .ether("ff:ff:ff:ff:ff:ff", "02:00:00:00:0a:01", 0x88b5)
                   .payload("who is out there?")
                   .bytes();
  s1.send(hello);
  CHECK(s2.receive(hello));
  CHECK(port_counters(h, v.h1)["flooded"] >= 1);
  json fdb = json::parse(h.request("GET", "/api/v1/bridge/fdb").body)["entries"];
  bool learned = false;
  for (const auto& e : fdb) learned |= e["mac"] == "02:00:00:00:0a:01" && e["port"] == v.h1;
  CHECK(learned);

  // The answer to that station goes to its port alone.
  auto answer = Frame()
                    .ether("02:00:00:00:0a:01", "02:00:00:00:0b:02", 0x88b5)
                    .payload("here")
                    .bytes();
  s2.send(answer);
  CHECK(s1.receive(answer));
  CHECK(port_counters(h, v.h2)["forwarded"] >= 1);

  CHECK(h.request("GET", "/api/v1/bridge/nothing").status == 404);
  CHECK(h.request("POST", "/api/v1/bridge").status == 405);
}

TEST_CASE("ebpf_bridge tables start-up refuses", "[ebpf-bridge]") {
  auto refused = [](const std::string& toml) { return oryx::testing::setup_error({"ebpf-bridge"}, toml); };
  CHECK_THAT(refused("[service.br]\ntype = \"ebpf_bridge\"\ninterfaces = [\"lo\", \"lo\"]\n"),
             Catch::Contains("interfaces: \"lo\" is listed twice"));
  CHECK_THAT(refused("[service.br]\ntype = \"ebpf_bridge\"\nattach = \"ebpf\"\n"
                     "interfaces = [\"lo\"]\n"),
             Catch::StartsWith("test.toml:3: service.br.attach: expected one of"));
}
