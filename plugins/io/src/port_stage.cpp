// SPDX-License-Identifier: Apache-2.0
// port_stage.cpp - io plugin: one DPDK ethdev port per stage instance.
//
// The instance creates the device (a hot-plugged vdev, or a probed PCI
// NIC), configures queues and offloads checked against the device's
// capabilities, and registers it with the kernel's port registry. poll()
// receives on the queues this worker owns; process() transmits on the
// worker's own tx queue, so workers never share a queue.
#include <oryx/sdk.hpp>

#include <rte_bus_vdev.h>
#include <rte_dev.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>

#include <algorithm>
#include <map>
#include <string>
#include <vector>

namespace {

using oryx::sdk::Error;

enum Counter : size_t { kRxPackets, kRxBytes, kTxPackets, kTxBytes, kTxFull, kNoRoute, kCount };

constexpr oryx_counter_desc kCounters[] = {
    oryx::sdk::counter("rx_packets", "packets", "Packets received from the device."),
    oryx::sdk::counter("rx_bytes", "bytes", "Bytes received from the device."),
    oryx::sdk::counter("tx_packets", "packets", "Packets the device accepted for sending."),
    oryx::sdk::counter("tx_bytes", "bytes", "Bytes the device accepted for sending."),
    oryx::sdk::counter("tx_full", "packets",
                       "Packets dropped because the transmit queue was full."),
    oryx::sdk::counter("rx_no_route", "packets",
                       "Received packets dropped because the stage has no next edge."),
};
static_assert(std::size(kCounters) == kCount);

constexpr oryx_param kParams[] = {
    oryx::sdk::param_string("driver", nullptr, "Device kind.",
                            "af_xdp|af_packet|tap|memif|ring|null|pci"),
    oryx::sdk::param_string("iface", "\"\"",
                            "Kernel interface (af_xdp, af_packet) or name of the TAP to create."),
    oryx::sdk::param_int("queue_start", 0, 255, "0", "af_xdp: first queue of the interface used."),
    oryx::sdk::param_int("rx_queues", 1, 64, "1",
                         "Receive queues; queue q is polled by worker q modulo the worker count."),
    oryx::sdk::param_int("rx_desc", 64, 16384, "1024", "Descriptors per receive queue."),
    oryx::sdk::param_int("tx_desc", 64, 16384, "1024", "Descriptors per transmit queue."),
    oryx::sdk::param_int("mtu", 0, 9600, "0", "MTU to set; 0 keeps the device default."),
    oryx::sdk::param_bool("promiscuous", "true", "Receive frames for any destination MAC."),
    oryx::sdk::param_string_list(
        "offloads", 0, 5, "[]",
        "Offloads required from the device: rx_checksum, tx_checksum, tso, vlan_strip, "
        "vlan_insert; start-up fails if the device lacks one."),
    oryx::sdk::param_string("socket", "\"/run/oryx/memif.sock\"", "memif: control socket name."),
    oryx::sdk::param_bool("socket_abstract", "true",
                          "memif: put the socket in the abstract namespace (no file); false "
                          "creates a file at `socket`, as VPP and libmemif peers expect."),
    oryx::sdk::param_string("role", "\"client\"", "memif: role of this end.", "server|client"),
    oryx::sdk::param_int("memif_id", 0, 65535, "0", "memif: interface id within the socket."),
    oryx::sdk::param_string("ring", "\"\"",
                            "ring: name of the in-memory ring (default: the stage name); what "
                            "the port sends comes back on its receive side."),
    oryx::sdk::param_int("packet_size", 64, 9000, "64",
                         "null: size of the packets the null device produces."),
    oryx::sdk::param_string("address", "\"\"", "pci: device address, e.g. 0000:03:00.0."),
    oryx::sdk::param_end(),
};

struct OffloadName {
  const char* name;
  uint64_t rx;
  uint64_t tx;
};
constexpr OffloadName kOffloads[] = {
    {"rx_checksum",
     RTE_ETH_RX_OFFLOAD_IPV4_CKSUM | RTE_ETH_RX_OFFLOAD_UDP_CKSUM | RTE_ETH_RX_OFFLOAD_TCP_CKSUM, 0},
    {"tx_checksum", 0,
     RTE_ETH_TX_OFFLOAD_IPV4_CKSUM | RTE_ETH_TX_OFFLOAD_UDP_CKSUM | RTE_ETH_TX_OFFLOAD_TCP_CKSUM},
    {"tso", 0, RTE_ETH_TX_OFFLOAD_TCP_TSO},
    {"vlan_strip", RTE_ETH_RX_OFFLOAD_VLAN_STRIP, 0},
    {"vlan_insert", 0, RTE_ETH_TX_OFFLOAD_VLAN_INSERT},
};

class PortStage {
 public:
  explicit PortStage(const oryx::sdk::InstanceContext& ctx)
      : name_(ctx.name), host_(ctx.host), log_(ctx.log) {
    const auto& cfg = ctx.config;
    driver_ = cfg.get_string("driver");
    workers_ = std::max<uint32_t>(1, host_->worker_count());
    rx_queues_ = uint16_t(cfg.get_int("rx_queues"));
    tx_queues_ = uint16_t(workers_);
    if (ctx.edges.size() > 1)
      throw Error("a port has one next edge (where received packets go), found " +
                  std::to_string(ctx.edges.size()));
    has_route_ = !ctx.edges.empty();

    create_device(cfg);
    try {
      configure(cfg);
    } catch (...) {
      remove_device();
      throw;
    }
    if (host_->port_register(name_.c_str(), port_id_, driver_.c_str()) != ORYX_OK) {
      remove_device();
      throw Error("port name '" + name_ + "' is already registered");
    }
    // Worker w polls queues w, w+W, w+2W, ...
    owned_.resize(workers_);
    for (uint16_t q = 0; q < rx_queues_; q++) owned_[q % workers_].push_back(q);
  }

  ~PortStage() { remove_device(); }

  void start() {
    int rc = rte_eth_dev_start(port_id_);
    if (rc != 0) throw Error("rte_eth_dev_start failed: " + std::string(rte_strerror(-rc)), ORYX_ERR_IO);
    started_ = true;
    if (promiscuous_) rte_eth_promiscuous_enable(port_id_);
    rte_eth_link link{};
    rte_eth_link_get_nowait(port_id_, &link);
    log_.info("port ", name_, " (", driver_, ", ethdev ", port_id_, ") started: link ",
              link.link_status ? "up" : "down", ", ", rx_queues_, " rx / ", tx_queues_,
              " tx queues");
  }

  void stop() {
    if (started_) rte_eth_dev_stop(port_id_);
    started_ = false;
  }

  uint16_t poll(oryx_burst& b) {
    uint16_t got = 0;
    for (uint16_t q : owned_[b.worker]) {
      if (got == b.capacity) break;
      got += rte_eth_rx_burst(port_id_, q, b.pkts + got, uint16_t(b.capacity - got));
    }
    if (!got) return 0;
    uint64_t bytes = 0;
    uint16_t edge = has_route_ ? 1 : ORYX_EDGE_DROP;
    for (uint16_t i = 0; i < got; i++) {
      // Not every driver sets the ingress port (ring does not); later
      // stages rely on it.
      b.pkts[i]->port = port_id_;
      bytes += b.pkts[i]->pkt_len;
      b.next[i] = edge;
    }
    b.counters[kRxPackets] += got;
    b.counters[kRxBytes] += bytes;
    if (!has_route_) b.counters[kNoRoute] += got;
    return got;
  }

  void process(oryx_burst& b) {
    uint64_t bytes = 0;
    for (uint16_t i = 0; i < b.count; i++) bytes += b.pkts[i]->pkt_len;
    uint16_t sent = rte_eth_tx_burst(port_id_, uint16_t(b.worker), b.pkts, b.count);
    for (uint16_t i = 0; i < sent; i++) b.next[i] = ORYX_EDGE_CONSUMED;
    for (uint16_t i = sent; i < b.count; i++) {
      bytes -= b.pkts[i]->pkt_len;
      b.next[i] = ORYX_EDGE_DROP;
    }
    b.counters[kTxPackets] += sent;
    b.counters[kTxBytes] += bytes;
    b.counters[kTxFull] += b.count - sent;
  }

 private:
  void create_device(const oryx::sdk::Config& cfg) {
    std::string iface = cfg.get_string("iface");
    auto need_iface = [&] {
      if (iface.empty()) throw Error("driver " + driver_ + " needs 'iface'");
    };
    std::string args;
    if (driver_ == "pci") {
      std::string addr = cfg.get_string("address");
      if (addr.empty()) throw Error("driver pci needs 'address'");
      int rc = rte_dev_probe(addr.c_str());
      if (rc != 0)
        throw Error("cannot probe PCI device " + addr + ": " + rte_strerror(-rc) +
                        " (is it bound to vfio-pci and listed in [kernel] pci_allow?)",
                    ORYX_ERR_IO);
      if (rte_eth_dev_get_port_by_name(addr.c_str(), &port_id_) != 0)
        throw Error("PCI device " + addr + " is not an ethdev", ORYX_ERR_UNSUPPORTED);
      pci_address_ = addr;
      return;
    }
    uint16_t qpairs = std::max<uint16_t>(rx_queues_, tx_queues_);
    if (driver_ == "af_xdp") {
      need_iface();
      // busy_budget=0: preferred busy polling needs socket options veths lack.
      args = "iface=" + iface + ",start_queue=" + std::to_string(cfg.get_int("queue_start")) +
             ",queue_count=" + std::to_string(qpairs) + ",busy_budget=0";
    } else if (driver_ == "af_packet") {
      need_iface();
      args = "iface=" + iface + ",qpairs=" + std::to_string(qpairs);
    } else if (driver_ == "tap") {
      args = "iface=" + (iface.empty() ? name_ : iface);
    } else if (driver_ == "memif") {
      args = "role=" + cfg.get_string("role") + ",socket=" + cfg.get_string("socket") +
             ",id=" + std::to_string(cfg.get_int("memif_id")) +
             ",socket-abstract=" + (cfg.get_bool("socket_abstract") ? "yes" : "no");
    } else if (driver_ == "ring") {
      std::string ring = cfg.get_string("ring");
      args = "nodeaction=" + (ring.empty() ? name_ : ring) + ":0:CREATE";
    } else if (driver_ == "null") {
      args = "size=" + std::to_string(cfg.get_int("packet_size")) + ",copy=0";
    }
    vdev_name_ = "net_" + driver_ + "_" + name_;
    int rc = rte_vdev_init(vdev_name_.c_str(), args.c_str());
    if (rc != 0) {
      vdev_name_.clear();
      throw Error("cannot create " + driver_ + " device (" + args + "): " + rte_strerror(-rc) +
                      "; see the dpdk log lines above",
                  ORYX_ERR_IO);
    }
    // Some drivers (ring) name the ethdev after their arguments, so match
    // on the underlying device instead of the ethdev name.
    bool found = false;
    uint16_t pid;
    RTE_ETH_FOREACH_DEV(pid) {
      rte_eth_dev_info info{};
      if (rte_eth_dev_info_get(pid, &info) == 0 && info.device &&
          vdev_name_ == rte_dev_name(info.device)) {
        port_id_ = pid;
        found = true;
        break;
      }
    }
    if (!found) {
      rte_vdev_uninit(vdev_name_.c_str());
      vdev_name_.clear();
      throw Error("device " + vdev_name_ + " created but no ethdev found", ORYX_ERR_INTERNAL);
    }
  }

  void configure(const oryx::sdk::Config& cfg) {
    rte_eth_dev_info info{};
    int rc = rte_eth_dev_info_get(port_id_, &info);
    if (rc != 0) throw Error("rte_eth_dev_info_get failed: " + std::string(rte_strerror(-rc)));
    if (rx_queues_ > info.max_rx_queues)
      throw Error("rx_queues = " + std::to_string(rx_queues_) + " but the " + info.driver_name +
                  " device offers at most " + std::to_string(info.max_rx_queues));
    if (tx_queues_ > info.max_tx_queues)
      throw Error(std::to_string(tx_queues_) + " workers need as many tx queues but the " +
                  info.driver_name + " device offers at most " +
                  std::to_string(info.max_tx_queues));

    rte_eth_conf conf{};
    for (const auto& want : cfg.get_string_list("offloads")) {
      const OffloadName* o = nullptr;
      for (const auto& k : kOffloads)
        if (want == k.name) o = &k;
      if (!o)
        throw Error("unknown offload '" + want +
                    "' (rx_checksum, tx_checksum, tso, vlan_strip, vlan_insert)");
      if ((info.rx_offload_capa & o->rx) != o->rx || (info.tx_offload_capa & o->tx) != o->tx)
        throw Error("offload '" + want + "' is not supported by the " + info.driver_name +
                        " device; remove it from offloads",
                    ORYX_ERR_UNSUPPORTED);
      conf.rxmode.offloads |= o->rx;
      conf.txmode.offloads |= o->tx;
    }
    int64_t mtu = cfg.get_int("mtu");
    rc = rte_eth_dev_configure(port_id_, rx_queues_, tx_queues_, &conf);
    if (rc != 0) throw Error("rte_eth_dev_configure failed: " + std::string(rte_strerror(-rc)));
    if (mtu) {
      rc = rte_eth_dev_set_mtu(port_id_, uint16_t(mtu));
      if (rc != 0)
        throw Error("cannot set MTU " + std::to_string(mtu) + ": " + rte_strerror(-rc),
                    ORYX_ERR_UNSUPPORTED);
    }
    uint16_t rx_desc = uint16_t(cfg.get_int("rx_desc")), tx_desc = uint16_t(cfg.get_int("tx_desc"));
    rte_eth_dev_adjust_nb_rx_tx_desc(port_id_, &rx_desc, &tx_desc);
    int socket = rte_eth_dev_socket_id(port_id_);
    rte_mempool* pool = host_->mbuf_pool(socket);
    for (uint16_t q = 0; q < rx_queues_; q++) {
      rc = rte_eth_rx_queue_setup(port_id_, q, rx_desc, socket, nullptr, pool);
      if (rc != 0)
        throw Error("rx queue " + std::to_string(q) + " setup failed: " + rte_strerror(-rc));
    }
    for (uint16_t q = 0; q < tx_queues_; q++) {
      rc = rte_eth_tx_queue_setup(port_id_, q, tx_desc, socket, nullptr);
      if (rc != 0)
        throw Error("tx queue " + std::to_string(q) + " setup failed: " + rte_strerror(-rc));
    }
    promiscuous_ = cfg.get_bool("promiscuous");
  }

  void remove_device() {
    stop();
    if (!vdev_name_.empty() || !pci_address_.empty()) {
      rte_eth_dev_info info{};
      rte_eth_dev_info_get(port_id_, &info);
      rte_eth_dev_close(port_id_);
      if (!vdev_name_.empty()) rte_vdev_uninit(vdev_name_.c_str());
      else if (info.device) rte_dev_remove(info.device);
      vdev_name_.clear();
      pci_address_.clear();
    }
  }

  std::string name_;
  const oryx_host_api* host_;
  oryx::sdk::Logger log_;
  std::string driver_;
  std::string vdev_name_;
  std::string pci_address_;
  uint16_t port_id_ = 0;
  uint32_t workers_ = 1;
  uint16_t rx_queues_ = 1;
  uint16_t tx_queues_ = 1;
  bool has_route_ = false;
  bool promiscuous_ = true;
  bool started_ = false;
  std::vector<std::vector<uint16_t>> owned_;
};

constexpr oryx_stage_desc kPortStage = oryx::sdk::make_stage<PortStage>(
    {"port", "A DPDK ethdev port: receives into the graph and transmits what reaches it.",
     kParams, kCounters, kCount, ORYX_STAGE_SINK});
constexpr const oryx_stage_desc* kStages[] = {&kPortStage, nullptr};
constexpr oryx_plugin_desc kPlugin = oryx::sdk::make_plugin(
    {"io", "1.0.0", "DPDK ethdev ports: AF_XDP, AF_PACKET, TAP, memif, ring, null, PCI", nullptr,
     kStages});

}  // namespace

ORYX_PLUGIN_EXPORT(kPlugin)
