// SPDX-License-Identifier: Apache-2.0
// pdump_test.cpp - captures in-process (test kit): the REST API starts a
// capture on a ring port's points, the kit's taps run around the port as
// the graph runs them, and the pcapng file (read back with libpcap) holds
// exactly the packets that passed the filter; a full ring drops copies,
// counted, never traffic; bad requests get their status.
#include <oryx/testing.hpp>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <pcap/pcap.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <thread>

using oryx::testing::Frame;
using oryx::testing::Harness;
using nlohmann::json;

namespace {

// A capture directory of the test's own, removed at the end.
struct TempDir {
  std::string path;
  TempDir() {
    char tmpl[] = "/tmp/oryx-pdump-test-XXXXXX";
    path = mkdtemp(tmpl);
  }
  ~TempDir() { std::filesystem::remove_all(path); }
};

std::string config(const std::string& dir) {
  return "[capture]\ndir = \"" + dir + "\"\nring_size = 64\n" + R"(
[stage.loop]
type = "port"
driver = "ring"
next = "sink"

[stage.sink]
type = "port"
driver = "null"
)";
}

Frame udp_to(uint16_t port, const std::string& text) {
  return Frame().ether().ipv4("198.18.0.1", "198.18.0.2").udp(4000, port).payload(text);
}

json get(Harness& h, const std::string& path) {
  auto r = h.request("GET", path);
  REQUIRE(r.status == 200);
  return json::parse(r.body);
}

// Packets of a pcapng file, as bytes.
std::vector<std::vector<uint8_t>> read_pcap(const std::string& path) {
  char err[PCAP_ERRBUF_SIZE];
  pcap_t* p = pcap_open_offline(path.c_str(), err);
  REQUIRE(p != nullptr);
  std::vector<std::vector<uint8_t>> out;
  pcap_pkthdr* hdr;
  const u_char* data;
  while (pcap_next_ex(p, &hdr, &data) == 1) out.emplace_back(data, data + hdr->caplen);
  pcap_close(p);
  return out;
}

}  // namespace

TEST_CASE("a filtered capture on a port's transmit side writes exactly what passed", "[pdump]") {
  TempDir dir;
  Harness h({"io", "pdump"}, config(dir.path));
  auto started = h.request("POST", "/api/v1/captures",
                           R"({"points": ["loop.tx"], "filter": "udp port 53", "name": "dns"})");
  REQUIRE(started.status == 201);
  uint64_t id = json::parse(started.body)["id"];

  std::vector<Frame> frames = {udp_to(53, "q1"), udp_to(80, "web"), udp_to(53, "q2"),
                               udp_to(53, "q3"), udp_to(123, "ntp")};
  auto sent = h.process("loop", frames);
  CHECK(sent.count("consumed") == 5);  // capture never takes traffic

  REQUIRE(h.request("POST", "/api/v1/captures/" + std::to_string(id) + "/stop").status == 200);
  json c = get(h, "/api/v1/captures/" + std::to_string(id));
  CHECK(c["state"] == "finished");
  CHECK(c["stop_reason"] == "requested");
  CHECK(c["counters"]["seen"] == 5);
  CHECK(c["counters"]["filtered_out"] == 2);
  CHECK(c["counters"]["written_packets"] == 3);

  auto file = h.request("GET", "/api/v1/captures/" + std::to_string(id) + "/file");
  REQUIRE(file.status == 200);
  auto packets = read_pcap(file.file);
  REQUIRE(packets.size() == 3);
  CHECK(packets[0] == udp_to(53, "q1").bytes());
  CHECK(packets[1] == udp_to(53, "q2").bytes());
  CHECK(packets[2] == udp_to(53, "q3").bytes());
}

TEST_CASE("a capture whose ring is full drops copies, counted, and never traffic", "[pdump]") {
  TempDir dir;
  Harness h({"io", "pdump"}, config(dir.path));
  REQUIRE(h.request("POST", "/api/v1/captures", R"({"points": ["loop.tx"]})").status == 201);
  // One burst of 200 with room for at most 64 copies: the tap copies what
  // fits and counts the rest.
  auto sent = h.process("loop", std::vector<Frame>(200, udp_to(9, "x")));
  CHECK(sent.count("consumed") == 200);
  REQUIRE(h.request("POST", "/api/v1/captures/1/stop").status == 200);
  json n = get(h, "/api/v1/captures/1")["counters"];
  CHECK(n["seen"] == 200);
  CHECK(n["queued"].get<uint64_t>() <= 64);
  CHECK(n["dropped_ring_full"].get<uint64_t>() == 200 - n["queued"].get<uint64_t>());
  CHECK(n["written_packets"] == n["queued"]);
}

TEST_CASE("the receive side of a port is a capture point too", "[pdump]") {
  TempDir dir;
  Harness h({"io", "pdump"}, config(dir.path));
  json points = get(h, "/api/v1/captures/points")["points"];
  std::vector<std::string> names;
  for (const auto& p : points) names.push_back(p["point"]);
  CHECK_THAT(names, Catch::VectorContains(std::string("loop.rx")));
  CHECK_THAT(names, Catch::VectorContains(std::string("loop.tx")));
  REQUIRE(h.request("POST", "/api/v1/captures", R"({"points": ["loop.rx"], "max_packets": 2})")
              .status == 201);
  h.process("loop", std::vector<Frame>(3, udp_to(9, "rx")));
  auto got = h.poll_until("loop", 3);
  CHECK(got.size() == 3);
  // The packet limit stops the capture by itself.
  bool finished = false;
  for (int i = 0; i < 200 && !finished; i++) {
    finished = get(h, "/api/v1/captures/1")["state"] == "finished";
    if (!finished) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  json c = get(h, "/api/v1/captures/1");
  CHECK(c["stop_reason"] == "packet limit");
  CHECK(c["counters"]["written_packets"] == 2);
}

TEST_CASE("capture requests that cannot be served get their status", "[pdump]") {
  TempDir dir;
  Harness h({"io", "pdump"}, config(dir.path));
  auto bad_filter = h.request("POST", "/api/v1/captures",
                              R"({"points": ["loop.tx"], "filter": "udp port banana"})");
  CHECK(bad_filter.status == 400);
  CHECK(h.request("POST", "/api/v1/captures", R"({"points": ["nowhere.rx"]})").status == 400);
  CHECK(h.request("POST", "/api/v1/captures", R"({"points": ["loop.tx"], "snaplen": 1})")
            .status == 400);
  REQUIRE(h.request("POST", "/api/v1/captures", R"({"points": ["loop.tx"]})").status == 201);
  CHECK(h.request("POST", "/api/v1/captures", R"({"points": ["loop.tx"]})").status == 409);
  CHECK(h.request("GET", "/api/v1/captures/1/file").status == 409);  // still running
  CHECK(h.request("GET", "/api/v1/captures/99").status == 404);
}
