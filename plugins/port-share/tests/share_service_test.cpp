// SPDX-License-Identifier: Apache-2.0
// share_service_test.cpp - the port_share service in-process (test kit;
// needs root and BPF) on a veth pair of the test's own: applications
// attach over the Unix socket (the protocol spoken directly), get links
// with the uplink's MAC, receive what their rules, their flows and the
// default claim, see ARP replies copied, send out by the uplink; a port
// claimed twice is refused with the holder named; closing an attach
// connection reclaims the link, the ports and the flows.
#include <oryx/testing.hpp>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <arpa/inet.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <string>
#include <thread>

using nlohmann::json;
using oryx::testing::Frame;
using oryx::testing::Harness;

namespace {

// The uplink (a veth whose peer the test sends on and listens to),
// deleted at the end.
struct Uplink {
  std::string tag = "ks" + std::to_string(getpid());
  std::string name = tag + "u", peer = tag + "p";
  Uplink() {
    std::string cmd = "ip link add " + name + " type veth peer name " + peer + " && ip link set " +
                      name + " up && ip link set " + peer + " up && sysctl -qw net.ipv6.conf." +
                      name + ".disable_ipv6=1 net.ipv6.conf." + peer + ".disable_ipv6=1";
    REQUIRE(std::system(cmd.c_str()) == 0);
  }
  ~Uplink() { std::system(("ip link del " + name + " 2>/dev/null").c_str()); }
  std::string mac() const {
    std::ifstream in("/sys/class/net/" + name + "/address");
    std::string m;
    std::getline(in, m);
    return m;
  }
};

struct RawSocket {
  int fd;
  explicit RawSocket(const std::string& ifname) {
    fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(ETH_P_ALL));
    REQUIRE(fd >= 0);
    sockaddr_ll a{};
    a.sll_family = AF_PACKET;
    a.sll_protocol = htons(ETH_P_ALL);
    a.sll_ifindex = int(if_nametoindex(ifname.c_str()));
    REQUIRE(a.sll_ifindex != 0);
    REQUIRE(bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0);
  }
  ~RawSocket() { close(fd); }
  void send(const std::vector<uint8_t>& frame) {
    REQUIRE(::send(fd, frame.data(), frame.size(), 0) == ssize_t(frame.size()));
  }
  // Whether a frame equal to `want` arrives within `ms`.
  bool receive(const std::vector<uint8_t>& want, int ms = 1000) {
    auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
    while (std::chrono::steady_clock::now() < until) {
      pollfd p{fd, POLLIN, 0};
      if (poll(&p, 1, 10) <= 0) continue;
      uint8_t buf[2048];
      ssize_t n = recv(fd, buf, sizeof(buf), 0);
      if (n >= ssize_t(want.size()) && std::equal(want.begin(), want.end(), buf)) return true;
    }
    return false;
  }
};

// One attach connection, spoken by hand: the request, the answer.
struct Attachment {
  int fd = -1;
  json answer;
  Attachment(const std::string& socket_path, const json& request) {
    fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    socket_path.copy(a.sun_path, sizeof(a.sun_path) - 1);
    REQUIRE(connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0);
    std::string text = request.dump();
    REQUIRE(::send(fd, text.data(), text.size(), 0) == ssize_t(text.size()));
    char buf[4096];
    pollfd p{fd, POLLIN, 0};
    REQUIRE(poll(&p, 1, 5000) == 1);
    ssize_t n = recv(fd, buf, sizeof(buf), 0);
    REQUIRE(n > 0);
    answer = json::parse(std::string(buf, size_t(n)));
  }
  ~Attachment() { detach(); }
  void detach() {
    if (fd >= 0) close(fd);
    fd = -1;
  }
  std::string interface() const { return answer.value("interface", ""); }
};

bool exists(const std::string& ifname) { return if_nametoindex(ifname.c_str()) != 0; }

template <class Condition>
bool within_ms(int ms, Condition c) {
  auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
  while (!c()) {
    if (std::chrono::steady_clock::now() > until) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return true;
}

}  // namespace

TEST_CASE("port_share steers by port, by flow and to the default, and reclaims",
          "[port-share][needs-root]") {
  Uplink up;
  const std::string sock = "/tmp/oryx-share-kit-" + std::to_string(getpid()) + ".sock";
  Harness h({"port-share"}, "[kernel]\nfile_prefix = \"kit-share-" + std::to_string(getpid()) +
                                "\"\n[service.s]\ntype = \"port_share\"\nuplink = \"" + up.name +
                                "\"\nsocket = \"" + sock + "\"\n");
  h.start();
  RawSocket wire(up.peer);
  const std::string mac = up.mac();

  Attachment a(sock, {{"name", "alpha"}, {"rules", {"tcp 7000", "udp 5000-5001"}}, {"default", true}});
  Attachment b(sock, {{"name", "beta"}, {"rules", {"tcp 8000"}}});
  REQUIRE(a.answer.value("mac", "") == mac);
  REQUIRE(exists(a.interface()));
  REQUIRE(exists(b.interface()));
  {
    std::ifstream in("/sys/class/net/" + a.interface() + "/address");
    std::string got;
    std::getline(in, got);
    CHECK(got == mac);  // the application end carries the uplink's MAC
  }
  RawSocket at_a(a.interface()), at_b(b.interface());

  auto tcp_to = [&](uint16_t dport, uint8_t flags = 0x10) {
    return Frame().ether(mac, "02:00:00:00:00:99").ipv4("198.18.119.1", "198.18.119.2", 6)
        .tcp(40000, dport, flags).bytes();
  };
  auto to_7000 = tcp_to(7000), to_8000 = tcp_to(8000), to_9000 = tcp_to(9000);
  auto udp_5001 = Frame().ether(mac, "02:00:00:00:00:99").ipv4("198.18.119.1", "198.18.119.2")
                      .udp(53, 5001).bytes();
  wire.send(to_7000);
  CHECK(at_a.receive(to_7000));
  wire.send(to_8000);
  CHECK(at_b.receive(to_8000));
  wire.send(udp_5001);
  CHECK(at_a.receive(udp_5001));
  wire.send(to_9000);  // nobody's port: the default application's
  CHECK(at_a.receive(to_9000));

  // An ARP reply goes to both; a request to the default alone.
  auto reply = Frame().ether(mac, "02:00:00:00:00:99", 0x0806)
                   .arp_request("02:00:00:00:00:99", "198.18.119.1", "198.18.119.2").bytes();
  reply[21] = 2;  // opcode: reply
  wire.send(reply);
  CHECK(at_a.receive(reply));
  CHECK(at_b.receive(reply));

  // beta opens a connection: its SYN leaves by the uplink, and the answer
  // comes back to beta by the flow it recorded.
  auto syn = Frame().ether("02:00:00:00:00:99", mac).ipv4("198.18.119.2", "198.18.119.1", 6)
                 .tcp(41000, 80, 0x02).bytes();
  at_b.send(syn);
  CHECK(wire.receive(syn));
  auto syn_ack = Frame().ether(mac, "02:00:00:00:00:99").ipv4("198.18.119.1", "198.18.119.2", 6)
                     .tcp(80, 41000, 0x12).bytes();
  wire.send(syn_ack);
  CHECK(at_b.receive(syn_ack));
  CHECK(within_ms(1000, [&] { return h.counter("s", "by_flow") >= 1; }));
  CHECK(h.counter("s", "flows_learned") >= 1);
  CHECK(h.counter("s", "by_rule") >= 3);
  CHECK(h.counter("s", "copies") >= 2);

  // Claims that cannot be granted are refused, saying why.
  Attachment c(sock, {{"name", "gamma"}, {"rules", {"tcp 6990-7010"}}});
  CHECK(c.answer.value("error", "") == "tcp port 7000 is claimed by alpha (pid " +
                                          std::to_string(getpid()) + ")");
  Attachment d(sock, {{"name", "delta"}, {"rules", {"tcp 0"}}});
  CHECK_THAT(d.answer.value("error", ""), Catch::Contains("is not a port"));
  Attachment e(sock, {{"name", "epsilon"}, {"default", true}});
  CHECK_THAT(e.answer.value("error", ""), Catch::Contains("the default application is alpha"));
  CHECK(within_ms(1000, [&] { return h.counter("s", "refused") == 3; }));
  // Requests that are not what the protocol says.
  Attachment g(sock, json::array({"tcp 80"}));
  CHECK(g.answer.value("error", "") == "the request is not a JSON object");
  Attachment k(sock, {{"name", "kappa"}, {"rules", "tcp 80"}});
  CHECK_THAT(k.answer.value("error", ""), Catch::StartsWith("rules: expected a list"));
  CHECK(within_ms(1000, [&] { return h.counter("s", "refused") == 5; }));

  // The per-process view.
  json shares = json::parse(h.request("GET", "/api/v1/share").body)["shares"];
  REQUIRE(shares.size() == 1);
  REQUIRE(shares[0]["applications"].size() == 2);
  CHECK(shares[0]["applications"][1]["name"] == "beta");
  CHECK(shares[0]["applications"][1]["pid"] == getpid());
  CHECK(shares[0]["applications"][1]["frames_to_app"] >= 3);   // tcp 8000, the ARP reply, the SYN-ACK
  CHECK(shares[0]["applications"][1]["frames_from_app"] >= 1);  // the SYN

  // beta goes away: within a second its link, its port and its flow are gone.
  std::string b_if = b.interface();
  b.detach();
  CHECK(within_ms(1000, [&] { return !exists(b_if) && h.counter("s", "reclaims") == 1; }));
  shares = json::parse(h.request("GET", "/api/v1/share").body)["shares"];
  CHECK(shares[0]["applications"].size() == 1);
  CHECK(shares[0]["reclaimed"][0]["name"] == "beta");
  CHECK(shares[0]["reclaimed"][0]["flows"] == 1);
  wire.send(to_8000);  // tcp 8000 is nobody's now: the default's
  CHECK(at_a.receive(to_8000));
  // And the port can be claimed again.
  Attachment f(sock, {{"name", "zeta"}, {"rules", {"tcp 8000"}}});
  CHECK(exists(f.interface()));

  CHECK(h.request("GET", "/api/v1/share/nothing").status == 404);
  CHECK(h.request("POST", "/api/v1/share").status == 405);
}

TEST_CASE("port_share tables start-up refuses", "[port-share]") {
  auto refused = [](const std::string& toml) { return oryx::testing::setup_error({"port-share"}, toml); };
  CHECK_THAT(refused("[service.s]\ntype = \"port_share\"\n"), Catch::Contains("uplink"));
  CHECK_THAT(refused("[service.s]\ntype = \"port_share\"\nuplink = \"lo\"\nflows = 10\n"),
             Catch::StartsWith("test.toml:4: service.s.flows:"));
}
