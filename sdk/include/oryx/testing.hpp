// SPDX-License-Identifier: Apache-2.0
// testing.hpp - the plugin test kit: a plugin's stages run in the test's
// own process, with no root, no hugepages and no oryxd.
//
// A Harness loads plugins (the built .so files, through the kernel's own
// loader and ABI checks), reads an appliance.toml snippet with the
// kernel's own validation (errors name the line and key), creates every
// [stage.*] and [service.*] instance against an in-memory host, starts
// them, and then lets the test hand packets to one stage and see where
// each went:
//
//   oryx::testing::Harness h({"vlan"}, R"(
//     [stage.trunk]
//     type = "vlan_demux"
//     next = ["v100"]
//     [stage.v100]
//     type = "vlan"
//     vid = 100
//   )");
//   auto out = h.process("trunk", {Frame().ether().vlan(100).ipv4(...).udp(1, 2)});
//   CHECK(out.edge(0) == "v100");
//   CHECK(h.counter("trunk", "tagged") == 1);
//
// Packets are real mbufs from a real mempool, in a DPDK EAL started once
// per process in memory (--no-huge --no-shconf --no-pci): stages that
// create vdev ports (ring, null) work too. The host is the one piece that
// is not oryxd's: a single worker (0), no graph; taps attached by a
// plugin run around process() and poll() as the graph would run them.
// One Harness exists at a time (the host table has no context pointer).
#pragma once

#include <oryx/abi.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

struct rte_mbuf;
struct rte_mempool;

namespace oryx::testing {

// A configuration the kernel would refuse, or a stage that failed to be
// created or started: what() is the message oryxd would print.
class SetupError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Builds one frame's bytes, outermost header first. Lengths and IPv4,
// UDP and TCP checksums are filled in by bytes(); corrupt them afterwards
// for hostile inputs.
class Frame {
 public:
  Frame() = default;
  explicit Frame(std::vector<uint8_t> raw) : raw_(std::move(raw)) {}

  Frame& ether(std::string_view dst = "02:00:00:00:00:02", std::string_view src = "02:00:00:00:00:01",
               uint16_t type = 0x0800);
  // An 802.1Q tag (TPID 0x8100) before the type ether() wrote.
  Frame& vlan(uint16_t vid, uint8_t priority = 0);
  Frame& ipv4(std::string_view src, std::string_view dst, uint8_t protocol = 17, uint8_t ttl = 64);
  // Fragment fields of the last ipv4(): offset in bytes (a multiple of 8).
  Frame& fragment(uint16_t offset_bytes, bool more_fragments, uint16_t id = 1);
  Frame& udp(uint16_t src_port, uint16_t dst_port);
  Frame& tcp(uint16_t src_port, uint16_t dst_port, uint8_t flags, uint32_t seq = 1,
             uint32_t ack = 0, uint16_t window = 65535);
  Frame& arp_request(std::string_view sender_mac, std::string_view sender_ip,
                     std::string_view target_ip);
  Frame& payload(std::string_view data);
  Frame& payload(const std::vector<uint8_t>& data);

  // The finished frame.
  std::vector<uint8_t> bytes() const;

 private:
  struct Layer {
    enum Kind { kRaw, kEther, kVlan, kIpv4, kUdp, kTcp } kind;
    size_t offset;
  };
  std::vector<uint8_t> raw_;
  std::vector<Layer> layers_;
};

// What a stage did with a burst. Packets it passed on stay valid (and
// owned by the Result) until the Result is destroyed; dropped ones were
// freed as the kernel frees them; consumed ones are the stage's.
class Result {
 public:
  Result() = default;
  Result(Result&&) noexcept;
  Result& operator=(Result&&) noexcept;
  Result(const Result&) = delete;
  Result& operator=(const Result&) = delete;
  ~Result();

  size_t size() const { return edges_.size(); }
  // The edge of packet i by name: the target stage, "drop" or "consumed";
  // "invalid" for an edge number the stage does not have (a bug: the
  // kernel turns it into a drop).
  const std::string& edge(size_t i) const { return edges_.at(i); }
  // How many packets took the edge named `name`.
  size_t count(std::string_view name) const;
  // Packet i, if it was passed on (nullptr otherwise).
  rte_mbuf* packet(size_t i) const { return packets_.at(i); }
  // Bytes of packet i (all segments), if it was passed on.
  std::vector<uint8_t> bytes(size_t i) const;

 private:
  friend class Harness;
  void release();
  std::vector<std::string> edges_;
  std::vector<rte_mbuf*> packets_;
};

// One line a plugin logged.
struct LogLine {
  std::string logger;  // "<plugin>" or "<plugin>.<instance>"
  int level;           // enum oryx_log_level
  std::string message;
};

// A REST answer from a plugin's route.
struct Reply {
  int status;
  std::string body;
  std::string file;  // set when the route answered with a file
};

// "a:b:c" -> {"a", "b", "c"}, empty parts left out.
inline std::vector<std::string> split_path(std::string_view path) {
  std::vector<std::string> out;
  while (!path.empty()) {
    size_t colon = path.find(':');
    if (colon != 0) out.emplace_back(path.substr(0, colon));
    if (colon == std::string_view::npos) break;
    path.remove_prefix(colon + 1);
  }
  return out;
}

struct HarnessOptions {
  // Directories searched for plugins: by default those the build put them
  // in (ORYX_TEST_PLUGIN_PATH, ':'-separated, set by
  // oryx_add_plugin_test()). The environment's ORYX_TEST_PLUGIN_PATH is
  // searched after these.
#ifdef ORYX_TEST_PLUGIN_PATH
  std::vector<std::string> plugin_dirs = split_path(ORYX_TEST_PLUGIN_PATH);
#else
  std::vector<std::string> plugin_dirs;
#endif
  // Mbufs in the kit's pool (data room RTE_MBUF_DEFAULT_BUF_SIZE).
  unsigned mbufs = 4095;
  uint32_t burst = 32;
  // Start every instance in the constructor (false: call start()).
  bool start = true;
};

class Harness {
 public:
  // Loads `plugins` (names, as in [plugins] load), validates `toml` as an
  // appliance.toml and creates its instances. Throws SetupError.
  Harness(std::vector<std::string> plugins, std::string_view toml, HarnessOptions options = {});
  ~Harness();  // stop, destroy, finalise the plugins
  Harness(const Harness&) = delete;
  Harness& operator=(const Harness&) = delete;

  // Runs every instance's start() and worker_init(0), in file order.
  void start();

  // Hands frames to `stage`'s process(). received_port sets mbuf->port
  // (the ethdev a frame came in on).
  Result process(std::string_view stage, const std::vector<Frame>& frames,
                 uint16_t received_port = 0);
  // Hands mbufs (from pool()) to `stage`'s process(); the Result owns them.
  Result process(std::string_view stage, std::vector<rte_mbuf*> packets);
  // Calls `stage`'s poll() once with room for `capacity` packets.
  Result poll(std::string_view stage, uint16_t capacity = 32);
  // Polls until `want` packets came or `timeout_ms` passed; for sources fed
  // by something asynchronous (a ring, a timer).
  Result poll_until(std::string_view stage, size_t want, int timeout_ms = 2000);

  // A counter of `stage` ("packets" and "drops" are the kernel's own).
  uint64_t counter(std::string_view stage, std::string_view name) const;
  // Every counter of `stage` by name.
  std::map<std::string, uint64_t> counters(std::string_view stage) const;

  // An mbuf holding `frame`, from the kit's pool.
  rte_mbuf* mbuf(const Frame& frame, uint16_t port = 0);
  rte_mempool* pool() const;
  // Mbufs currently taken from the pool (leak checks).
  unsigned mbufs_in_use() const;

  // What stages registered with the host.
  bool has_port(std::string_view name, uint16_t* port_id = nullptr) const;
  const void* service(std::string_view name, uint32_t version) const;
  // Calls the plugin route serving `path` ("/api/v1/<name>..."[?query]).
  Reply request(std::string_view method, std::string_view path, std::string_view body = "");
  // Log lines of plugins and instances, oldest first (a copy: plugins'
  // own threads, a bond's monitor say, log meanwhile).
  std::vector<LogLine> log() const;
  // How often a stage called worker_kick().
  uint64_t kicks() const;

  // The kit's own state (harness_state.hpp).
  struct State;
  struct StageSlot;

 private:
  StageSlot& slot(std::string_view stage);
  const StageSlot& slot(std::string_view stage) const;
  void teardown();
  Result finish(StageSlot& s, std::vector<rte_mbuf*> pkts, std::vector<uint16_t> next);
  std::unique_ptr<State> state_;
};

// What start-up says of `toml` (the SetupError's message, as oryxd would
// print it), or "accepted" when every instance comes up: for the tables a
// stage must refuse.
inline std::string setup_error(std::vector<std::string> plugins, std::string_view toml,
                               HarnessOptions options = {}) {
  try {
    Harness h(std::move(plugins), toml, std::move(options));
  } catch (const SetupError& e) {
    return e.what();
  }
  return "accepted";
}

// Whether `pred` holds within `timeout_ms`, asked every 5 ms: for effects
// a plugin's own threads (a monitor, a periodic refresh) bring about.
template <typename Pred>
bool eventually(Pred pred, int timeout_ms = 3000) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (!pred()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return true;
}

}  // namespace oryx::testing
