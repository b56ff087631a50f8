// SPDX-License-Identifier: Apache-2.0
// port_registry.cpp - port names, link state and ethdev statistics.
#include "port_registry.hpp"

#include <rte_ethdev.h>

#include <cstdlib>

namespace oryx::kernel {

bool PortRegistry::add(const std::string& name, uint16_t port_id, const std::string& kind) {
  std::lock_guard lock(mutex_);
  for (const auto& p : ports_)
    if (p.name == name) return false;
  ports_.push_back({name, port_id, kind});
  return true;
}

bool PortRegistry::lookup(const std::string& name, uint16_t& port_id) const {
  std::lock_guard lock(mutex_);
  for (const auto& p : ports_)
    if (p.name == name) {
      port_id = p.port_id;
      return true;
    }
  return false;
}

bool PortRegistry::set_details(const std::string& name, char* (*handler)(void*), void* ctx) {
  std::lock_guard lock(mutex_);
  for (auto& p : ports_)
    if (p.name == name) {
      if (p.details) return false;
      p.details = handler;
      p.details_ctx = ctx;
      return true;
    }
  return false;
}

std::vector<PortEntry> PortRegistry::entries() const {
  std::lock_guard lock(mutex_);
  return ports_;
}

nlohmann::json PortRegistry::counters(uint16_t port_id) {
  rte_eth_stats st{};
  if (rte_eth_stats_get(port_id, &st) != 0) return nullptr;
  return {{"rx_packets", st.ipackets}, {"tx_packets", st.opackets}, {"rx_bytes", st.ibytes},
          {"tx_bytes", st.obytes},     {"rx_missed", st.imissed},   {"rx_errors", st.ierrors},
          {"tx_errors", st.oerrors},   {"rx_nombuf", st.rx_nombuf}};
}

nlohmann::json PortRegistry::describe(const PortEntry& port, bool xstats) {
  using nlohmann::json;
  json j = {{"name", port.name}, {"port_id", port.port_id}, {"kind", port.kind}};
  rte_eth_dev_info info{};
  const bool have_info = rte_eth_dev_info_get(port.port_id, &info) == 0;
  if (have_info) {
    j["driver"] = info.driver_name ? info.driver_name : "";
    char devname[RTE_ETH_NAME_MAX_LEN] = "";
    rte_eth_dev_get_name_by_port(port.port_id, devname);
    j["device"] = devname;
    rte_eth_conf conf{};
    rte_eth_dev_conf_get(port.port_id, &conf);
    j["rx_offloads"] = conf.rxmode.offloads;
    j["tx_offloads"] = conf.txmode.offloads;
    j["rx_offload_capa"] = info.rx_offload_capa;
    j["tx_offload_capa"] = info.tx_offload_capa;
  }
  rte_eth_link link{};
  if (rte_eth_link_get_nowait(port.port_id, &link) == 0) {
    j["link"] = {{"up", link.link_status == RTE_ETH_LINK_UP},
                 {"speed_mbps", link.link_speed == RTE_ETH_SPEED_NUM_UNKNOWN ? 0 : link.link_speed},
                 {"full_duplex", link.link_duplex == RTE_ETH_LINK_FULL_DUPLEX}};
  }
  uint16_t mtu = 0;
  if (rte_eth_dev_get_mtu(port.port_id, &mtu) == 0) j["mtu"] = mtu;
  rte_ether_addr mac{};
  if (rte_eth_macaddr_get(port.port_id, &mac) == 0) {
    char buf[RTE_ETHER_ADDR_FMT_SIZE];
    rte_ether_format_addr(buf, sizeof(buf), &mac);
    j["mac"] = buf;
  }
  int promisc = rte_eth_promiscuous_get(port.port_id);
  if (promisc >= 0) j["promiscuous"] = promisc == 1;

  j["stats"] = counters(port.port_id);
  rte_eth_stats st{};
  if (have_info && rte_eth_stats_get(port.port_id, &st) == 0) {
    json queues = json::array();
    uint16_t nq = std::min<uint16_t>(RTE_ETHDEV_QUEUE_STAT_CNTRS,
                                     std::max(info.nb_rx_queues, info.nb_tx_queues));
    for (uint16_t q = 0; q < nq; q++)
      queues.push_back({{"queue", q},
                        {"rx_packets", q < info.nb_rx_queues ? st.q_ipackets[q] : 0},
                        {"tx_packets", q < info.nb_tx_queues ? st.q_opackets[q] : 0},
                        {"rx_bytes", q < info.nb_rx_queues ? st.q_ibytes[q] : 0},
                        {"tx_bytes", q < info.nb_tx_queues ? st.q_obytes[q] : 0}});
    j["queues"] = queues;
    j["rx_queues"] = info.nb_rx_queues;
    j["tx_queues"] = info.nb_tx_queues;
  }
  if (xstats) {
    int n = rte_eth_xstats_get_names(port.port_id, nullptr, 0);
    if (n > 0) {
      std::vector<rte_eth_xstat_name> names(n);
      std::vector<rte_eth_xstat> values(n);
      if (rte_eth_xstats_get_names(port.port_id, names.data(), n) == n &&
          rte_eth_xstats_get(port.port_id, values.data(), n) == n) {
        json xs = json::object();
        for (int i = 0; i < n; i++) xs[names[values[i].id].name] = values[i].value;
        j["xstats"] = xs;
      }
    }
  }
  if (port.details) {
    // The plugin's text is parsed, never pasted, so a bad handler cannot
    // break the response.
    char* text = port.details(port.details_ctx);
    j["details"] = text ? json::parse(text, nullptr, false) : json();
    if (j["details"].is_discarded()) j["details"] = {{"error", "the plugin returned invalid JSON"}};
    std::free(text);
  }
  return j;
}

}  // namespace oryx::kernel
