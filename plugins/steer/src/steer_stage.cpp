// SPDX-License-Identifier: Apache-2.0
// steer_stage.cpp - one port shared by several applications: frames from
// the uplink (the port that owns the address) go to the edge whose rule
// names their TCP or UDP destination port, answers every stack must learn
// from (ARP replies, IPv6 neighbour and router advertisements) go to each
// application, the rest to the default edge; frames from any other port
// (an application's memif link) leave by the uplink.
//
// The copies for every application are made in process() and leave from
// poll() on the same worker (a stage hands each packet to one edge).
#include "steer_rules.hpp"

#include <oryx/sdk.hpp>

#include <rte_arp.h>
#include <rte_ether.h>
#include <rte_hash_crc.h>
#include <rte_ip.h>
#include <rte_mbuf.h>

#include <netinet/in.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace {

using oryx::sdk::Error;
using oryx::steer::Rule;
using oryx::steer::RuleTable;

enum Counter : size_t {
  kByRule, kToDefault, kCopies, kToUplink, kDropNoRule, kDropCopyNoMbuf, kDropCopyBacklog, kCount
};

constexpr auto kCounters = oryx::sdk::counter_table({
    {kByRule, oryx::sdk::counter("by_rule", "packets",
                                 "Packets from the uplink sent where a rule names their port.")},
    {kToDefault, oryx::sdk::counter("to_default", "packets",
                                    "Packets from the uplink no rule names (ARP requests, ICMP, "
                                    "unknown ports) sent to the default edge.")},
    {kCopies, oryx::sdk::counter("copies", "packets",
                                 "Copies of ARP replies and IPv6 neighbour and router "
                                 "advertisements, one for each application edge.")},
    {kToUplink, oryx::sdk::counter("to_uplink", "packets",
                                   "Packets from the applications' ports sent out of the uplink.")},
    {kDropNoRule, oryx::sdk::counter("drop_no_rule", "packets",
                                     "Packets no rule names, dropped: the stage has no default.")},
    {kDropCopyNoMbuf, oryx::sdk::counter("drop_copy_no_mbuf", "packets",
                                         "Copies not made: the kernel's mbuf pool was empty.")},
    {kDropCopyBacklog, oryx::sdk::counter("drop_copy_backlog", "packets",
                                          "Copies dropped: 256 already waited on this worker.")},
});
static_assert(kCounters.size() == kCount);

constexpr oryx_param kParams[] = {
    oryx::sdk::param_string("uplink", "\"\"",
                            "The port that owns the address (one of next): what it receives is "
                            "steered, what the other ports receive leaves by it."),
    oryx::sdk::param_string_list("rules", 0, 1024, "[]",
                                 "\"tcp|udp|any PORT[-PORT] EDGE[|EDGE...]\": packets from the "
                                 "uplink to that destination port (range) go to EDGE, one of "
                                 "next; give each application its listening ports and the range "
                                 "it connects from. Several edges (the processes of one server, "
                                 "each with its own link) share the port's flows, each flow "
                                 "staying on one, by a hash of its addresses and ports."),
    oryx::sdk::param_string("default", "\"\"",
                            "The edge (one of next) for what no rule names: ARP requests, ICMP, "
                            "neighbour solicitations, unknown ports (its stack answers them once "
                            "for the address). Empty: such packets are dropped and counted."),
    oryx::sdk::param_end(),
};

class SteerStage {
 public:
  static void check(const oryx::sdk::Config& cfg, const oryx::sdk::Edges& edges) {
    auto has = [&](const std::string& e) { return std::find(edges.begin(), edges.end(), e) != edges.end(); };
    const std::string uplink = cfg.get_string("uplink");
    if (uplink.empty() || !has(uplink))
      throw Error("uplink: name the port that owns the address, one of next (found \"" + uplink + "\")");
    if (edges.size() < 2) throw Error("next: the uplink and at least one application port");
    const std::string def = cfg.get_string("default");
    if (!def.empty() && (!has(def) || def == uplink))
      throw Error("default: expected an application port of next, found \"" + def + "\"");
    std::vector<Rule> rules;
    for (const std::string& text : cfg.get_string_list("rules")) {
      try {
        rules.push_back(oryx::steer::parse_rule(text));
      } catch (const std::invalid_argument& e) {
        throw Error(std::string("rules: ") + e.what());
      }
      for (const std::string& edge : rules.back().edges)
        if (!has(edge) || edge == uplink)
          throw Error("rules: \"" + text + "\" names \"" + edge +
                      "\", which is not an application port of next");
    }
    try {
      std::vector<std::string> names(edges.begin(), edges.end());
      RuleTable(rules, edge_number, &names);
    } catch (const std::invalid_argument& e) {
      throw Error(std::string("rules: ") + e.what());
    }
  }

  explicit SteerStage(const oryx::sdk::InstanceContext& ctx)
      : host_(ctx.host), edges_(ctx.edges.begin(), ctx.edges.end()) {
    check(ctx.config, ctx.edges);
    std::vector<Rule> rules;
    for (const std::string& text : ctx.config.get_string_list("rules"))
      rules.push_back(oryx::steer::parse_rule(text));
    table_ = std::make_unique<RuleTable>(rules, edge_number, &edges_);
    uplink_name_ = ctx.config.get_string("uplink");
    uplink_edge_ = edge_number(uplink_name_, &edges_);
    const std::string def = ctx.config.get_string("default");
    default_edge_ = def.empty() ? uint16_t(ORYX_EDGE_DROP) : edge_number(def, &edges_);
    pending_.resize(std::max<uint32_t>(1, host_.worker_count()));
  }

  ~SteerStage() {
    for (auto& queue : pending_)
      for (auto& [m, edge] : queue) rte_pktmbuf_free(m);
  }

  void start() {
    auto id = host_.find_port(uplink_name_);
    if (!id) throw Error("uplink '" + uplink_name_ + "' is not a port");
    uplink_port_ = *id;
  }

  void process(oryx_burst& b) {
    for (uint16_t i = 0; i < b.count; i++) {
      rte_mbuf* m = b.pkts[i];
      if (m->port != uplink_port_) {
        b.next[i] = uplink_edge_;
        b.counters[kToUplink]++;
        continue;
      }
      Where w = classify(m);
      if (w.everyone) {
        copy_to_applications(b, m, w.edge);
        b.next[i] = w.edge;
        continue;
      }
      b.next[i] = w.edge;
      b.counters[w.edge == ORYX_EDGE_DROP ? kDropNoRule : w.by_rule ? kByRule : kToDefault]++;
    }
  }

  // The copies process() made on this worker.
  uint16_t poll(oryx_burst& b) {
    auto& queue = pending_[b.worker];
    uint16_t n = uint16_t(std::min<size_t>(queue.size(), b.capacity));
    for (uint16_t i = 0; i < n; i++) {
      b.pkts[i] = queue[i].first;
      b.next[i] = queue[i].second;
    }
    queue.erase(queue.begin(), queue.begin() + n);
    return n;
  }

  int wake_fds(uint32_t, int*, uint32_t) { return 0; }

 private:
  struct Where {
    uint16_t edge;
    bool by_rule = false;
    bool everyone = false;  // a copy to every application edge as well
  };
  static constexpr size_t kMaxPending = 256;

  static uint16_t edge_number(const std::string& name, void* ctx) {
    auto* names = static_cast<std::vector<std::string>*>(ctx);
    auto it = std::find(names->begin(), names->end(), name);
    return uint16_t(it - names->begin() + 1);
  }

  Where classify(const rte_mbuf* m) const {
    const uint8_t* f = rte_pktmbuf_mtod(m, const uint8_t*);
    const uint8_t* end = f + m->data_len;
    Where rest{default_edge_};
    if (f + sizeof(rte_ether_hdr) > end) return rest;
    uint16_t type = rte_be_to_cpu_16(reinterpret_cast<const rte_ether_hdr*>(f)->ether_type);
    const uint8_t* l3 = f + sizeof(rte_ether_hdr);
    const uint8_t* l4 = nullptr;
    uint8_t proto = 0;
    if (type == RTE_ETHER_TYPE_ARP) {
      if (l3 + sizeof(rte_arp_hdr) > end) return rest;
      auto* arp = reinterpret_cast<const rte_arp_hdr*>(l3);
      if (arp->arp_opcode == rte_cpu_to_be_16(RTE_ARP_OP_REPLY)) rest.everyone = true;
      return rest;
    }
    if (type == RTE_ETHER_TYPE_IPV4) {
      if (l3 + sizeof(rte_ipv4_hdr) > end) return rest;
      auto* ip = reinterpret_cast<const rte_ipv4_hdr*>(l3);
      if (ip->fragment_offset & rte_cpu_to_be_16(RTE_IPV4_HDR_MF_FLAG | RTE_IPV4_HDR_OFFSET_MASK))
        return rest;
      proto = ip->next_proto_id;
      l4 = l3 + rte_ipv4_hdr_len(ip);
    } else if (type == RTE_ETHER_TYPE_IPV6) {
      if (l3 + sizeof(rte_ipv6_hdr) > end) return rest;
      proto = reinterpret_cast<const rte_ipv6_hdr*>(l3)->proto;
      l4 = l3 + sizeof(rte_ipv6_hdr);
      constexpr uint8_t kRouterAdvertisement = 134, kNeighbourAdvertisement = 136;
      if (proto == IPPROTO_ICMPV6 && l4 < end && (*l4 == kRouterAdvertisement || *l4 == kNeighbourAdvertisement))
        rest.everyone = true;
    } else {
      return rest;
    }
    if ((proto != IPPROTO_TCP && proto != IPPROTO_UDP) || l4 + 4 > end) return rest;
    uint16_t port = uint16_t(l4[2] << 8 | l4[3]);
    uint16_t group = proto == IPPROTO_TCP ? table_->tcp(port) : table_->udp(port);
    if (!group) return rest;
    const std::vector<uint16_t>& edges = table_->group(group);
    if (edges.size() == 1) return Where{edges[0], true};
    // Several links share the port: a flow stays on one, chosen by a hash
    // of its addresses and ports (the 4-tuple sits before l4's first 4
    // bytes and after the IP header's fixed part).
    const bool v6 = type == RTE_ETHER_TYPE_IPV6;
    const uint8_t* addresses = l3 + (v6 ? 8 : 12);
    uint32_t words[8] = {};
    std::memcpy(words, addresses, v6 ? 32 : 8);
    uint32_t h = 0;
    for (unsigned i = 0; i < (v6 ? 8u : 2u); i++) h = rte_hash_crc_4byte(words[i], h);
    uint32_t ports;
    std::memcpy(&ports, l4, 4);
    h = rte_hash_crc_4byte(ports, h);
    return Where{edges[(uint64_t(h) * edges.size()) >> 32], true};
  }

  // Every application edge but `except` gets a copy (left by poll()).
  void copy_to_applications(oryx_burst& b, rte_mbuf* m, uint16_t except) {
    auto& queue = pending_[b.worker];
    for (uint16_t e = 1; e <= edges_.size(); e++) {
      if (e == uplink_edge_ || e == except) continue;
      if (queue.size() >= kMaxPending) {
        b.counters[kDropCopyBacklog]++;
        continue;
      }
      rte_mbuf* copy = rte_pktmbuf_copy(m, m->pool, 0, UINT32_MAX);
      if (!copy) {
        b.counters[kDropCopyNoMbuf]++;
        continue;
      }
      queue.emplace_back(copy, e);
      b.counters[kCopies]++;
    }
  }

  oryx::sdk::Host host_;
  std::vector<std::string> edges_;
  std::unique_ptr<RuleTable> table_;
  std::string uplink_name_;
  uint16_t uplink_edge_ = 0, default_edge_ = 0, uplink_port_ = UINT16_MAX;
  // Copies waiting for poll(), per worker (each worker its own).
  std::vector<std::vector<std::pair<rte_mbuf*, uint16_t>>> pending_;
};

constexpr oryx_stage_desc kSteer = oryx::sdk::make_stage<SteerStage>(
    {"steer",
     "Share one port between applications: steer by TCP/UDP destination port, copy "
     "neighbour answers to each, send the rest to a default.",
     kParams, kCounters.data(), kCount, ORYX_STAGE_NEXT_INTERFACES});
constexpr const oryx_stage_desc* kStages[] = {&kSteer, nullptr};
constexpr oryx_plugin_desc kPlugin = oryx::sdk::make_plugin(
    {"steer", "1.0.0", "One port shared by several applications, steered by destination port",
     nullptr, kStages});

}  // namespace

ORYX_PLUGIN_EXPORT(kPlugin)
