// SPDX-License-Identifier: Apache-2.0
// bond_stage.cpp - stage `bond`: link aggregation on DPDK's bonding driver.
//
// The stage creates one ethdev per member (the io plugin's device code),
// binds them into a bonded ethdev (rte_eth_bond_create), configures that
// like a port and registers it, so stacks and VLANs sit on a bond exactly
// as on a port. Members are registered too ("<bond>/<member>", kind
// "bond-member") so each one's counters show in /api/v1/ports; the bond's
// entry carries the member and LACP state as "details".
#include "bond_details.hpp"
#include "bond_monitor.hpp"
#include "ethdev_device.hpp"
#include "port_data_path.hpp"

#include <oryx/sdk.hpp>

#include <rte_arp.h>
#include <rte_eth_bond.h>
#include <rte_eth_bond_8023ad.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_log.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

namespace oryx::bond {
namespace {

using oryx::io::kPortCounterCount;
using oryx::sdk::Error;

enum BondCounter : size_t {
  kFailovers = kPortCounterCount, kMemberLinkChanges, kActiveMembers, kAnnouncements, kCount
};

constexpr auto kCounters = oryx::sdk::counter_table({
    ORYX_IO_PORT_COUNTERS,
    {kFailovers,
     oryx::sdk::counter("failovers", "events",
                        "Times the member carrying traffic changed (active-backup, balance-alb).")},
    {kMemberLinkChanges,
     oryx::sdk::counter("member_link_changes", "events", "Member links that went down or up.")},
    {kActiveMembers,
     oryx::sdk::gauge("active_members", "members",
                      "Members the driver uses now (link up; for 802.3ad: in the aggregator).")},
    {kAnnouncements,
     oryx::sdk::counter("announcements", "frames",
                        "RARP frames with the bond's MAC sent after a failover, so that switches "
                        "learn where the bond now is (active-backup, balance-alb).")},
});
static_assert(kCounters.size() == kCount);

struct ModeName {
  const char* name;
  uint8_t mode;
};
constexpr ModeName kModes[] = {
    {"round-robin", BONDING_MODE_ROUND_ROBIN}, {"active-backup", BONDING_MODE_ACTIVE_BACKUP},
    {"balance-xor", BONDING_MODE_BALANCE},     {"802.3ad", BONDING_MODE_8023AD},
    {"balance-alb", BONDING_MODE_ALB},
};

constexpr oryx_param kParams[] = {
    oryx::sdk::param_string("mode", "\"active-backup\"", "Bonding mode.",
                            "active-backup|802.3ad|balance-alb|balance-xor|round-robin"),
    // Not af_xdp: the bonding driver gives members the bond's MAC address,
    // and DPDK 22.11's AF_XDP driver cannot set one, so the bond fails to start.
    oryx::sdk::param_string("member_driver", "\"af_packet\"",
                            "Driver of every member: members are kernel interfaces (af_packet), "
                            "TAP names to create (tap), PCI addresses (pci) or DPDK null "
                            "devices (null: they discard what they are sent and receive "
                            "endless blank frames; for tests).",
                            "af_packet|tap|pci|null"),
    oryx::sdk::param_string_list("members", 1, 8, nullptr, "The member links, in order."),
    oryx::sdk::param_string("primary", "\"\"",
                            "Member preferred for traffic (active-backup, balance-alb); empty: "
                            "the first."),
    oryx::sdk::param_int("link_monitoring_ms", 10, 10000, "100",
                         "How often the driver polls member links that raise no link "
                         "interrupts, and how often the stage reports member changes."),
    oryx::sdk::param_string("xmit_hash_policy", "\"layer2\"",
                            "How balance-xor and 802.3ad pick a member per flow.",
                            "layer2|layer2+3|layer3+4"),
    oryx::sdk::param_string("lacp_rate", "\"fast\"",
                            "802.3ad: LACPDU every 1 s and a partner lost after 3 s (fast), or "
                            "every 30 s and after 90 s (slow, the standard's long timeout).",
                            "fast|slow"),
    oryx::sdk::param_string("mac", "\"\"", "MAC address of the bond; empty: the primary's."),
    ORYX_IO_QUEUE_PARAMS,
    oryx::sdk::param_end(),
};

uint8_t mode_number(const std::string& name) {
  for (const auto& m : kModes)
    if (name == m.name) return m.mode;
  throw Error("unknown mode '" + name + "'");
}

uint8_t hash_policy(const std::string& name) {
  if (name == "layer2+3") return BALANCE_XMIT_POLICY_LAYER23;
  if (name == "layer3+4") return BALANCE_XMIT_POLICY_LAYER34;
  return BALANCE_XMIT_POLICY_LAYER2;
}

void check(int rc, const std::string& what) {
  if (rc < 0) throw Error(what + ": " + rte_strerror(-rc), ORYX_ERR_IO);
}

class BondStage {
 public:
  explicit BondStage(const oryx::sdk::InstanceContext& ctx)
      : name_(ctx.name), host_(ctx.host), log_(ctx.log), control_(ctx.control_counters) {
    const auto& cfg = ctx.config;
    if (ctx.edges.size() > 1)
      throw Error("a bond has one next edge (where received packets go), found " +
                  std::to_string(ctx.edges.size()));
    const uint32_t workers = std::max<uint32_t>(1, host_.worker_count());
    oryx::io::QueueSetup setup = oryx::io::queue_setup(cfg, workers);
    // Members that raise link interrupts (TAP, most NICs) report through
    // them; the driver polls the others every link_monitoring_ms.
    setup.link_interrupts = true;
    view_.mode = cfg.get_string("mode");
    const uint8_t mode = mode_number(view_.mode);
    if (mode == BONDING_MODE_BALANCE || mode == BONDING_MODE_8023AD)
      view_.xmit_hash_policy = cfg.get_string("xmit_hash_policy");
    periodic_tx_ = mode == BONDING_MODE_8023AD || mode == BONDING_MODE_ALB;
    alb_ = mode == BONDING_MODE_ALB;
    view_.link_monitoring_ms = uint32_t(cfg.get_int("link_monitoring_ms"));

    auto names = cfg.get_string_list("members");
    for (size_t i = 0; i < names.size(); i++)
      for (size_t k = 0; k < i; k++)
        if (names[i] == names[k]) throw Error("member '" + names[i] + "' is listed twice");
    std::string primary = cfg.get_string("primary");
    if (!primary.empty() && std::find(names.begin(), names.end(), primary) == names.end())
      throw Error("primary '" + primary + "' is not one of the members");

    oryx::io::DeviceSpec spec;
    spec.driver = cfg.get_string("member_driver");
    spec.queue_pairs = std::max(setup.rx_queues, setup.tx_queues);
    spec.ring_frames = std::max(setup.rx_desc, setup.tx_desc);
    for (const auto& member : names) {
      if (spec.driver == "pci") spec.pci_address = member;
      else if (spec.driver == "null") {}  // nothing to name
      else spec.iface = member;
      members_.push_back(std::make_unique<oryx::io::EthdevDevice>(name_ + "_" + member, spec));
      bool kernel_backed = spec.driver == "af_packet" || spec.driver == "tap";
      view_.members.push_back({member, members_.back()->port_id(), kernel_backed});
    }

    bond_device_ = "net_bonding_" + name_;
    int port = rte_eth_bond_create(bond_device_.c_str(), mode, uint8_t(rte_socket_id()));
    if (port < 0) {
      bond_device_.clear();
      throw Error("cannot create the bonded device: " + std::string(rte_strerror(-port)),
                  ORYX_ERR_IO);
    }
    port_id_ = view_.port_id = uint16_t(port);
    try {
      set_up(ctx, primary, mode, setup, workers);
    } catch (...) {
      release_bond();  // members_ close themselves after it
      throw;
    }
  }

  ~BondStage() {
    monitor_.reset();
    stop();
    release_bond();
    members_.clear();  // after the bond let go of them
  }

  void start() {
    pool_ = host_.mbuf_pool(SOCKET_ID_ANY);
    int rc = rte_eth_dev_start(port_id_);
    if (rc != 0)
      throw Error("cannot start the bond: " + std::string(rte_strerror(-rc)), ORYX_ERR_IO);
    started_ = true;
    if (promiscuous_) rte_eth_promiscuous_enable(port_id_);
    std::string names;
    for (const auto& m : view_.members) names += (names.empty() ? "" : ", ") + m.name;
    log_.info("bond ", name_, " (", view_.mode, ", ethdev ", port_id_, ") started over ", names,
              "; primary ", member_name(view_, rte_eth_bond_primary_get(port_id_)));
    if (alb_) {
      rte_ether_addr bond_mac{}, mac{};
      rte_eth_macaddr_get(port_id_, &bond_mac);
      for (const auto& m : view_.members)
        if (rte_eth_macaddr_get(m.port_id, &mac) == 0 && !rte_is_same_ether_addr(&mac, &bond_mac))
          alb_start_macs_.push_back(mac);
    }
    MemberSnapshot initial = observe();
    for (size_t i = 0; i < view_.members.size(); i++)
      if (view_.members[i].kernel_backed && !initial.link_up[i]) leave(view_.members[i]);
    monitor_ = std::make_unique<BondMonitor>(
        view_.link_monitoring_ms, observe(), [this] { return observe(); },
        [this](const MemberSnapshot& a, const MemberSnapshot& b) { report(a, b); });
  }

  void stop() {
    monitor_.reset();
    if (started_) rte_eth_dev_stop(port_id_);
    started_ = false;
    // Members out of the bond (no carrier) were left started; stop them so
    // they can be closed.
    for (const auto& m : view_.members) rte_eth_dev_stop(m.port_id);
  }

  uint16_t poll(oryx_burst& b) {
    // LACPDUs (802.3ad) and ARP updates (balance-alb) leave only inside a
    // transmit burst; an idle bond must still send them, every ~10 ms.
    if (periodic_tx_) {
      uint64_t now = rte_get_timer_cycles();
      if (now - last_tx_flush_[b.worker] > rte_get_timer_hz() / 100) {
        last_tx_flush_[b.worker] = now;
        rte_eth_tx_burst(port_id_, uint16_t(b.worker), nullptr, 0);
      }
    }
    if (announcements_left_.load(std::memory_order_acquire) > 0) announce(b.worker);
    uint16_t n = data_path_->poll(b);
    if (alb_ && n) to_bond_mac(b.pkts, n);
    return n;
  }

  // After a failover the switch still sends the bond's traffic to the old
  // member until it sees the bond's MAC on the new one; the Linux bonding
  // driver sends gratuitous ARPs, the bond (below any IP) sends RARP
  // frames from its MAC, as hypervisors do after moving a VM: three, 50 ms
  // apart, on the worker's own transmit queue.
  void announce(uint32_t worker) {
    uint64_t now = rte_get_timer_cycles();
    if (now < next_announcement_.load(std::memory_order_relaxed)) return;
    int left = announcements_left_.load(std::memory_order_relaxed);
    if (left <= 0 || !announcements_left_.compare_exchange_strong(left, left - 1)) return;
    next_announcement_.store(now + rte_get_timer_hz() / 20, std::memory_order_relaxed);
    rte_ether_addr mac{};
    rte_eth_macaddr_get(port_id_, &mac);
    rte_mbuf* frame = rte_net_make_rarp_packet(pool_, &mac);
    if (!frame) return;
    if (rte_eth_tx_burst(port_id_, uint16_t(worker), &frame, 1) == 1)
      __atomic_fetch_add(&control_[kAnnouncements], 1, __ATOMIC_RELAXED);
    else
      rte_pktmbuf_free(frame);
  }

  void process(oryx_burst& b) { data_path_->process(b); }

 private:
  // Everything after the bonded device exists: members, options, queues,
  // registration.
  void set_up(const oryx::sdk::InstanceContext& ctx, const std::string& primary, uint8_t mode,
              const oryx::io::QueueSetup& setup, uint32_t workers) {
    const auto& cfg = ctx.config;
    for (const auto& m : view_.members)
      check(rte_eth_bond_slave_add(port_id_, m.port_id), "cannot add member " + m.name);
    const Member& preferred = primary.empty() ? view_.members.front()
                                              : *std::find_if(view_.members.begin(),
                                                              view_.members.end(),
                                                              [&](const Member& m) {
                                                                return m.name == primary;
                                                              });
    check(rte_eth_bond_primary_set(port_id_, preferred.port_id), "cannot set the primary");
    check(rte_eth_bond_link_monitoring_set(port_id_, view_.link_monitoring_ms),
          "cannot set link monitoring");
    if (!view_.xmit_hash_policy.empty())
      check(rte_eth_bond_xmit_policy_set(port_id_, hash_policy(view_.xmit_hash_policy)),
            "cannot set the transmit hash policy");
    if (mode == BONDING_MODE_8023AD && cfg.get_string("lacp_rate") == "fast") {
      // DPDK's actor never asks its partner for the short timeout, so the
      // periodic and long-timeout timers themselves are shortened to
      // Linux's lacp_rate=fast values (1 s, 3 s).
      rte_eth_bond_8023ad_conf conf{};
      check(rte_eth_bond_8023ad_conf_get(port_id_, &conf), "cannot read the LACP timers");
      conf.slow_periodic_ms = 1000;
      conf.long_timeout_ms = 3000;
      // The driver insists on short < long timeout and fast < slow period:
      // keep the standard's ratio (3 x the fast period of 900 ms).
      conf.short_timeout_ms = std::min(conf.short_timeout_ms, 3 * conf.fast_periodic_ms);
      check(rte_eth_bond_8023ad_setup(port_id_, &conf), "cannot set the LACP timers");
    }
    std::string mac = cfg.get_string("mac");
    if (!mac.empty()) {
      rte_ether_addr addr{};
      if (rte_ether_unformat_addr(mac.c_str(), &addr) != 0)
        throw Error("mac: \"" + mac + "\" is not a MAC address");
      check(rte_eth_bond_mac_address_set(port_id_, &addr), "cannot set the MAC address");
    }

    oryx::io::configure_ethdev(port_id_, setup, host_.mbuf_pool(rte_eth_dev_socket_id(port_id_)));
    promiscuous_ = cfg.get_bool("promiscuous");

    host_.register_port(name_, port_id_, "bond");
    for (const auto& m : view_.members)
      host_.register_port(name_ + "/" + m.name, m.port_id, "bond-member");
    host_.port_details(name_, &BondStage::details, this);
    data_path_ = std::make_unique<oryx::io::PortDataPath>(port_id_, setup.rx_queues, workers,
                                                         !ctx.edges.empty());
    last_tx_flush_.assign(workers, 0);
  }

  void release_bond() {
    if (bond_device_.empty()) return;
    uint16_t in_bond[RTE_MAX_ETHPORTS];
    int n = rte_eth_bond_slaves_get(port_id_, in_bond, RTE_MAX_ETHPORTS);
    for (int i = 0; i < n; i++) rte_eth_bond_slave_remove(port_id_, in_bond[i]);
    rte_eth_bond_free(bond_device_.c_str());
    bond_device_.clear();
  }

  // balance-alb answers each peer's ARP with a different member's MAC, so
  // peers send to member MACs; what sits on the bond (a stack) knows only
  // the bond's MAC. Received unicast frames to a member MAC get the bond's.
  // A member's MAC at start stays ours after it leaves (peers keep using
  // it until the driver's next ARP update); the current ones are read per
  // burst, as the driver changes them when members leave and join.
  void to_bond_mac(rte_mbuf** pkts, uint16_t n) const {
    rte_ether_addr bond_mac, members[2 * 8];
    size_t count = 0;
    rte_eth_macaddr_get(port_id_, &bond_mac);
    for (const auto& mac : alb_start_macs_) members[count++] = mac;
    for (const auto& m : view_.members)
      if (count < std::size(members) && rte_eth_macaddr_get(m.port_id, &members[count]) == 0 &&
          !rte_is_same_ether_addr(&members[count], &bond_mac))
        count++;
    for (uint16_t i = 0; i < n; i++) {
      auto* eth = rte_pktmbuf_mtod(pkts[i], rte_ether_hdr*);
      for (size_t k = 0; k < count; k++)
        if (rte_is_same_ether_addr(&eth->dst_addr, &members[k])) {
          eth->dst_addr = bond_mac;
          break;
        }
    }
  }

  static char* details(void* ctx) {
    try {
      return strdup(describe_bond(static_cast<BondStage*>(ctx)->view_).c_str());
    } catch (...) {
      return nullptr;
    }
  }

  MemberSnapshot observe() const {
    MemberSnapshot s;
    uint16_t active[RTE_MAX_ETHPORTS];
    int n = rte_eth_bond_active_slaves_get(port_id_, active, RTE_MAX_ETHPORTS);
    s.active.assign(active, active + std::max(n, 0));
    s.primary = rte_eth_bond_primary_get(port_id_);
    for (const auto& m : view_.members) s.link_up.push_back(member_link_up(m));
    return s;
  }

  // A kernel-backed member without carrier leaves the bond (the driver
  // cannot see that it is dead) and joins again when carrier returns; the
  // driver then activates it and, if it is the primary, moves traffic back.
  void leave(const Member& m) {
    // The member stays started: a worker may be inside a burst on it until
    // the driver's active list no longer names it. The driver then wants to
    // reset it and logs an error because it is started; that reset is not
    // needed (joining again reconfigures the device), so its log is muted.
    int ethdev_log = rte_log_register("lib.ethdev");
    int level = ethdev_log >= 0 ? rte_log_get_level(ethdev_log) : -1;
    if (level >= 0) rte_log_set_level(ethdev_log, RTE_LOG_CRIT);
    int rc = rte_eth_bond_slave_remove(port_id_, m.port_id);
    if (level >= 0) rte_log_set_level(ethdev_log, uint32_t(level));
    if (rc == 0)
      log_.warn("bond ", name_, ": member ", m.name, " has no carrier, out of the bond");
    else
      log_.error("bond ", name_, ": cannot take member ", m.name, " out of the bond");
  }

  void rejoin(const Member& m) {
    if (rte_eth_bond_slave_add(port_id_, m.port_id) == 0)
      log_.info("bond ", name_, ": member ", m.name, " has carrier again, back in the bond");
    else
      log_.error("bond ", name_, ": cannot put member ", m.name, " back in the bond");
  }

  void report(const MemberSnapshot& before, const MemberSnapshot& now) {
    // Only this thread adds and removes members after start().
    for (size_t i = 0; i < now.link_up.size(); i++)
      if (i < before.link_up.size() && now.link_up[i] != before.link_up[i]) {
        control_[kMemberLinkChanges]++;
        log_.warn("bond ", name_, ": member ", view_.members[i].name, " link ",
                  now.link_up[i] ? "up" : "down");
        if (view_.members[i].kernel_backed)
          now.link_up[i] ? rejoin(view_.members[i]) : leave(view_.members[i]);
      }
    const bool carries = view_.mode == "active-backup" || view_.mode == "balance-alb";
    if (carries && now.primary != before.primary) {
      control_[kFailovers]++;
      next_announcement_.store(0, std::memory_order_relaxed);
      announcements_left_.store(kAnnouncementsPerFailover, std::memory_order_release);
      log_.warn("bond ", name_, ": traffic moved from ", member_name(view_, before.primary),
                " to ", member_name(view_, now.primary));
    }
    if (now.active != before.active) {
      std::string list;
      for (uint16_t p : now.active) list += (list.empty() ? "" : ", ") + member_name(view_, p);
      log_.info("bond ", name_, ": active members now [", list, "]");
    }
    control_[kActiveMembers] = now.active.size();
  }

  std::string name_;
  oryx::sdk::Host host_;
  oryx::sdk::Logger log_;
  uint64_t* control_;
  BondView view_;
  std::vector<std::unique_ptr<oryx::io::EthdevDevice>> members_;
  std::string bond_device_;
  uint16_t port_id_ = 0;
  bool periodic_tx_ = false;
  bool promiscuous_ = true;
  bool started_ = false;
  std::unique_ptr<oryx::io::PortDataPath> data_path_;
  std::vector<uint64_t> last_tx_flush_;
  std::unique_ptr<BondMonitor> monitor_;
  bool alb_ = false;  // balance-alb: received frames may carry a member's MAC
  std::vector<rte_ether_addr> alb_start_macs_;  // set in start(), before workers run
  static constexpr int kAnnouncementsPerFailover = 3;
  rte_mempool* pool_ = nullptr;
  std::atomic<int> announcements_left_{0};
  std::atomic<uint64_t> next_announcement_{0};
};

constexpr oryx_stage_desc kBondStage = oryx::sdk::make_stage<BondStage>(
    {"bond",
     "Link aggregation over member links (DPDK bonding): receives into the graph and transmits "
     "what reaches it, like a port.",
     kParams, kCounters.data(), kCount, ORYX_STAGE_SINK | ORYX_STAGE_INTERFACE});
constexpr const oryx_stage_desc* kStages[] = {&kBondStage, nullptr};
constexpr oryx_plugin_desc kPlugin = oryx::sdk::make_plugin(
    {"bond", "1.0.0",
     "Link aggregation on DPDK's bonding driver: active-backup, 802.3ad (LACP), balance-alb, "
     "balance-xor, round-robin",
     nullptr, kStages});

}  // namespace
}  // namespace oryx::bond

ORYX_PLUGIN_EXPORT(oryx::bond::kPlugin)
