// SPDX-License-Identifier: Apache-2.0
// share_service.cpp - the port share's life cycle: load, attach to the
// uplink, applications attaching and going away, counters, detach.
#include "share_service.hpp"

#include <linux/types.h>

#include "app_link.hpp"
#include "bpf_support.hpp"
#include "interfaces.hpp"
#include "share_datapath.skel.h"
#include "share_shared.h"
#include "steer_rules.hpp"
#include "tc_filter.hpp"

#include <bpf/bpf.h>

#include <algorithm>
#include <fstream>
#include <stdexcept>

namespace oryx::share {
using oryx::sdk::Error;

namespace {

constexpr auto kCountersPeriod = std::chrono::milliseconds(250);
constexpr size_t kReclaimsKept = 16;
// The share's TC filters: their own handles and priorities, told apart
// from anyone else's by program name.
constexpr oryx::bpf::TcFilter kUplinkFilter{0x05a3, 0x05a3, "oryx_sh_uplink", "the port share"};
constexpr oryx::bpf::TcFilter kAppFilter{0x05a4, 0x05a4, "oryx_sh_app", "the port share"};

std::string read_line(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  return line;
}

double seconds_since(std::chrono::system_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::system_clock::now() - t).count();
}

}  // namespace

ShareService::ShareService(const oryx::sdk::InstanceContext& ctx)
    : name_(ctx.name),
      log_(ctx.log),
      control_(ctx.control_counters),
      uplink_(ctx.config.get_string("uplink")),
      socket_path_(ctx.config.get_string("socket")),
      file_prefix_(ctx.host.kernel_table("kernel").get_string("file_prefix")),
      flows_(uint32_t(ctx.config.get_int("flows"))) {
  if (socket_path_.empty()) socket_path_ = "/run/oryx/share-" + name_ + ".sock";
  oryx::bpf::capture_libbpf_messages();
}

ShareService::~ShareService() { stop(); }

std::string ShareService::alias() const { return "oryx-share:" + file_prefix_ + ":" + name_; }

void ShareService::start() {
  oryx::bpf::require_prog_type(BPF_PROG_TYPE_SCHED_CLS, "TC BPF programs", "4.1");
  oryx::bpf::InterfaceFacts facts = oryx::bpf::inspect_interface(uplink_);
  if (facts.ifindex == 0)
    throw Error("uplink: this namespace has no interface \"" + uplink_ + "\"", ORYX_ERR_INVALID);
  uplink_ifindex_ = facts.ifindex;
  uplink_peer_ = facts.peer_elsewhere;
  uplink_mac_ = read_line("/sys/class/net/" + uplink_ + "/address");
  uplink_mtu_ = unsigned(std::stoul("0" + read_line("/sys/class/net/" + uplink_ + "/mtu")));
  if (uplink_mtu_ == 0) uplink_mtu_ = 1500;
  // The links a killed predecessor left (its applications are gone or
  // cut off from it: they attach again).
  for (const auto& name : links_with_alias(alias())) {
    delete_link(name);
    log_.info("removed ", name, ", an application link a previous oryxd left");
  }
  try {
    std::lock_guard lock(mutex_);
    skel_ = share_datapath__open();
    if (!skel_) throw Error(oryx::bpf::failure("cannot open the BPF object", errno), ORYX_ERR_IO);
    bpf_map__set_max_entries(skel_->maps.oryx_sh_flows, flows_);
    if (int rc = share_datapath__load(skel_); rc != 0)
      throw Error(oryx::bpf::failure("cannot load the port share's BPF programs", rc), ORYX_ERR_IO);
    port_owner_.assign(ORYX_SH_PORT_KEYS, 0);
    write_config();
    created_qdisc_ = oryx::bpf::attach_tc(kUplinkFilter, uplink_ifindex_, uplink_,
                                          bpf_program__fd(skel_->progs.oryx_sh_uplink), true);
  } catch (...) {
    teardown();
    throw;
  }
  server_ = std::make_unique<AttachServer>(
      socket_path_, [this](const Peer& p, const nlohmann::json& r) { return attach(p, r); },
      [this](const Peer& p) { reclaim(p); });
  try {
    server_->start();
  } catch (...) {
    server_.reset();
    teardown();
    throw;
  }
  counters_task_ = std::make_unique<oryx::bpf::PeriodicTask>(kCountersPeriod,
                                                             [this](uint64_t) { refresh_counters(); });
  log_.info("sharing ", uplink_, " (ifindex ", uplink_ifindex_, ", ", uplink_mac_,
            uplink_peer_ ? ", a veth: sent into its peer" : "", "); applications attach at ",
            socket_path_);
}

void ShareService::stop() {
  counters_task_.reset();
  server_.reset();  // closes every attach connection
  if (!skel_) return;
  refresh_counters();
  size_t apps = 0;
  for (const auto& app : apps_) apps += app.used;
  teardown();
  log_.info("port share stopped: ", control_[kAttaches], " attachments, ", control_[kReclaims],
            " reclaimed, ", apps, " still attached at stop (their links removed)");
}

void ShareService::teardown() {
  std::lock_guard lock(mutex_);
  for (auto& app : apps_) {
    if (app.used) delete_link(app.host_if);
    app = App{};
  }
  for (auto& g : groups_) g = Group{};
  if (uplink_ifindex_) oryx::bpf::detach_tc(kUplinkFilter, uplink_ifindex_, created_qdisc_);
  if (skel_) share_datapath__destroy(skel_);
  skel_ = nullptr;
}

void ShareService::write_config() {
  oryx_sh_config cfg{};
  cfg.uplink_ifindex = uplink_ifindex_;
  cfg.uplink_peer = uplink_peer_;
  for (uint32_t slot = 0; slot < apps_.size(); slot++)
    if (apps_[slot].used && apps_[slot].is_default) cfg.default_slot = slot + 1;
  uint32_t zero = 0;
  bpf_map__update_elem(skel_->maps.oryx_sh_config, &zero, sizeof(zero), &cfg, sizeof(cfg), BPF_ANY);
}

void ShareService::set_ports(const std::vector<Rule>& rules, uint32_t owner) {
  int fd = bpf_map__fd(skel_->maps.oryx_sh_port_owner);
  for (const Rule& r : rules)
    for (uint32_t p = r.first; p <= r.last; p++)
      for (bool udp : {false, true}) {
        if (udp ? !r.udp : !r.tcp) continue;
        uint32_t key = p + (udp ? ORYX_SH_UDP_BASE : 0);
        port_owner_[key] = owner;
        bpf_map_update_elem(fd, &key, &owner, BPF_ANY);
      }
}

void ShareService::write_group(uint32_t group) {
  oryx_sh_group rec{};
  rec.count = uint32_t(groups_[group].members.size());
  for (size_t i = 0; i < groups_[group].members.size(); i++) rec.slots[i] = groups_[group].members[i];
  bpf_map__update_elem(skel_->maps.oryx_sh_groups, &group, sizeof(group), &rec, sizeof(rec), BPF_ANY);
}

// "redis (pid 12)" or "nginx (pids 12, 13)": who holds a group's ports.
std::string ShareService::holders(uint32_t group) const {
  const Group& g = groups_[group];
  std::string pids;
  for (uint32_t slot : g.members) pids += (pids.empty() ? "" : ", ") + std::to_string(apps_[slot].pid);
  const std::string& name = g.name.empty() ? apps_[g.members.front()].name : g.name;
  return name + (g.members.size() > 1 ? " (pids " : " (pid ") + pids + ")";
}

nlohmann::json ShareService::attach(const Peer& peer, const nlohmann::json& request) {
  std::lock_guard lock(mutex_);
  std::string who = "pid " + std::to_string(peer.pid);
  auto refuse = [&](const std::string& why) {
    refused_++;
    log_.warn("refused an application (", who, "): ", why);
    return nlohmann::json{{"error", why}};
  };
  if (!skel_) return refuse("the port share " + name_ + " is stopping");
  if (!request.is_object()) return refuse("the request is not a JSON object");
  App app;
  app.pid = peer.pid;
  app.uid = peer.uid;
  app.fd = peer.fd;
  app.since = std::chrono::system_clock::now();
  if (request.contains("name") && request["name"].is_string())
    app.name = request["name"].get<std::string>().substr(0, 64);
  if (app.name.empty()) app.name = who;
  who = app.name + " (pid " + std::to_string(peer.pid) + ")";
  app.is_default = request.value("default", false);
  if (request.contains("rules") && !request["rules"].is_array())
    return refuse("rules: expected a list of \"tcp|udp|any PORT[-PORT]\"");
  for (const auto& text : request.value("rules", nlohmann::json::array())) {
    if (!text.is_string()) return refuse("rules: expected strings");
    try {
      oryx::steer::Rule r = oryx::steer::parse_match(text.get<std::string>());
      app.rules.push_back({r.tcp, r.udp, r.first, r.last, text.get<std::string>()});
    } catch (const std::invalid_argument& e) {
      return refuse(e.what());
    }
  }
  std::string group_name;
  if (request.contains("group") && request["group"].is_string())
    group_name = request["group"].get<std::string>().substr(0, 64);
  // The group it joins (by name), or a new one.
  int group = -1, free_group = -1;
  for (uint32_t g = 0; g < groups_.size(); g++) {
    if (groups_[g].used && !group_name.empty() && groups_[g].name == group_name) group = int(g);
    if (!groups_[g].used && free_group < 0) free_group = int(g);
  }
  if (group < 0 && free_group < 0) return refuse("no free group");
  // A port is claimed by one group at a time.
  const uint32_t owner_value = uint32_t(group < 0 ? free_group : group) + 1;
  for (const Rule& r : app.rules)
    for (uint32_t p = r.first; p <= r.last; p++)
      for (bool udp : {false, true}) {
        if (udp ? !r.udp : !r.tcp) continue;
        if (uint32_t owner = port_owner_[p + (udp ? ORYX_SH_UDP_BASE : 0)]; owner != 0 && owner != owner_value)
          return refuse(std::string(udp ? "udp" : "tcp") + " port " + std::to_string(p) +
                        " is claimed by " + holders(owner - 1));
      }
  uint32_t slot = uint32_t(apps_.size());
  for (uint32_t s = 0; s < apps_.size(); s++) {
    if (apps_[s].used && app.is_default && apps_[s].is_default)
      return refuse("the default application is " + apps_[s].name + " (pid " +
                    std::to_string(apps_[s].pid) + ")");
    if (!apps_[s].used && slot == apps_.size()) slot = s;
  }
  if (slot == apps_.size())
    return refuse(std::to_string(apps_.size()) + " applications are attached already");
  app.host_if = "ox" + std::to_string(peer.pid) + "h" + std::to_string(slot);
  app.app_if = "ox" + std::to_string(peer.pid) + "a" + std::to_string(slot);
  try {
    auto [host_ifindex, app_ifindex] =
        create_app_link({app.host_if, app.app_if, alias(), uplink_mac_, uplink_mtu_});
    (void)app_ifindex;
    app.host_ifindex = host_ifindex;
    try {
      oryx::bpf::attach_tc(kAppFilter, host_ifindex, app.host_if,
                           bpf_program__fd(skel_->progs.oryx_sh_app), false);
    } catch (...) {
      delete_link(app.host_if);
      throw;
    }
  } catch (const Error& e) {
    return refuse(e.what());
  }
  uint32_t slot_plus_one = slot + 1;
  oryx_sh_app rec{app.host_ifindex, 0};
  // The slot's counters start from zero (one record per possible CPU).
  std::vector<oryx_sh_app_stats> zeros(size_t(std::max(1, libbpf_num_possible_cpus())));
  bpf_map__update_elem(skel_->maps.oryx_sh_app_stats, &slot, sizeof(slot), zeros.data(),
                       sizeof(oryx_sh_app_stats) * zeros.size(), BPF_ANY);
  bpf_map__update_elem(skel_->maps.oryx_sh_slot_of, &app.host_ifindex, sizeof(uint32_t),
                       &slot_plus_one, sizeof(uint32_t), BPF_ANY);
  app.group = int(owner_value - 1);
  Group& g = groups_[owner_value - 1];
  if (!g.used) g = Group{true, group_name, {}, {}};
  g.members.push_back(slot);
  for (const Rule& r : app.rules) g.rules.push_back(r);
  bpf_map__update_elem(skel_->maps.oryx_sh_apps, &slot, sizeof(slot), &rec, sizeof(rec), BPF_ANY);
  write_group(owner_value - 1);
  set_ports(app.rules, owner_value);
  app.used = true;
  apps_[slot] = app;
  if (app.is_default) write_config();
  attaches_++;
  std::string rules;
  for (const Rule& r : app.rules) rules += (rules.empty() ? "" : ", ") + r.text;
  log_.info("application ", who, " attached on ", app.app_if, " (slot ", slot, "): ",
            rules.empty() ? "no ports" : rules, app.is_default ? ", the default application" : "",
            group_name.empty() ? "" : ", group " + group_name + " of " + std::to_string(g.members.size()));
  return {{"interface", app.app_if}, {"mac", uplink_mac_}, {"mtu", uplink_mtu_},
          {"slot", slot},          {"service", name_}};
}

size_t ShareService::forget_flows(uint32_t slot_plus_one) {
  int fd = bpf_map__fd(skel_->maps.oryx_sh_flows);
  size_t n = 0;
  for (const auto& key : oryx::bpf::map_keys<oryx_sh_flow_key>(fd)) {
    uint32_t owner = 0;
    if (bpf_map_lookup_elem(fd, &key, &owner) == 0 && owner == slot_plus_one &&
        bpf_map_delete_elem(fd, &key) == 0)
      n++;
  }
  return n;
}

void ShareService::reclaim(const Peer& peer) {
  auto t0 = std::chrono::steady_clock::now();
  std::lock_guard lock(mutex_);
  if (!skel_) return;
  for (uint32_t slot = 0; slot < apps_.size(); slot++) {
    App& app = apps_[slot];
    if (!app.used || app.fd != peer.fd) continue;
    // Nothing is sent to it from here on, then its state goes.
    oryx_sh_app none{};
    bpf_map__update_elem(skel_->maps.oryx_sh_apps, &slot, sizeof(slot), &none, sizeof(none), BPF_ANY);
    Group& g = groups_[app.group];
    g.members.erase(std::remove(g.members.begin(), g.members.end(), slot), g.members.end());
    write_group(uint32_t(app.group));
    if (g.members.empty()) {  // the last member: its ports are free again
      set_ports(g.rules, 0);
      g = Group{};
    }
    bpf_map__delete_elem(skel_->maps.oryx_sh_slot_of, &app.host_ifindex, sizeof(uint32_t), 0);
    bool was_default = app.is_default;
    app.used = false;
    if (was_default) write_config();
    size_t flows = forget_flows(slot + 1);
    delete_link(app.host_if);  // its peer, the application's AF_XDP interface, goes with it
    double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    log_.info("application ", app.name, " (pid ", app.pid, ") went away: reclaimed ", app.app_if,
              ", ", app.rules.size(), " port rules and ", flows, " flows in ", ms, " ms");
    reclaims_.push_front({app.name, app.pid, app.app_if, app.rules.size(), flows, ms,
                          std::chrono::system_clock::now()});
    if (reclaims_.size() > kReclaimsKept) reclaims_.pop_back();
    reclaimed_++;
    app = App{};
    return;
  }
}

void ShareService::refresh_counters() {
  std::lock_guard lock(mutex_);
  if (!skel_) return;
  int fd = bpf_map__fd(skel_->maps.oryx_sh_stats);
  auto sum = [&](uint32_t which) { return oryx::bpf::percpu_sum(fd, which); };
  uint64_t attached = 0;
  for (const auto& app : apps_) attached += app.used;
  control_[kAppsAttached] = attached;
  control_[kAttaches] = attaches_;
  control_[kReclaims] = reclaimed_;
  control_[kRefused] = refused_;
  control_[kUplinkFrames] = sum(ORYX_SH_UPLINK_FRAMES);
  control_[kByRule] = sum(ORYX_SH_BY_RULE);
  control_[kByFlow] = sum(ORYX_SH_BY_FLOW);
  control_[kToDefault] = sum(ORYX_SH_TO_DEFAULT);
  control_[kCopies] = sum(ORYX_SH_COPIES);
  control_[kFromApps] = sum(ORYX_SH_FROM_APPS);
  control_[kFlowsLearned] = sum(ORYX_SH_FLOWS_LEARNED);
  control_[kDropNoApp] = sum(ORYX_SH_DROP_NO_APP);
  control_[kDropMalformed] = sum(ORYX_SH_DROP_MALFORMED);
  control_[kDropFlowTaken] = sum(ORYX_SH_DROP_FLOW_TAKEN);
  control_[kDropCopy] = sum(ORYX_SH_DROP_COPY);
  control_[kDropped] = control_[kDropNoApp] + control_[kDropMalformed] + control_[kDropFlowTaken] +
                       control_[kDropCopy];
}

nlohmann::ordered_json ShareService::app_json(uint32_t slot, const App& app) const {
  int fd = bpf_map__fd(skel_->maps.oryx_sh_app_stats);
  uint64_t to_app = 0, from_app = 0;
  int cpus = libbpf_num_possible_cpus();
  std::vector<oryx_sh_app_stats> per_cpu(size_t(std::max(1, cpus)));
  if (cpus > 0 && bpf_map_lookup_elem(fd, &slot, per_cpu.data()) == 0)
    for (size_t c = 0; c < per_cpu.size(); c++) {
      to_app += per_cpu[c].to_app;
      from_app += per_cpu[c].from_app;
    }
  nlohmann::ordered_json rules = nlohmann::ordered_json::array();
  for (const Rule& r : app.rules) rules.push_back(r.text);
  return {{"slot", slot},
          {"name", app.name},
          {"pid", app.pid},
          {"uid", app.uid},
          {"interface", app.app_if},
          {"host_interface", app.host_if},
          {"rules", rules},
          {"default", app.is_default},
          {"group", groups_[app.group].name},
          {"attached_s", seconds_since(app.since)},
          {"frames_to_app", to_app},
          {"frames_from_app", from_app}};
}

nlohmann::ordered_json ShareService::describe() const {
  std::lock_guard lock(mutex_);
  nlohmann::ordered_json apps = nlohmann::ordered_json::array();
  if (skel_)
    for (uint32_t slot = 0; slot < apps_.size(); slot++)
      if (apps_[slot].used) apps.push_back(app_json(slot, apps_[slot]));
  nlohmann::ordered_json reclaims = nlohmann::ordered_json::array();
  for (const auto& r : reclaims_)
    reclaims.push_back({{"name", r.name},
                        {"pid", r.pid},
                        {"interface", r.interface},
                        {"port_rules", r.rules},
                        {"flows", r.flows},
                        {"took_ms", r.took_ms},
                        {"ago_s", seconds_since(r.at)}});
  return {{"service", name_},
          {"state", skel_ ? "sharing" : "stopped"},
          {"uplink", uplink_},
          {"mac", uplink_mac_},
          {"socket", socket_path_},
          {"flows_capacity", flows_},
          {"applications", apps},
          {"reclaimed", reclaims}};
}

}  // namespace oryx::share
