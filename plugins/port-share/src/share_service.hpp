// SPDX-License-Identifier: Apache-2.0
// share_service.hpp - one [service.<name>] of type port_share: owns the
// uplink (the TC program on its ingress), gives each attaching application
// a veth pair with the uplink's MAC and installs the ports it claims, and
// reclaims all of it when the application's attach connection closes.
#pragma once

#include "attach_server.hpp"
#include "periodic_task.hpp"

#include <oryx/sdk.hpp>

#include <nlohmann/json.hpp>

#include <array>
#include <chrono>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

struct share_datapath;  // the generated skeleton

namespace oryx::share {

// Indexes into the service's declared counters (share_plugin.cpp).
enum CounterIndex : uint32_t {
  kAppsAttached = 0,
  kAttaches,
  kReclaims,
  kRefused,
  kUplinkFrames,
  kByRule,
  kByFlow,
  kToDefault,
  kCopies,
  kFromApps,
  kFlowsLearned,
  kDropped,
  kDropNoApp,
  kDropMalformed,
  kDropFlowTaken,
  kDropCopy,
  kCounterCount
};

class ShareService {
 public:
  explicit ShareService(const oryx::sdk::InstanceContext& ctx);
  ~ShareService();
  void start();
  void stop();
  const std::string& name() const { return name_; }
  // The uplink, the attached applications and their counters, the last
  // reclamations, for GET /api/v1/share.
  nlohmann::ordered_json describe() const;

 private:
  struct Rule {
    bool tcp, udp;
    uint16_t first, last;
    std::string text;
  };
  struct App {
    bool used = false;
    std::string name;
    pid_t pid = 0;
    uid_t uid = 0;
    int fd = -1;  // its attach connection
    std::string host_if, app_if;
    uint32_t host_ifindex = 0;
    std::vector<Rule> rules;
    bool is_default = false;
    int group = -1;  // index into groups_
    std::chrono::system_clock::time_point since;
  };
  // Applications that claim ports together ("group" in the request: the
  // worker processes of one server); an application alone has a group of
  // its own, named after it.
  struct Group {
    bool used = false;
    std::string name;  // "" for an application alone
    std::vector<uint32_t> members;
    std::vector<Rule> rules;  // every port its members claimed
  };
  struct Reclaim {
    std::string name;
    pid_t pid;
    std::string interface;
    size_t rules, flows;
    double took_ms;
    std::chrono::system_clock::time_point at;
  };

  nlohmann::json attach(const Peer& peer, const nlohmann::json& request);
  void reclaim(const Peer& peer);
  void set_ports(const std::vector<Rule>& rules, uint32_t owner);
  void write_group(uint32_t group);
  std::string holders(uint32_t group) const;
  size_t forget_flows(uint32_t slot);
  void write_config();
  void refresh_counters();
  void teardown();
  std::string alias() const;
  nlohmann::ordered_json app_json(uint32_t slot, const App& app) const;

  std::string name_;
  oryx::sdk::Logger log_;
  uint64_t* control_;
  std::string uplink_;
  std::string socket_path_;
  std::string file_prefix_;
  uint32_t flows_;
  uint32_t uplink_ifindex_ = 0;
  bool uplink_peer_ = false;
  bool created_qdisc_ = false;
  std::string uplink_mac_;
  unsigned uplink_mtu_ = 1500;

  mutable std::mutex mutex_;  // apps_ and the maps against the HTTP threads
  share_datapath* skel_ = nullptr;
  std::array<App, 64> apps_;
  std::array<Group, 64> groups_;
  std::vector<uint32_t> port_owner_;  // the map's contents, checked before claiming
  std::deque<Reclaim> reclaims_;      // the last ones, newest first
  uint64_t attaches_ = 0, reclaimed_ = 0, refused_ = 0;
  std::unique_ptr<AttachServer> server_;
  std::unique_ptr<oryx::bpf::PeriodicTask> counters_task_;
};

}  // namespace oryx::share
