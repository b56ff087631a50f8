// SPDX-License-Identifier: Apache-2.0
// bridge_service.hpp - one [service.<name>] of type ebpf_bridge: loads the
// data path, attaches it to every port, follows the ports' link state,
// ages the forwarding table, publishes counters, and detaches on stop.
#pragma once

#include "attachment.hpp"
#include "bpf_support.hpp"
#include "fdb.hpp"
#include "periodic_task.hpp"

#include <oryx/sdk.hpp>

#include <nlohmann/json.hpp>

#include <array>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

struct bridge_datapath;  // the generated skeleton
struct bpf_link;

namespace oryx::bridge {

// Indexes into the service's declared counters (bridge_plugin.cpp).
enum CounterIndex : uint32_t {
  kPortsUp = 0,
  kFdbEntries,
  kFramesIn,
  kBytesIn,
  kForwarded,
  kFlooded,
  kDropped,
  kDroppedMalformed,
  kDroppedSamePort,
  kDroppedPortDown,
  kDroppedXmit,
  kLearned,
  kMoved,
  kAged,
  kPortEvents,
  kCounterCount
};

class BridgeService {
 public:
  explicit BridgeService(const oryx::sdk::InstanceContext& ctx);
  ~BridgeService();
  void start();
  void stop();
  // Ports with their counters, for GET /api/v1/bridge.
  nlohmann::ordered_json describe() const;
  // Forwarding-table entries (at most `limit`), for GET /api/v1/bridge/fdb.
  void list_fdb(nlohmann::ordered_json& entries, size_t limit, bool* truncated) const;
  const std::string& name() const { return name_; }

  // Ports added and removed while the bridge runs (POST and DELETE
  // /api/v1/bridge/<service>/ports): a pod's veth, by its CNI plugin. An
  // added port is remembered in the pinned ports map, so an oryxd that
  // takes over after a crash or restart keeps bridging it. Both throw
  // Error with an HTTP-like code in `status`.
  struct ApiError : std::runtime_error {
    ApiError(int s, const std::string& what) : std::runtime_error(what), status(s) {}
    int status;
  };
  // `redirect`: "auto" (into a veth's peer when it is in another
  // namespace) or "egress" (always out of the interface).
  nlohmann::ordered_json add_port(const std::string& interface, const std::string& redirect = "auto");
  void remove_port(const std::string& interface);

 private:
  struct Port {
    std::string name;
    uint32_t slot = 0;
    uint32_t ifindex = 0;  // 0 while no interface has the name
    Hook hook = Hook::xdp;
    std::string driver;
    bool peer = false;  // TC: redirect into the veth peer's namespace
    bool up = false;
    bool created_qdisc = false;
    bool attached = false;  // by this instance: only then detached on stop
    bool added = false;     // through the REST API, not the configuration
    // TC: send out of the interface (through the veth's transmit, which
    // an XDP program on its peer sees) even when its peer is in another
    // namespace: a pod whose own stack takes its frames by AF_XDP.
    bool egress_only = false;
  };

  void check_kernel() const;
  void resolve_port(Port& port);
  void resolve_ports();
  uint32_t free_slot() const;
  void reset_slot_counters(uint32_t slot);
  nlohmann::ordered_json port_json(const Port& port, int stats_fd) const;
  std::map<uint32_t, uint32_t> reconcile_leftovers();
  void load();
  void attach_port(Port& port, std::optional<uint32_t> leftover_flags);
  void detach_port(Port& port);
  void publish_port(const Port& port);
  void withdraw_port(const Port& port);
  size_t forget_stations(uint32_t ifindex);
  size_t forget_stations_where(const std::function<bool(const Station&)>& doomed);
  void follow_links();
  size_t age_stations();
  void refresh_counters();
  void teardown();

  std::string name_;
  oryx::sdk::Logger log_;
  uint64_t* control_;
  std::string attach_mode_;  // auto, xdp, tc
  bool generic_xdp_;
  uint64_t ageing_ns_;
  uint32_t fdb_size_;
  oryx::bpf::PinDir pins_;

  mutable std::mutex mutex_;  // ports_ and skel_ against the HTTP threads
  std::vector<Port> ports_;
  bridge_datapath* skel_ = nullptr;
  bpf_link* xmit_trace_ = nullptr;
  uint64_t aged_ = 0, port_events_ = 0, fdb_entries_ = 0;
  // Counters of ports removed through the API, so that totals never drop.
  std::array<uint64_t, ORYX_BR_COUNTER_MAX> retired_{};

  std::unique_ptr<oryx::bpf::PeriodicTask> housekeeping_;
};

}  // namespace oryx::bridge
