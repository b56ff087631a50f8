// SPDX-License-Identifier: Apache-2.0
// sockmap_service.cpp - the BPF side's life cycle: leftovers of a killed
// oryxd, load, allow-lists, attach, counters, drain and detach.
#include "sockmap_service.hpp"

#include <linux/types.h>

#include "sockmap_redirect.skel.h"
#include "sockmap_shared.h"

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <fstream>
#include <set>
#include <thread>

namespace oryx::sockmap {
using oryx::sdk::Error;

namespace {

constexpr const char* kSockMapName = "oryx_socks";
constexpr auto kStatsPeriod = std::chrono::milliseconds(250);

std::string endpoint(int family, const __u32 ip[4], uint16_t port) {
  char text[INET6_ADDRSTRLEN] = "?";
  inet_ntop(family == 4 ? AF_INET : AF_INET6, ip, text, sizeof(text));
  return family == 4 ? std::string(text) + ":" + std::to_string(port)
                     : "[" + std::string(text) + "]:" + std::to_string(port);
}

oryx_sock_key swapped(const oryx_sock_key& k) {
  oryx_sock_key p{};
  p.family = k.family;
  std::memcpy(p.local_ip, k.remote_ip, sizeof(p.local_ip));
  std::memcpy(p.remote_ip, k.local_ip, sizeof(p.remote_ip));
  p.local_port = k.remote_port;
  p.remote_port = k.local_port;
  return p;
}

std::string bytes_of(const oryx_sock_key& k) {
  return std::string(reinterpret_cast<const char*>(&k), sizeof(k));
}

}  // namespace

SockmapService::SockmapService(const oryx::sdk::InstanceContext& ctx)
    : name_(ctx.name),
      log_(ctx.log),
      control_(ctx.control_counters),
      cgroups_(ctx.config.get_string_list("cgroups")),
      ports_(parse_ports(ctx.config.get_string_list("ports"))),
      prefixes_(parse_prefixes(ctx.config.get_string_list("addresses"))),
      max_sockets_(uint32_t(ctx.config.get_int("max_sockets"))),
      drain_ms_(uint32_t(ctx.config.get_int("drain_ms"))),
      pins_(ctx.config.get_string("bpffs"),
            ctx.host.kernel_table("kernel").get_string("file_prefix"),
            ctx.name) {
  if (prefixes_.size() > 256) throw Error("addresses: at most 256 prefixes");
  oryx::bpf::capture_libbpf_messages();
}

SockmapService::~SockmapService() { stop(); }

void SockmapService::start() {
  oryx::bpf::require_prog_type(BPF_PROG_TYPE_SOCK_OPS, "sock_ops", "4.13");
  oryx::bpf::require_prog_type(BPF_PROG_TYPE_SK_MSG, "sk_msg", "4.17");
  oryx::bpf::require_prog_type(BPF_PROG_TYPE_SK_SKB, "sk_skb", "4.14");
  oryx::bpf::require_map_type(BPF_MAP_TYPE_SOCKHASH, "sockhash", "4.18");
  oryx::bpf::ensure_bpffs(pins_.root());
  try {
    reconcile_leftovers();
    load_programs();
    fill_allow_lists();
    attach();
  } catch (...) {
    teardown();
    throw;
  }
  refresh_counters();
  stats_ = std::make_unique<oryx::bpf::PeriodicTask>(kStatsPeriod,
                                                      [this](uint64_t) { refresh_counters(); });
  std::string list;
  for (const auto& c : attached_cgroups_) list += (list.empty() ? "" : ", ") + c;
  log_.info("sockmap redirect on for TCP sockets of ", list, " (", ports_.size(), " port ranges, ",
            prefixes_.size(), " address prefixes; pins in ", pins_.path(), ")");
}

// A killed oryxd leaves its pinned maps (and the programs attached to the
// sockhash) behind; its cgroup links died with it. A compatible sockhash
// is reused so the connections it holds keep their shortcut; anything
// else is removed.
void SockmapService::reconcile_leftovers() {
  if (!pins_.exists()) return;
  int fd = bpf_obj_get(pins_.pin(kSockMapName).c_str());
  bool reuse = false;
  if (fd >= 0) {
    bpf_map_info info{};
    __u32 len = sizeof(info);
    reuse = bpf_obj_get_info_by_fd(fd, &info, &len) == 0 && info.type == BPF_MAP_TYPE_SOCKHASH &&
            info.key_size == sizeof(oryx_sock_key) && info.value_size == sizeof(__u64) &&
            info.max_entries == max_sockets_;
    if (reuse) {
      size_t n = oryx::bpf::map_keys<oryx_sock_key>(fd).size();
      log_.warn("found the sockhash of a previous oryxd in ", pins_.path(), " with ", n,
                " sockets: reusing it");
    }
    ::close(fd);
  }
  if (!reuse) {
    size_t n = pins_.remove();
    log_.warn("removed ", n, " BPF objects a previous oryxd left in ", pins_.path(),
              " (not reusable with this configuration)");
  }
}

void SockmapService::load_programs() {
  pins_.create();
  bpf_object_open_opts opts{};
  opts.sz = sizeof(opts);
  opts.pin_root_path = pins_.path().c_str();
  skel_ = sockmap_redirect__open_opts(&opts);
  if (!skel_) throw Error(oryx::bpf::failure("cannot open the BPF object", errno), ORYX_ERR_IO);
  bpf_map__set_max_entries(skel_->maps.oryx_socks, max_sockets_);
  bpf_map__set_max_entries(skel_->maps.sock_addrs, max_sockets_);
  int rc = sockmap_redirect__load(skel_);
  if (rc != 0) throw Error(oryx::bpf::failure("cannot load the BPF programs", rc), ORYX_ERR_IO);
}

void SockmapService::fill_allow_lists() {
  uint8_t one = 1;
  for (const auto& r : ports_)
    for (uint32_t p = r.first; p <= r.last; p++) {
      bpf_map__update_elem(skel_->maps.allowed_ports, &p, sizeof(p), &one, 1, BPF_ANY);
    }
  for (const auto& p : prefixes_) {
    if (p.family == 4) {
      oryx_sm_v4_prefix k{p.length, 0};
      std::memcpy(&k.addr, p.addr, 4);
      bpf_map__update_elem(skel_->maps.allowed_v4, &k, sizeof(k), &one, 1, BPF_ANY);
    } else {
      oryx_sm_v6_prefix k{p.length, {}};
      std::memcpy(k.addr, p.addr, 16);
      bpf_map__update_elem(skel_->maps.allowed_v6, &k, sizeof(k), &one, 1, BPF_ANY);
    }
  }
  // tcp_rmem: "min default max"; the maximum bounds a peer's queue.
  std::ifstream rmem("/proc/sys/net/ipv4/tcp_rmem");
  uint64_t lo = 0, def = 0, max = 0;
  if (rmem >> lo >> def >> max && max > 0 && max <= UINT32_MAX) skel_->data->rcvbuf_auto_max = uint32_t(max);
  skel_->bss->flags = ORYX_SM_REDIRECT | (ports_.empty() ? 0 : ORYX_SM_PORT_LIST) |
                      (prefixes_.empty() ? 0 : ORYX_SM_ADDR_LIST);
}

void SockmapService::attach() {
  // The sockhash's programs first: a socket takes them when it is inserted.
  int map = bpf_map__fd(skel_->maps.oryx_socks);
  if (bpf_prog_attach(bpf_program__fd(skel_->progs.oryx_msg_redirect), map, BPF_SK_MSG_VERDICT,
                      0) != 0)
    throw Error(oryx::bpf::failure("cannot attach the sk_msg program to the sockhash", -errno),
                ORYX_ERR_IO);
  msg_attached_ = true;
  if (bpf_prog_attach(bpf_program__fd(skel_->progs.oryx_skb_pass), map, BPF_SK_SKB_VERDICT, 0) !=
      0)
    throw Error(oryx::bpf::failure("cannot attach the sk_skb verdict to the sockhash", -errno),
                ORYX_ERR_IO);
  skb_attached_ = true;
  // bpf_links: the kernel detaches them when this process ends, however.
  for (const auto& c : cgroups_) {
    std::string path;
    int cg = oryx::bpf::open_cgroup2(c, &path);
    bpf_link* link = bpf_program__attach_cgroup(skel_->progs.oryx_sockops, cg);
    int err = errno;
    ::close(cg);
    if (!link) throw Error(oryx::bpf::failure("cannot attach sockops to " + path, -err), ORYX_ERR_IO);
    cgroup_links_.push_back(link);
    attached_cgroups_.push_back(path);
  }
  configured_links_ = cgroup_links_.size();
}

std::string SockmapService::add_cgroup(const std::string& path) {
  std::lock_guard lock(mutex_);
  if (!skel_ || !(skel_->bss->flags & ORYX_SM_REDIRECT))
    throw ApiError(409, "sockmap service " + name_ + " is not redirecting");
  std::string resolved;
  int cg;
  try {
    cg = oryx::bpf::open_cgroup2(path, &resolved);
  } catch (const std::exception& e) {
    throw ApiError(404, e.what());
  }
  for (const auto& c : attached_cgroups_)
    if (c == resolved) {
      ::close(cg);
      throw ApiError(409, resolved + " is attached already");
    }
  bpf_link* link = bpf_program__attach_cgroup(skel_->progs.oryx_sockops, cg);
  int err = errno;
  ::close(cg);
  if (!link) throw ApiError(500, oryx::bpf::failure("cannot attach sockops to " + resolved, -err));
  cgroup_links_.push_back(link);
  attached_cgroups_.push_back(resolved);
  log_.info("cgroup ", resolved, " attached through the API");
  return resolved;
}

void SockmapService::remove_cgroup(const std::string& path) {
  std::lock_guard lock(mutex_);
  // By name: a pod's cgroup may be gone already (removed with the pod).
  const std::string resolved = oryx::bpf::cgroup2_path(path);
  for (size_t i = 0; i < attached_cgroups_.size(); i++) {
    if (attached_cgroups_[i] != resolved) continue;
    if (i < configured_links_)
      throw ApiError(409, attached_cgroups_[i] + " is configured (cgroups of [service." + name_ +
                              "]): remove it from the configuration instead");
    bpf_link__destroy(cgroup_links_[i]);
    cgroup_links_.erase(cgroup_links_.begin() + long(i));
    log_.info("cgroup ", attached_cgroups_[i], " detached through the API");
    attached_cgroups_.erase(attached_cgroups_.begin() + long(i));
    return;
  }
  throw ApiError(404, path + " is not a cgroup of sockmap service " + name_);
}

void SockmapService::refresh_counters() {
  std::lock_guard lock(mutex_);
  if (!skel_) return;
  int fd = bpf_map__fd(skel_->maps.oryx_sm_stats);
  uint64_t v[ORYX_SM_COUNTER_MAX];
  for (uint32_t i = 0; i < ORYX_SM_COUNTER_MAX; i++) v[i] = oryx::bpf::percpu_sum(fd, i);
  uint64_t added = v[ORYX_SM_SOCKETS_ADDED], removed = v[ORYX_SM_SOCKETS_REMOVED];
  control_[kSocketsTracked] = added > removed ? added - removed : 0;
  control_[kSocketsAdded] = added;
  control_[kSocketsRemoved] = removed;
  control_[kSocketsSkipped] = v[ORYX_SM_SOCKETS_SKIPPED];
  control_[kInsertFailures] = v[ORYX_SM_INSERT_FAILED];
  control_[kMsgsRedirected] = v[ORYX_SM_MSGS_REDIRECTED];
  control_[kBytesRedirected] = v[ORYX_SM_BYTES_REDIRECTED];
  control_[kMsgsPassed] = v[ORYX_SM_MSGS_PASSED];
  control_[kBytesPassed] = v[ORYX_SM_BYTES_PASSED];
  control_[kBacklogFallbacks] = v[ORYX_SM_BACKLOG_FALLBACKS];
  control_[kCgroupsAttached] = cgroup_links_.size();
}

void SockmapService::stop() {
  stats_.reset();
  if (!skel_) return;
  // Drain: new sends take the normal path at once, new sockets are no
  // longer tracked; readers get drain_ms to take what was already handed
  // to them, because the kernel discards a socket's redirected bytes
  // when the socket leaves the sockhash.
  skel_->bss->flags &= ~ORYX_SM_REDIRECT;
  for (auto* l : cgroup_links_) bpf_link__destroy(l);
  cgroup_links_.clear();
  if (drain_ms_) std::this_thread::sleep_for(std::chrono::milliseconds(drain_ms_));
  refresh_counters();
  uint64_t redirected = control_[kMsgsRedirected];
  teardown();
  log_.info("sockmap redirect off: ", redirected, " sends were redirected; everything detached "
            "and unpinned");
}

void SockmapService::teardown() {
  std::lock_guard lock(mutex_);
  for (auto* l : cgroup_links_) bpf_link__destroy(l);
  cgroup_links_.clear();
  attached_cgroups_.clear();
  if (skel_) {
    int map = bpf_map__fd(skel_->maps.oryx_socks);
    if (msg_attached_)
      bpf_prog_detach2(bpf_program__fd(skel_->progs.oryx_msg_redirect), map, BPF_SK_MSG_VERDICT);
    if (skb_attached_)
      bpf_prog_detach2(bpf_program__fd(skel_->progs.oryx_skb_pass), map, BPF_SK_SKB_VERDICT);
    msg_attached_ = skb_attached_ = false;
    sockmap_redirect__destroy(skel_);
    skel_ = nullptr;
  }
  pins_.remove();
}

nlohmann::ordered_json SockmapService::describe(size_t limit) const {
  std::lock_guard lock(mutex_);
  // In the order oryxctl shows the columns.
  nlohmann::ordered_json j = {{"name", name_}};
  if (!skel_) {
    j["state"] = "stopped";
    j["cgroups"] = attached_cgroups_;
    j["pins"] = pins_.path();
    return j;
  }
  j["state"] = (skel_->bss->flags & ORYX_SM_REDIRECT) ? "redirecting" : "draining";
  bool truncated = false;
  auto keys = oryx::bpf::map_keys<oryx_sock_key>(bpf_map__fd(skel_->maps.oryx_socks), limit, &truncated);
  std::set<std::string> present;
  for (const auto& k : keys) present.insert(bytes_of(k));
  nlohmann::ordered_json pairs = nlohmann::ordered_json::array(), unpaired = nlohmann::ordered_json::array();
  std::set<std::string> listed;
  for (const auto& k : keys) {
    if (listed.count(bytes_of(k))) continue;
    oryx_sock_key peer = swapped(k);
    nlohmann::ordered_json a = endpoint(k.family, k.local_ip, k.local_port);
    nlohmann::ordered_json b = endpoint(k.family, k.remote_ip, k.remote_port);
    if (present.count(bytes_of(peer))) {
      listed.insert(bytes_of(peer));
      pairs.push_back({{"a", a}, {"b", b}, {"family", k.family == 4 ? "ipv4" : "ipv6"}});
    } else {
      unpaired.push_back({{"local", a}, {"remote", b}, {"family", k.family == 4 ? "ipv4" : "ipv6"}});
    }
  }
  j["sockets"] = keys.size();
  j["cgroups"] = attached_cgroups_;
  j["pins"] = pins_.path();
  j["truncated"] = truncated;
  j["pairs"] = pairs;
  j["unpaired"] = unpaired;
  return j;
}

}  // namespace oryx::sockmap
