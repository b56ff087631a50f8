// SPDX-License-Identifier: Apache-2.0
// sockmap_service.hpp - one [service.<name>] of type sockmap: loads the BPF
// programs, attaches them to the configured cgroups and to the sockhash,
// publishes the BPF counters, and takes everything down again on stop.
#pragma once

#include "allow_list.hpp"
#include "bpf_support.hpp"
#include "periodic_task.hpp"

#include <oryx/sdk.hpp>

#include <nlohmann/json.hpp>

#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

struct sockmap_redirect;  // the generated skeleton
struct bpf_link;

namespace oryx::sockmap {

// Indexes into the service's declared counters (sockmap_plugin.cpp).
enum CounterIndex : uint32_t {
  kSocketsTracked = 0,
  kSocketsAdded,
  kSocketsRemoved,
  kSocketsSkipped,
  kInsertFailures,
  kMsgsRedirected,
  kBytesRedirected,
  kMsgsPassed,
  kBytesPassed,
  kBacklogFallbacks,
  kCgroupsAttached,
  kCounterCount
};

class SockmapService {
 public:
  explicit SockmapService(const oryx::sdk::InstanceContext& ctx);
  ~SockmapService();
  void start();
  void stop();
  // Tracked sockets, paired by connection, for GET /api/v1/sockmap.
  nlohmann::ordered_json describe(size_t limit) const;
  const std::string& name() const { return name_; }

  // cgroups attached while it runs (POST and DELETE
  // /api/v1/sockmap/<service>/cgroups): a pod's, by its CNI plugin. They
  // go with the service (bpf_links die with oryxd). Both throw ApiError.
  struct ApiError : std::runtime_error {
    ApiError(int s, const std::string& what) : std::runtime_error(what), status(s) {}
    int status;
  };
  std::string add_cgroup(const std::string& path);
  void remove_cgroup(const std::string& path);

 private:
  void reconcile_leftovers();
  void load_programs();
  void fill_allow_lists();
  void attach();
  void refresh_counters();
  void teardown();

  std::string name_;
  oryx::sdk::Logger log_;
  uint64_t* control_;
  std::vector<std::string> cgroups_;
  std::vector<PortRange> ports_;
  std::vector<Prefix> prefixes_;
  uint32_t max_sockets_;
  uint32_t drain_ms_;
  oryx::bpf::PinDir pins_;

  mutable std::mutex mutex_;  // skel_ against describe() on HTTP threads
  sockmap_redirect* skel_ = nullptr;
  std::vector<bpf_link*> cgroup_links_;
  std::vector<std::string> attached_cgroups_;  // resolved paths, aligned with cgroup_links_
  size_t configured_links_ = 0;                // the first ones: the configuration's
  bool msg_attached_ = false, skb_attached_ = false;

  std::unique_ptr<oryx::bpf::PeriodicTask> stats_;
};

}  // namespace oryx::sockmap
