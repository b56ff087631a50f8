// SPDX-License-Identifier: Apache-2.0
// steer_test.cpp - the steer stage in-process (test kit): frames from the
// uplink go where a rule names their destination port, the rest to the
// default, ARP replies to every application as well; frames from an
// application leave by the uplink; the tables start-up refuses.
#include <oryx/testing.hpp>

#include <catch2/catch.hpp>

using oryx::testing::Frame;
using oryx::testing::Harness;

namespace {

constexpr const char* kShared = R"(
[stage.up]
type = "port"
driver = "ring"
next = "s"

[stage.redis]
type = "port"
driver = "ring"
next = "s"

[stage.nginx]
type = "port"
driver = "ring"
next = "s"

[stage.s]
type = "steer"
uplink = "up"
next = ["up", "redis", "nginx"]
rules = ["tcp 6379 redis", "tcp 80 nginx", "any 40000-40999 nginx"]
default = "redis"
)";

Frame tcp_to(uint16_t port) {
  return Frame().ether().ipv4("198.18.0.1", "198.18.0.2", 6).tcp(51000, port, 0x02);
}

Frame arp_reply() {
  auto bytes = Frame().ether("ff:ff:ff:ff:ff:ff", "02:00:00:00:00:01", 0x0806)
                   .arp_request("02:00:00:00:00:01", "198.18.0.1", "198.18.0.2")
                   .bytes();
  bytes[14 + 7] = 2;  // the opcode: a reply
  return Frame(bytes);
}

}  // namespace

TEST_CASE("steer sends each destination port to its application", "[steer]") {
  Harness h({"io", "steer"}, kShared);
  uint16_t up = 0, redis = 0;
  REQUIRE(h.has_port("up", &up));
  REQUIRE(h.has_port("redis", &redis));
  auto out = h.process("s",
                       {tcp_to(6379), tcp_to(80), tcp_to(40500),
                        Frame().ether().ipv4("198.18.0.1", "198.18.0.2").udp(5000, 40999),
                        tcp_to(22), Frame().ether().ipv4("198.18.0.1", "198.18.0.2", 1)},
                       up);
  CHECK(out.edge(0) == "redis");
  CHECK(out.edge(1) == "nginx");
  CHECK(out.edge(2) == "nginx");  // the range nginx connects from
  CHECK(out.edge(3) == "nginx");  // "any": UDP too
  CHECK(out.edge(4) == "redis");  // no rule: the default
  CHECK(out.edge(5) == "redis");  // ICMP: the default answers for the address
  CHECK(h.counter("s", "by_rule") == 4);
  CHECK(h.counter("s", "to_default") == 2);
  // Whatever an application sends leaves by the uplink.
  auto back = h.process("s", {tcp_to(51000)}, redis);
  CHECK(back.edge(0) == "up");
  CHECK(h.counter("s", "to_uplink") == 1);
}

TEST_CASE("steer copies ARP replies to every application", "[steer]") {
  Harness h({"io", "steer"}, kShared);
  uint16_t up = 0;
  REQUIRE(h.has_port("up", &up));
  auto out = h.process("s", {arp_reply()}, up);
  CHECK(out.edge(0) == "redis");
  auto copies = h.poll("s");
  REQUIRE(copies.size() == 1);
  CHECK(copies.edge(0) == "nginx");
  CHECK(copies.bytes(0) == arp_reply().bytes());
  CHECK(h.counter("s", "copies") == 1);
  // A request is the default's alone.
  auto request = h.process("s", {Frame().ether("ff:ff:ff:ff:ff:ff", "02:00:00:00:00:01", 0x0806)
                                     .arp_request("02:00:00:00:00:01", "198.18.0.1", "198.18.0.2")},
                           up);
  CHECK(request.edge(0) == "redis");
  CHECK(h.poll("s").size() == 0);
}

TEST_CASE("steer without a default drops and counts what no rule names", "[steer]") {
  std::string toml = kShared;
  toml.replace(toml.find("default = \"redis\""), std::string("default = \"redis\"").size(), "");
  Harness h({"io", "steer"}, toml);
  uint16_t up = 0;
  REQUIRE(h.has_port("up", &up));
  auto out = h.process("s", {tcp_to(22)}, up);
  CHECK(out.edge(0) == "drop");
  CHECK(h.counter("s", "drop_no_rule") == 1);
}

TEST_CASE("steer spreads a port's flows over several links, each flow on one", "[steer]") {
  std::string toml = kShared;
  toml.replace(toml.find("\"tcp 80 nginx\""), std::string("\"tcp 80 nginx\"").size(),
               "\"tcp 80 redis|nginx\"");
  Harness h({"io", "steer"}, toml);
  uint16_t up = 0;
  REQUIRE(h.has_port("up", &up));
  auto from = [](uint16_t sport) {
    return Frame().ether().ipv4("198.18.0.1", "198.18.0.2", 6).tcp(sport, 80, 0x10);
  };
  std::vector<Frame> flows, again;
  for (uint16_t sport = 30000; sport < 30200; sport++) flows.push_back(from(sport));
  auto first = h.process("s", flows, up);
  auto second = h.process("s", flows, up);
  CHECK(first.count("redis") >= 60);
  CHECK(first.count("nginx") >= 60);
  CHECK(first.count("redis") + first.count("nginx") == 200);
  for (size_t i = 0; i < flows.size(); i++) CHECK(first.edge(i) == second.edge(i));
}

TEST_CASE("steer tables start-up refuses", "[steer]") {
  auto refused = [](const std::string& stage) {
    const std::string ports =
        "[stage.up]\ntype = \"port\"\ndriver = \"ring\"\n[stage.a]\ntype = \"port\"\ndriver = \"ring\"\n"
        "[stage.b]\ntype = \"port\"\ndriver = \"ring\"\n";
    return oryx::testing::setup_error({"io", "steer"}, ports + "[stage.s]\ntype = \"steer\"\n" + stage);
  };
  CHECK_THAT(refused("next = [\"up\", \"a\"]\n"), Catch::Contains("uplink: name the port"));
  CHECK_THAT(refused("uplink = \"up\"\nnext = [\"up\"]\n"), Catch::Contains("at least one application"));
  CHECK_THAT(refused("uplink = \"up\"\nnext = [\"up\", \"a\"]\nrules = [\"tcp 80\"]\n"),
             Catch::Contains("expected \"tcp|udp|any PORT[-PORT] EDGE[|EDGE...]\""));
  CHECK_THAT(refused("uplink = \"up\"\nnext = [\"up\", \"a\"]\nrules = [\"sctp 80 a\"]\n"),
             Catch::Contains("protocol \"sctp\""));
  CHECK_THAT(refused("uplink = \"up\"\nnext = [\"up\", \"a\"]\nrules = [\"tcp 90-80 a\"]\n"),
             Catch::Contains("ends before it starts"));
  CHECK_THAT(refused("uplink = \"up\"\nnext = [\"up\", \"a\"]\nrules = [\"tcp 80 c\"]\n"),
             Catch::Contains("not an application port"));
  CHECK_THAT(refused("uplink = \"up\"\nnext = [\"up\", \"a\", \"b\"]\nrules = [\"tcp 80 a\", \"any 70-90 b\"]\n"),
             Catch::Contains("tcp port 80 has rules for two edges"));
  CHECK_THAT(refused("uplink = \"up\"\nnext = [\"up\", \"a\"]\nrules = [\"tcp 80 a||b\"]\n"),
             Catch::Contains("an empty edge name"));
  CHECK_THAT(refused("uplink = \"up\"\nnext = [\"up\", \"a\"]\nrules = [\"tcp 80 a|up\"]\n"),
             Catch::Contains("names \"up\", which is not an application port"));
  CHECK_THAT(refused("uplink = \"up\"\nnext = [\"up\", \"a\"]\ndefault = \"up\"\n"),
             Catch::Contains("default: expected an application port"));
}
