// SPDX-License-Identifier: Apache-2.0
// appliance_views.cpp - what the REST API and /metrics show of a running
// Appliance: status, plugins, ports, counters, configuration (secrets
// redacted), the graph, and the Prometheus text.
#include "appliance.hpp"

#include "logging.hpp"

#include <rte_mbuf.h>
#include <rte_mempool.h>

#include <variant>

#ifndef ORYX_VERSION
#define ORYX_VERSION "0.0.0"
#endif

namespace oryx::kernel {

namespace {

nlohmann::json value_json(const ParamValue& v) {
  return std::visit([](const auto& x) { return nlohmann::json(x); }, v);
}

nlohmann::json table_json(const ValidatedTable& t) {
  nlohmann::json j = nlohmann::json::object();
  for (const auto& [key, value] : t.values) {
    const oryx_param* p = t.find_param(key);
    bool secret = p && (p->flags & ORYX_PARAM_SECRET);
    bool empty = std::holds_alternative<std::string>(value) && std::get<std::string>(value).empty();
    j[key] = (secret && !empty) ? nlohmann::json("<redacted>") : value_json(value);
  }
  return j;
}

// Prometheus label values may not contain quotes, backslashes or newlines;
// stage names cannot, but escape anyway.
std::string label(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}


}  // namespace

nlohmann::json Appliance::status_json() const {
  double uptime = state_ == "running"
                      ? std::chrono::duration<double>(std::chrono::steady_clock::now() - started_)
                            .count()
                      : 0.0;
  nlohmann::json j = {{"state", state_},
                      {"version", ORYX_VERSION},
                      {"abi", std::to_string(ORYX_ABI_MAJOR) + "." + std::to_string(ORYX_ABI_MINOR)},
                      {"pid", getpid()},
                      {"config_file", config_->file},
                      {"uptime_seconds", uptime},
                      {"stages", config_->stages.size()},
                      {"plugins", loader_.plugins().size()},
                      {"ports", ports_.entries().size()},
                      {"workers", dataplane_ ? dataplane_->workers_json() : nlohmann::json::array()}};
  if (pool_) {
    j["mbufs"] = {{"size", pool_->size},
                  {"data_room", rte_pktmbuf_data_room_size(pool_)},
                  {"available", rte_mempool_avail_count(pool_)},
                  {"in_use", rte_mempool_in_use_count(pool_)}};
  }
  j["recent_log"] = logging::recent(20);
  return j;
}

nlohmann::json Appliance::applications_json() const {
  if (!application_report_)
    return {{"embedded", false},
            {"applications", nlohmann::json::array()},
            {"note", "this is oryxd: applications reach Oryx by running under `oryx run`, which "
                     "starts their own kernel (and API) in-process"}};
  return {{"embedded", true}, {"applications", nlohmann::json::array({application_report_()})}};
}

std::string Appliance::plugin_panel(const std::string& name) const {
  for (const auto& p : loader_.plugins())
    if (p.name == name) return p.panel;
  return "";
}

nlohmann::json Appliance::plugins_json() const {
  nlohmann::json arr = nlohmann::json::array();
  for (const auto& p : loader_.plugins()) {
    nlohmann::json stages = nlohmann::json::array();
    for (const auto* s : p.stages) stages.push_back(s->name);
    arr.push_back({{"name", p.name},
                   {"version", p.desc->version},
                   {"abi", std::to_string(p.desc->abi_major) + "." + std::to_string(p.desc->abi_minor)},
                   {"description", p.desc->description ? p.desc->description : ""},
                   {"path", p.path},
                   {"state", p.state},
                   {"depends_on", p.depends_on},
                   {"stages", stages},
                   {"panel", p.panel.empty() ? nlohmann::json(nullptr)
                                             : nlohmann::json("/plugin-panels/" + p.name + ".js")}});
  }
  return arr;
}

nlohmann::json Appliance::ports_json() const {
  nlohmann::json arr = nlohmann::json::array();
  if (!eal_up_) return arr;
  bool xstats = config_->stats.get_bool("xstats");
  for (const auto& p : ports_.entries()) arr.push_back(PortRegistry::describe(p, xstats));
  return arr;
}

nlohmann::json Appliance::stats_json() const {
  bool per_worker = config_->stats.get_bool("per_worker");
  nlohmann::json stages = nlohmann::json::object();
  for (const auto& b : counters_.blocks()) {
    nlohmann::json counters = nlohmann::json::object();
    for (size_t i = 0; i < b->defs().size(); i++) {
      counters[b->defs()[i].name] = b->total(i);
      if (per_worker) {
        nlohmann::json w = nlohmann::json::array();
        for (uint32_t k = 0; k < b->workers(); k++) w.push_back(b->per_worker(i, k));
        counters[b->defs()[i].name + "_per_worker"] = w;
      }
    }
    stages[b->stage()] = {{"type", b->type()}, {"counters", counters}};
  }
  nlohmann::json ports = nlohmann::json::object();
  if (eal_up_)
    for (const auto& p : ports_.entries()) {
      auto c = PortRegistry::counters(p.port_id);
      if (!c.is_null()) ports[p.name] = std::move(c);
    }
  return {{"stages", stages},
          {"ports", ports},
          {"nodes", dataplane_ ? dataplane_->node_stats_json() : nlohmann::json::object()},
          {"drops_total", dataplane_ ? dataplane_->total_drops() : 0}};
}

nlohmann::json Appliance::config_json() const {
  nlohmann::json j = {{"file", config_->file},
                      {"kernel", table_json(config_->kernel)},
                      {"plugins", table_json(config_->plugins)},
                      {"log", table_json(config_->log)},
                      {"http", table_json(config_->http)},
                      {"stats", table_json(config_->stats)},
                      {"preload", table_json(config_->preload)}};
  nlohmann::json stages = nlohmann::json::object(), services = nlohmann::json::object();
  for (const auto& s : config_->stages) {
    nlohmann::json t = s.config ? table_json(*s.config) : nlohmann::json::object();
    t["type"] = s.type;
    if (!s.next.empty()) t["next"] = s.next;
    (s.service ? services : stages)[s.name] = t;
  }
  j["stage"] = stages;
  j["service"] = services;
  return j;
}

nlohmann::json Appliance::graph_json() const {
  nlohmann::json nodes = nlohmann::json::array(), edges = nlohmann::json::array();
  for (const auto& n : plan_.nodes) {
    const auto& s = config_->stages[n.stage];
    nodes.push_back({{"name", n.name}, {"stage", s.name}, {"type", s.type},
                     {"source", n.source}, {"active", n.reachable}});
    for (size_t k = 0; k < n.edges.size(); k++)
      edges.push_back({{"from", n.name}, {"to", plan_.nodes[n.edges[k]].name}, {"edge", k + 1}});
    edges.push_back({{"from", n.name}, {"to", "oryx-drop"}, {"edge", 0}});
  }
  nodes.push_back({{"name", "oryx-drop"}, {"stage", ""}, {"type", "kernel"},
                   {"source", false}, {"active", true}});
  return {{"nodes", nodes}, {"edges", edges}};
}

std::string Appliance::metrics_text() const {
  std::string out;
  auto add = [&](const std::string& line) { out += line + "\n"; };
  add("# HELP oryx_up Whether the appliance is running (1) or not (0).");
  add("# TYPE oryx_up gauge");
  add(std::string("oryx_up ") + (state_ == "running" ? "1" : "0"));
  // One metric family per counter name; stage and type are bounded labels.
  std::map<std::string, std::vector<std::string>> families;
  std::map<std::string, std::pair<uint32_t, std::string>> meta;
  for (const auto& b : counters_.blocks())
    for (size_t i = 0; i < b->defs().size(); i++) {
      const auto& d = b->defs()[i];
      std::string metric = "oryx_stage_" + d.name + (d.kind == ORYX_COUNTER ? "_total" : "");
      families[metric].push_back(metric + "{stage=\"" + label(b->stage()) + "\",type=\"" +
                                 label(b->type()) + "\"} " + std::to_string(b->total(i)));
      meta[metric] = {d.kind, d.help};
    }
  for (const auto& [metric, lines] : families) {
    add("# HELP " + metric + " " + meta[metric].second);
    add("# TYPE " + metric + (meta[metric].first == ORYX_COUNTER ? " counter" : " gauge"));
    for (const auto& l : lines) add(l);
  }
  if (eal_up_) {
    static const char* port_fields[][2] = {{"rx_packets", "Packets received by the port."},
                                           {"tx_packets", "Packets sent by the port."},
                                           {"rx_bytes", "Bytes received by the port."},
                                           {"tx_bytes", "Bytes sent by the port."},
                                           {"rx_missed", "Packets the port dropped for lack of room."},
                                           {"rx_errors", "Erroneous packets received."},
                                           {"tx_errors", "Failed transmissions."}};
    std::vector<std::pair<std::string, nlohmann::json>> ports;
    for (const auto& p : ports_.entries()) {
      auto c = PortRegistry::counters(p.port_id);
      if (!c.is_null()) ports.emplace_back(p.name, std::move(c));
    }
    for (const auto& f : port_fields) {
      std::string metric = std::string("oryx_port_") + f[0] + "_total";
      add("# HELP " + metric + " " + f[1]);
      add("# TYPE " + metric + " counter");
      for (const auto& [name, st] : ports)
        add(metric + "{port=\"" + label(name) + "\"} " + std::to_string(st[f[0]].get<uint64_t>()));
    }
  }
  if (pool_) {
    add("# HELP oryx_mbufs_in_use Packet buffers currently taken from the pool.");
    add("# TYPE oryx_mbufs_in_use gauge");
    add("oryx_mbufs_in_use " + std::to_string(rte_mempool_in_use_count(pool_)));
  }
  return out;
}

}  // namespace oryx::kernel
