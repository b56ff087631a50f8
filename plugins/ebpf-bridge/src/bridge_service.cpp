// SPDX-License-Identifier: Apache-2.0
// bridge_service.cpp - the bridge's life cycle: kernel checks, leftovers
// of a killed oryxd, load, attach per port, link state, ageing, counters,
// detach.
#include "bridge_service.hpp"

#include <linux/types.h>

#include "bridge_datapath.skel.h"
#include "bridge_shared.h"
#include "interfaces.hpp"

#include <bpf/bpf.h>
#include <net/if.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <fstream>
#include <cstdio>
#include <set>

namespace oryx::bridge {
using oryx::bpf::inspect_interface;
using oryx::bpf::interface_state;
using oryx::bpf::InterfaceFacts;
using oryx::sdk::Error;

namespace {

constexpr auto kStatsPeriod = std::chrono::milliseconds(250);
constexpr int kAgeingEvery = 4;  // stats periods between forwarding-table sweeps
// attach = "auto" on a veth: TC ingress measured faster than XDP there
// (docs/benchmarks.md; XDP on veth converts every skb and loses GRO).
constexpr Hook kAutoHookForVeth = Hook::tc;

uint64_t now_coarse_ns() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);  // what bpf_ktime_get_coarse_ns() reads
  return uint64_t(ts.tv_sec) * 1000000000ull + uint64_t(ts.tv_nsec);
}

bool kernel_at_least(int major, int minor) {
  utsname u{};
  int ma = 0, mi = 0;
  return uname(&u) == 0 && std::sscanf(u.release, "%d.%d", &ma, &mi) == 2 &&
         (ma > major || (ma == major && mi >= minor));
}

std::string mac_text(const __u8 mac[6]) {
  char text[18];
  std::snprintf(text, sizeof(text), "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2],
                mac[3], mac[4], mac[5]);
  return text;
}

bool map_matches(int fd, bpf_map_type type, uint32_t key, uint32_t value, uint32_t entries) {
  bpf_map_info info{};
  __u32 len = sizeof(info);
  return bpf_obj_get_info_by_fd(fd, &info, &len) == 0 && info.type == type &&
         info.key_size == key && info.value_size == value && info.max_entries == entries;
}

using PortCounters = std::array<uint64_t, ORYX_BR_COUNTER_MAX>;

// An interface's alias (IFLA_IFALIAS; a CNI plugin records the pod there),
// "" if none.
std::string interface_alias(const std::string& name) {
  std::ifstream in("/sys/class/net/" + name + "/ifalias");
  std::string alias;
  std::getline(in, alias);
  return alias;
}

// A port's counters summed over CPUs (a per-CPU array of structs).
PortCounters port_counters(int stats_fd, uint32_t slot) {
  PortCounters sum{};
  int cpus = libbpf_num_possible_cpus();
  if (stats_fd < 0 || cpus <= 0) return sum;
  std::vector<oryx_br_port_stats> per_cpu(static_cast<size_t>(cpus));
  if (bpf_map_lookup_elem(stats_fd, &slot, per_cpu.data()) != 0) return sum;
  for (const auto& cpu : per_cpu)
    for (size_t c = 0; c < sum.size(); c++) sum[c] += cpu.c[c];
  return sum;
}

const char* kCounterNames[ORYX_BR_COUNTER_MAX] = {
    "rx_frames",      "rx_bytes",         "forwarded",         "flooded",
    "tx_unicast",     "dropped_malformed", "dropped_same_port", "dropped_port_down",
    "dropped_xmit",   "learned",          "moved"};

}  // namespace

BridgeService::BridgeService(const oryx::sdk::InstanceContext& ctx)
    : name_(ctx.name),
      log_(ctx.log),
      control_(ctx.control_counters),
      attach_mode_(ctx.config.get_string("attach")),
      generic_xdp_(ctx.config.get_string("xdp_mode") == "generic"),
      ageing_ns_(uint64_t(ctx.config.get_int("ageing_s")) * 1000000000ull),
      fdb_size_(uint32_t(ctx.config.get_int("fdb_size"))),
      pins_(ctx.config.get_string("bpffs"),
            ctx.host.kernel_table("kernel").get_string("file_prefix"),
            ctx.name) {
  std::set<std::string> seen;
  for (const auto& name : ctx.config.get_string_list("interfaces")) {
    if (!seen.insert(name).second)
      throw Error("interfaces: \"" + name + "\" is listed twice", ORYX_ERR_INVALID);
    Port port;
    port.name = name;
    port.slot = uint32_t(ports_.size());
    ports_.push_back(port);
  }
  oryx::bpf::capture_libbpf_messages();
}

BridgeService::~BridgeService() { stop(); }

void BridgeService::start() {
  check_kernel();
  oryx::bpf::ensure_bpffs(pins_.root());
  try {
    resolve_ports();
    std::map<uint32_t, uint32_t> leftovers = reconcile_leftovers();
    load();
    std::lock_guard lock(mutex_);
    for (auto& port : ports_) {
      auto it = leftovers.find(port.ifindex);
      attach_port(port, it == leftovers.end() ? std::nullopt : std::optional(it->second));
    }
    bool xdp = bpf_program__fd(skel_->progs.oryx_br_xmit) >= 0;
    xmit_trace_ = xdp ? bpf_program__attach(skel_->progs.oryx_br_xmit) : nullptr;
    if (xdp && !xmit_trace_)
      log_.warn("XDP transmit errors will not be counted: cannot attach to the "
                "xdp_devmap_xmit tracepoint (", oryx::bpf::take_libbpf_messages(), ")");
  } catch (...) {
    teardown();
    throw;
  }
  refresh_counters();
  housekeeping_ = std::make_unique<oryx::bpf::PeriodicTask>(kStatsPeriod, [this](uint64_t tick) {
    follow_links();
    if (tick % kAgeingEvery == 0) age_stations();
    refresh_counters();
  });
  std::string list = ports_.empty() ? "no interface yet (ports come through the REST API)" : "";
  for (const auto& p : ports_)
    list += (list.empty() ? "" : ", ") + p.name + " (" + hook_name(p.hook) +
            (p.hook == Hook::tc && p.peer ? ", into the veth peer" : "") +
            (p.hook == Hook::xdp && generic_xdp_ ? ", generic" : "") + (p.up ? "" : ", down") +
            ")";
  log_.info("bridging ", list, "; stations age out after ", ageing_ns_ / 1000000000ull,
            " s; pins in ", pins_.path());
}

void BridgeService::check_kernel() const {
  oryx::bpf::require_map_type(BPF_MAP_TYPE_LRU_HASH, "LRU hash maps", "4.10");
  oryx::bpf::require_map_type(BPF_MAP_TYPE_DEVMAP_HASH, "DEVMAP_HASH maps", "5.4");
  oryx::bpf::require_prog_type(BPF_PROG_TYPE_XDP, "XDP", "4.8");
  oryx::bpf::require_prog_type(BPF_PROG_TYPE_SCHED_CLS, "TC BPF classifiers", "4.1");
  if (libbpf_probe_bpf_helper(BPF_PROG_TYPE_SCHED_CLS, BPF_FUNC_redirect_peer, nullptr) <= 0)
    throw Error("this kernel lacks bpf_redirect_peer() (Linux >= 5.10)", ORYX_ERR_UNSUPPORTED);
  if (libbpf_probe_bpf_helper(BPF_PROG_TYPE_XDP, BPF_FUNC_ktime_get_coarse_ns, nullptr) <= 0)
    throw Error("this kernel lacks bpf_ktime_get_coarse_ns() (Linux >= 5.11)",
                ORYX_ERR_UNSUPPORTED);
  // No probe exists for a redirect flag: BPF_F_BROADCAST came with 5.13.
  if (!kernel_at_least(5, 13))
    throw Error("this kernel lacks XDP broadcast redirects (BPF_F_BROADCAST, Linux >= 5.13)",
                ORYX_ERR_UNSUPPORTED);
}

// The port's interface as it is now (ifindex 0 when there is none), and
// the hook it gets.
void BridgeService::resolve_port(Port& port) {
  InterfaceFacts facts = inspect_interface(port.name);
  port.ifindex = facts.ifindex;
  port.driver = facts.driver;
  port.up = facts.up;
  port.peer = facts.peer_elsewhere && !port.egress_only;
  if (attach_mode_ == "xdp")
    port.hook = Hook::xdp;
  else if (attach_mode_ == "tc")
    port.hook = Hook::tc;
  else
    port.hook = facts.driver == "veth" ? kAutoHookForVeth : Hook::xdp;
}

void BridgeService::resolve_ports() {
  for (auto& port : ports_) {
    resolve_port(port);
    if (port.ifindex == 0)
      throw Error("interfaces: no interface \"" + port.name + "\" in oryxd's network namespace",
                  ORYX_ERR_INVALID);
  }
}

// The lowest slot (row of the per-port counters and flood list) no port holds.
uint32_t BridgeService::free_slot() const {
  for (uint32_t slot = 0;; slot++) {
    bool taken = false;
    for (const auto& p : ports_) taken |= p.slot == slot;
    if (!taken) return slot;
  }
}

// A slot's counters start from zero for its new port (a removed port's
// were added to retired_ first).
void BridgeService::reset_slot_counters(uint32_t slot) {
  int cpus = libbpf_num_possible_cpus();
  if (cpus <= 0) return;
  std::vector<oryx_br_port_stats> zeros(static_cast<size_t>(cpus));
  bpf_map_update_elem(bpf_map__fd(skel_->maps.oryx_br_stats), &slot, zeros.data(), BPF_ANY);
}

// A killed oryxd leaves its programs attached (the bridge kept forwarding)
// and its maps pinned. Attachments on interfaces no longer configured are
// removed; the rest are replaced by attach_port(). A compatible
// forwarding table is reused. Returns the old ports' flags by ifindex.
std::map<uint32_t, uint32_t> BridgeService::reconcile_leftovers() {
  std::map<uint32_t, uint32_t> old;
  if (!pins_.exists()) return old;
  int ports_fd = bpf_obj_get(pins_.pin("oryx_br_ports").c_str());
  if (ports_fd >= 0) {
    for (uint32_t ifindex : oryx::bpf::map_keys<uint32_t>(ports_fd)) {
      oryx_br_port rec{};
      if (bpf_map_lookup_elem(ports_fd, &ifindex, &rec) == 0) old[ifindex] = rec.flags;
    }
  }
  // Ports a predecessor was given through the API are this bridge's too,
  // while their interface lives (a pod's veth outlives an oryxd restart).
  for (auto [ifindex, flags] : old) {
    char name[IF_NAMESIZE] = {};
    if (!(flags & ORYX_BR_PORT_ADDED) || !if_indextoname(ifindex, name)) continue;
    bool known = false;
    for (const auto& p : ports_) known |= p.name == name;
    if (known || ports_.size() >= ORYX_BR_MAX_PORTS) continue;
    Port port;
    port.name = name;
    port.added = true;
    port.slot = free_slot();
    resolve_port(port);
    // Sent out of the interface by the predecessor though its peer is
    // elsewhere: it was added with redirect "egress".
    port.egress_only = (flags & ORYX_BR_PORT_TC) && !(flags & ORYX_BR_PORT_PEER) && port.peer;
    if (port.egress_only) port.peer = false;
    if (port.ifindex == ifindex) ports_.push_back(port);
  }
  size_t removed = 0;
  for (auto [ifindex, flags] : old) {
    bool configured = false;
    for (const auto& p : ports_) configured |= p.ifindex == ifindex;
    if (configured) continue;
    removed += (flags & ORYX_BR_PORT_TC) ? detach_tc(ifindex, flags & ORYX_BR_PORT_QDISC)
                                         : detach_xdp(ifindex);
  }
  int fdb_fd = bpf_obj_get(pins_.pin("oryx_br_fdb").c_str());
  bool reuse = ports_fd >= 0 && fdb_fd >= 0 &&
               map_matches(ports_fd, BPF_MAP_TYPE_HASH, sizeof(__u32), sizeof(oryx_br_port),
                           ORYX_BR_MAX_PORTS) &&
               map_matches(fdb_fd, BPF_MAP_TYPE_LRU_HASH, sizeof(oryx_br_fdb_key),
                           sizeof(oryx_br_fdb_entry), fdb_size_);
  size_t stations = reuse ? read_stations(fdb_fd).size() : 0;
  if (ports_fd >= 0) ::close(ports_fd);
  if (fdb_fd >= 0) ::close(fdb_fd);
  if (reuse) {
    log_.warn("found the bridge of a previous oryxd in ", pins_.path(), " (", old.size(),
              " ports, ", stations, " stations): reusing its forwarding table, taking over its "
              "attachments, removed ", removed, " on interfaces no longer configured");
  } else {
    size_t n = pins_.remove();
    log_.warn("removed ", n, " BPF objects and ", removed, " attachments a previous oryxd left (",
              pins_.path(), "; not reusable with this configuration)");
  }
  return old;
}

void BridgeService::load() {
  pins_.create();
  bpf_object_open_opts opts{};
  opts.sz = sizeof(opts);
  opts.pin_root_path = pins_.path().c_str();
  skel_ = bridge_datapath__open_opts(&opts);
  if (!skel_) throw Error(oryx::bpf::failure("cannot open the BPF object", errno), ORYX_ERR_IO);
  bpf_map__set_max_entries(skel_->maps.oryx_br_fdb, fdb_size_);
  // Only the programs of the hooks this bridge may use (bpftool then shows
  // what runs): "auto" loads both, as ports added later may need either.
  bool xdp = attach_mode_ != "tc", tc = attach_mode_ != "xdp";
  bpf_program__set_autoload(skel_->progs.oryx_br_xdp, xdp);
  bpf_program__set_autoload(skel_->progs.oryx_br_xmit, xdp);
  bpf_program__set_autoload(skel_->progs.oryx_br_tc, tc);
  skel_->rodata->ageing_ns = ageing_ns_;
  int rc = bridge_datapath__load(skel_);
  if (rc != 0) throw Error(oryx::bpf::failure("cannot load the BPF programs", rc), ORYX_ERR_IO);
  // A reused ports map still describes the last run's ports.
  int ports_fd = bpf_map__fd(skel_->maps.oryx_br_ports);
  for (uint32_t ifindex : oryx::bpf::map_keys<uint32_t>(ports_fd)) bpf_map_delete_elem(ports_fd, &ifindex);
  // Stations behind interfaces that are no longer ports.
  std::set<uint32_t> current;
  for (const auto& p : ports_) current.insert(p.ifindex);
  forget_stations_where([&](const Station& s) { return !current.count(s.entry.ifindex); });
}

void BridgeService::attach_port(Port& port, std::optional<uint32_t> leftover) {
  publish_port(port);  // before the program runs: frames of unknown ports pass
  // A killed oryxd configured for the other hook left its program there.
  bool left_tc = leftover && (*leftover & ORYX_BR_PORT_TC);
  bool left_qdisc = left_tc && (*leftover & ORYX_BR_PORT_QDISC);
  if (leftover && left_tc != (port.hook == Hook::tc)) {
    if (left_tc)
      detach_tc(port.ifindex, left_qdisc);
    else
      detach_xdp(port.ifindex);
  }
  if (port.hook == Hook::tc) {
    bool created = attach_tc(port.ifindex, port.name, bpf_program__fd(skel_->progs.oryx_br_tc),
                             leftover.has_value());
    port.created_qdisc = created || left_qdisc;
  } else {
    attach_xdp(port.ifindex, port.name, bpf_program__fd(skel_->progs.oryx_br_xdp), generic_xdp_,
               leftover.has_value());
  }
  port.attached = true;
  publish_port(port);  // records the qdisc for a successor after a crash
}

void BridgeService::publish_port(const Port& port) {
  oryx_br_port rec{port.slot, ORYX_BR_PORT_PRESENT};
  rec.flags |= (port.up ? ORYX_BR_PORT_UP : 0) | (port.peer ? ORYX_BR_PORT_PEER : 0) |
              (port.hook == Hook::tc ? ORYX_BR_PORT_TC : 0) |
              (port.created_qdisc ? ORYX_BR_PORT_QDISC : 0) |
              (port.hook == Hook::xdp && generic_xdp_ ? ORYX_BR_PORT_GENERIC : 0) |
              (port.added ? ORYX_BR_PORT_ADDED : 0);
  bpf_map__update_elem(skel_->maps.oryx_br_ports, &port.ifindex, sizeof(port.ifindex), &rec,
                       sizeof(rec), BPF_ANY);
  if (port.ifindex < ORYX_BR_INDEXED_IFINDEX)
    bpf_map__update_elem(skel_->maps.ports_by_ifindex, &port.ifindex, sizeof(port.ifindex), &rec,
                         sizeof(rec), BPF_ANY);
  uint32_t flood = port.up ? port.ifindex : 0;
  bpf_map__update_elem(skel_->maps.flood_ports, &port.slot, sizeof(port.slot), &flood,
                       sizeof(flood), BPF_ANY);
  if (port.up) {
    bpf_devmap_val tx{};
    tx.ifindex = port.ifindex;
    bpf_map__update_elem(skel_->maps.tx_ports, &port.ifindex, sizeof(port.ifindex), &tx,
                         sizeof(tx), BPF_ANY);
  } else {
    bpf_map__delete_elem(skel_->maps.tx_ports, &port.ifindex, sizeof(port.ifindex), 0);
  }
}

void BridgeService::withdraw_port(const Port& port) {
  uint32_t none = 0;
  bpf_map__update_elem(skel_->maps.flood_ports, &port.slot, sizeof(port.slot), &none,
                       sizeof(none), BPF_ANY);
  bpf_map__delete_elem(skel_->maps.tx_ports, &port.ifindex, sizeof(port.ifindex), 0);
  bpf_map__delete_elem(skel_->maps.oryx_br_ports, &port.ifindex, sizeof(port.ifindex), 0);
  oryx_br_port empty{};
  if (port.ifindex < ORYX_BR_INDEXED_IFINDEX)
    bpf_map__update_elem(skel_->maps.ports_by_ifindex, &port.ifindex, sizeof(port.ifindex), &empty,
                         sizeof(empty), BPF_ANY);
}

void BridgeService::detach_port(Port& port) {
  if (port.ifindex == 0 || !port.attached) return;
  withdraw_port(port);
  port.attached = false;
  if (port.hook == Hook::tc)
    detach_tc(port.ifindex, port.created_qdisc);
  else
    detach_xdp(port.ifindex);
}

size_t BridgeService::forget_stations(uint32_t ifindex) {
  return forget_stations_where([&](const Station& s) { return s.entry.ifindex == ifindex; });
}

// Deletes from the forwarding table, then tells the datapath's decision
// cache that the table changed.
size_t BridgeService::forget_stations_where(const std::function<bool(const Station&)>& doomed) {
  size_t n = forget_stations_if(bpf_map__fd(skel_->maps.oryx_br_fdb), doomed);
  if (n > 0) __atomic_fetch_add(&skel_->bss->fdb_generation, 1, __ATOMIC_SEQ_CST);
  return n;
}

// Ports follow their interfaces: one that goes down or away stops taking
// and receiving frames and its stations are forgotten (as the Linux bridge
// flushes a disabled port); one that comes back (a new interface of the
// same name, say a restarted pod) is attached again.
void BridgeService::follow_links() {
  std::lock_guard lock(mutex_);
  if (!skel_) return;
  for (auto& port : ports_) {
    InterfaceFacts facts = interface_state(port.name);
    if (facts.ifindex != port.ifindex) {
      if (facts.ifindex != 0) facts = inspect_interface(port.name);
      if (port.ifindex != 0) {
        detach_port(port);  // the program went with a deleted interface; a renamed one keeps it
        size_t n = forget_stations(port.ifindex);
        log_.warn("port ", port.name, " (ifindex ", port.ifindex, ") is gone: no longer "
                  "bridged, ", n, " stations behind it forgotten");
      }
      port_events_++;
      port.ifindex = facts.ifindex;
      port.driver = facts.driver;
      port.up = facts.up;
      port.peer = facts.peer_elsewhere && !port.egress_only;
      port.created_qdisc = port.attached = false;
      if (port.ifindex == 0) continue;
      try {
        attach_port(port, std::nullopt);
        log_.info("port ", port.name, " is back (ifindex ", port.ifindex, "): attached at ",
                  hook_name(port.hook));
      } catch (const Error& e) {
        withdraw_port(port);
        log_.error("port ", port.name, " is back but cannot be bridged: ", e.what());
      }
    } else if (facts.up != port.up && port.ifindex != 0) {
      port.up = facts.up;
      publish_port(port);
      port_events_++;
      size_t n = port.up ? 0 : forget_stations(port.ifindex);
      if (port.up)
        log_.info("port ", port.name, " is up: forwarding");
      else
        log_.warn("port ", port.name, " is down: not forwarding, ", n,
                  " stations behind it forgotten");
    }
  }
}

// Also refreshes the fdb_entries gauge (a full read of the table).
size_t BridgeService::age_stations() {
  std::lock_guard lock(mutex_);
  if (!skel_) return 0;
  uint64_t now = now_coarse_ns();
  size_t kept = 0;
  size_t n = forget_stations_where([&](const Station& s) {
    bool stale = now > s.entry.seen_ns && now - s.entry.seen_ns > ageing_ns_;
    kept += !stale;
    return stale;
  });
  aged_ += n;
  fdb_entries_ = kept;
  return n;
}

void BridgeService::refresh_counters() {
  std::lock_guard lock(mutex_);
  if (!skel_) return;
  int fd = bpf_map__fd(skel_->maps.oryx_br_stats);
  PortCounters total = retired_;
  for (const auto& port : ports_) {
    PortCounters one = port_counters(fd, port.slot);
    for (size_t c = 0; c < total.size(); c++) total[c] += one[c];
  }
  uint64_t up = 0;
  for (const auto& port : ports_) up += port.ifindex != 0 && port.up;
  control_[kPortsUp] = up;
  control_[kFdbEntries] = fdb_entries_;
  control_[kFramesIn] = total[ORYX_BR_RX_FRAMES];
  control_[kBytesIn] = total[ORYX_BR_RX_BYTES];
  control_[kForwarded] = total[ORYX_BR_FORWARDED];
  control_[kFlooded] = total[ORYX_BR_FLOODED];
  control_[kDroppedMalformed] = total[ORYX_BR_DROP_MALFORMED];
  control_[kDroppedSamePort] = total[ORYX_BR_DROP_SAME_PORT];
  control_[kDroppedPortDown] = total[ORYX_BR_DROP_PORT_DOWN];
  control_[kDroppedXmit] = total[ORYX_BR_DROP_XMIT];
  control_[kDropped] = total[ORYX_BR_DROP_MALFORMED] + total[ORYX_BR_DROP_SAME_PORT] +
                       total[ORYX_BR_DROP_PORT_DOWN] + total[ORYX_BR_DROP_XMIT];
  control_[kLearned] = total[ORYX_BR_LEARNED];
  control_[kMoved] = total[ORYX_BR_MOVED];
  control_[kAged] = aged_;
  control_[kPortEvents] = port_events_;
}

void BridgeService::stop() {
  housekeeping_.reset();
  if (!skel_) return;
  refresh_counters();
  uint64_t forwarded = control_[kForwarded], flooded = control_[kFlooded];
  teardown();
  log_.info("bridge stopped after ", forwarded, " frames forwarded and ", flooded,
            " flooded; everything detached and unpinned");
}

void BridgeService::teardown() {
  std::lock_guard lock(mutex_);
  if (xmit_trace_) bpf_link__destroy(xmit_trace_);
  xmit_trace_ = nullptr;
  if (skel_) {
    for (auto& port : ports_) detach_port(port);
    bridge_datapath__destroy(skel_);
    skel_ = nullptr;
  }
  pins_.remove();
}

nlohmann::ordered_json BridgeService::port_json(const Port& port, int stats_fd) const {
  nlohmann::ordered_json counters = nlohmann::ordered_json::object();
  PortCounters values = port_counters(stats_fd, port.slot);
  uint64_t dropped = 0;
  for (uint32_t c = 0; c < ORYX_BR_COUNTER_MAX; c++) {
    counters[kCounterNames[c]] = values[c];
    if (c >= ORYX_BR_DROP_MALFORMED && c <= ORYX_BR_DROP_XMIT) dropped += values[c];
  }
  counters["dropped"] = dropped;
  return {{"name", port.name},
          {"ifindex", port.ifindex},
          {"present", port.ifindex != 0},
          {"up", port.up},
          {"driver", port.driver},
          {"hook", hook_name(port.hook)},
          {"xdp_mode", port.hook == Hook::xdp ? (generic_xdp_ ? "generic" : "native") : ""},
          {"redirect", port.hook == Hook::tc ? (port.peer ? "peer" : "egress") : "devmap"},
          {"added", port.added},
          {"alias", interface_alias(port.name)},
          {"counters", counters}};
}

nlohmann::ordered_json BridgeService::add_port(const std::string& interface,
                                              const std::string& redirect) {
  if (interface.empty() || interface.size() >= IF_NAMESIZE ||
      interface.find_first_of("/ \t") != std::string::npos)
    throw ApiError(400, "\"" + interface + "\" is not an interface name");
  if (redirect != "auto" && redirect != "egress")
    throw ApiError(400, "redirect: expected \"auto\" or \"egress\", found \"" + redirect + "\"");
  std::lock_guard lock(mutex_);
  if (!skel_) throw ApiError(409, "bridge " + name_ + " is not running");
  for (const auto& p : ports_)
    if (p.name == interface) throw ApiError(409, interface + " is already a port of bridge " + name_);
  if (ports_.size() >= ORYX_BR_MAX_PORTS)
    throw ApiError(409, "bridge " + name_ + " has " + std::to_string(ORYX_BR_MAX_PORTS) +
                            " ports, its most");
  Port port;
  port.name = interface;
  port.added = true;
  port.egress_only = redirect == "egress";
  port.slot = free_slot();
  resolve_port(port);
  if (port.ifindex == 0)
    throw ApiError(404, "no interface \"" + interface + "\" in oryxd's network namespace");
  reset_slot_counters(port.slot);
  try {
    attach_port(port, std::nullopt);
  } catch (const Error& e) {
    withdraw_port(port);
    throw ApiError(500, std::string("cannot attach to ") + interface + ": " + e.what());
  }
  ports_.push_back(port);
  port_events_++;
  log_.info("port ", interface, " added through the API (ifindex ", port.ifindex, ", ",
            hook_name(port.hook), port.hook == Hook::tc && port.peer ? ", into the veth peer" : "",
            ")");
  return port_json(port, bpf_map__fd(skel_->maps.oryx_br_stats));
}

void BridgeService::remove_port(const std::string& interface) {
  std::lock_guard lock(mutex_);
  auto it = std::find_if(ports_.begin(), ports_.end(),
                         [&](const Port& p) { return p.name == interface; });
  if (it == ports_.end()) throw ApiError(404, interface + " is not a port of bridge " + name_);
  if (!it->added)
    throw ApiError(409, interface + " is configured (interfaces of [service." + name_ +
                            "]): remove it from the configuration instead");
  if (!skel_) throw ApiError(409, "bridge " + name_ + " is not running");
  PortCounters last = port_counters(bpf_map__fd(skel_->maps.oryx_br_stats), it->slot);
  for (size_t c = 0; c < last.size(); c++) retired_[c] += last[c];
  detach_port(*it);
  size_t n = it->ifindex ? forget_stations(it->ifindex) : 0;
  port_events_++;
  log_.info("port ", interface, " removed through the API: ", n, " stations behind it forgotten");
  ports_.erase(it);
}

nlohmann::ordered_json BridgeService::describe() const {
  std::lock_guard lock(mutex_);
  nlohmann::ordered_json ports = nlohmann::ordered_json::array();
  int fd = skel_ ? bpf_map__fd(skel_->maps.oryx_br_stats) : -1;
  for (const auto& port : ports_) ports.push_back(port_json(port, fd));
  return {{"name", name_},
          {"state", skel_ ? "forwarding" : "stopped"},
          {"ageing_s", ageing_ns_ / 1000000000ull},
          {"fdb_size", fdb_size_},
          {"fdb_entries", control_[kFdbEntries]},
          {"pins", pins_.path()},
          {"ports", ports}};
}

void BridgeService::list_fdb(nlohmann::ordered_json& entries, size_t limit, bool* truncated) const {
  std::lock_guard lock(mutex_);
  if (!skel_) return;
  uint64_t now = now_coarse_ns();
  for (const auto& s : read_stations(bpf_map__fd(skel_->maps.oryx_br_fdb),
                                     limit - std::min(limit, entries.size()), truncated)) {
    std::string port = "?";
    for (const auto& p : ports_)
      if (p.ifindex == s.entry.ifindex) port = p.name;
    double age = now > s.entry.seen_ns ? double(now - s.entry.seen_ns) / 1e9 : 0.0;
    entries.push_back({{"bridge", name_},
                       {"mac", mac_text(s.key.mac)},
                       {"vlan", s.key.vlan},
                       {"port", port},
                       {"ifindex", s.entry.ifindex},
                       {"age_s", age},
                       {"expired", age * 1e9 > double(ageing_ns_)}});
  }
}

}  // namespace oryx::bridge
