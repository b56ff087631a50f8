// SPDX-License-Identifier: Apache-2.0
// bond_details.cpp - see bond_details.hpp.
#include "bond_details.hpp"

#include <oryx/json_text.hpp>
#include <nlohmann/json.hpp>

#include <rte_eth_bond.h>
#include <rte_eth_bond_8023ad.h>
#include <rte_ethdev.h>

#include <algorithm>

namespace oryx::bond {

namespace {

using nlohmann::json;

json lacp_state(uint8_t s) {
  json flags = json::array();
  const std::pair<uint8_t, const char*> bits[] = {
      {STATE_LACP_ACTIVE, "active"},         {STATE_LACP_SHORT_TIMEOUT, "short_timeout"},
      {STATE_AGGREGATION, "aggregation"},    {STATE_SYNCHRONIZATION, "synchronization"},
      {STATE_COLLECTING, "collecting"},      {STATE_DISTRIBUTING, "distributing"},
      {STATE_DEFAULTED, "defaulted"},        {STATE_EXPIRED, "expired"}};
  for (const auto& [bit, name] : bits)
    if (s & bit) flags.push_back(name);
  return flags;
}

std::string mac_text(const rte_ether_addr& mac) {
  char buf[RTE_ETHER_ADDR_FMT_SIZE];
  rte_ether_format_addr(buf, sizeof(buf), &mac);
  return buf;
}

const char* selection(rte_bond_8023ad_selection s) {
  switch (s) {
    case SELECTED: return "selected";
    case STANDBY: return "standby";
    default: return "unselected";
  }
}

}  // namespace

std::string member_name(const BondView& bond, int port_id) {
  for (const auto& m : bond.members)
    if (m.port_id == port_id) return m.name;
  return "";
}

std::string describe_bond(const BondView& bond) {
  uint16_t active[RTE_MAX_ETHPORTS];
  int n_active = rte_eth_bond_active_slaves_get(bond.port_id, active, RTE_MAX_ETHPORTS);
  int primary = rte_eth_bond_primary_get(bond.port_id);
  json j = {{"mode", bond.mode},
            {"primary", member_name(bond, primary)},
            {"active_members", json::array()},
            {"members", json::array()}};
  if (!bond.xmit_hash_policy.empty()) j["xmit_hash_policy"] = bond.xmit_hash_policy;
  j["link_monitoring_ms"] = bond.link_monitoring_ms;
  for (int i = 0; i < std::max(n_active, 0); i++)
    j["active_members"].push_back(member_name(bond, active[i]));
  for (const auto& m : bond.members) {
    bool is_active = std::find(active, active + std::max(n_active, 0), m.port_id) !=
                     active + std::max(n_active, 0);
    json member = {{"name", m.name},
                   {"port_id", m.port_id},
                   {"link_up", member_link_up(m)},
                   {"active", is_active}};
    rte_eth_stats st{};
    if (rte_eth_stats_get(m.port_id, &st) == 0)
      member["stats"] = {{"rx_packets", st.ipackets}, {"tx_packets", st.opackets},
                         {"rx_bytes", st.ibytes},     {"tx_bytes", st.obytes},
                         {"rx_missed", st.imissed},   {"tx_errors", st.oerrors}};
    struct rte_eth_bond_8023ad_slave_info info {};
    if (bond.mode == "802.3ad" &&
        rte_eth_bond_8023ad_slave_info(bond.port_id, m.port_id, &info) == 0) {
      member["lacp"] = {{"selection", selection(info.selected)},
                        {"aggregator_port_id", uint16_t(info.agg_port_id)},
                        {"actor_state", lacp_state(info.actor_state)},
                        {"partner_state", lacp_state(info.partner_state)},
                        {"partner_system", mac_text(info.partner.system)},
                        {"partner_key", uint16_t(info.partner.key)}};
    }
    j["members"].push_back(member);
  }
  return oryx::sdk::json_text(j);
}

}  // namespace oryx::bond
