// SPDX-License-Identifier: Apache-2.0
// ethdev_device.cpp - see ethdev_device.hpp.
#include "ethdev_device.hpp"

#include "privileges.hpp"

#include <rte_bus_vdev.h>
#include <rte_dev.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_ring.h>

#include <dirent.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstdlib>
#include <iterator>
#include <set>

#ifndef AF_XDP
#define AF_XDP 44
#endif

namespace oryx::io {

using oryx::sdk::Error;

namespace {

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

// Why an AF_XDP queue may have failed, when the process lacks privileges.
std::string missing_af_xdp_hint() {
  std::string missing = missing_af_xdp_capabilities();
  if (missing.empty()) return "";
  return " (an AF_XDP port needs CAP_NET_RAW, CAP_NET_ADMIN, CAP_SYS_ADMIN and CAP_IPC_LOCK, "
         "or an unlimited RLIMIT_MEMLOCK; this process lacks " +
         missing + "; see docs/compatibility.md, or attach over memif to an oryxd that owns the port)";
}

std::string ring_name(const std::string& owner, const DeviceSpec& s) {
  return s.ring.empty() ? owner : s.ring;
}

std::string vdev_arguments(const std::string& owner, const DeviceSpec& s) {
  // memif's rings hold 2^rsize buffers (the driver ignores the queues'
  // descriptor counts; its default of 1,024 is rsize 10): the power of two
  // that holds ring_frames (at most 16,384: 2^14, the driver's largest).
  // A client's ring size is the one used; a server's caps what its
  // clients may ask.
  auto memif_ring_size = [](uint16_t frames) -> std::string {
    if (!frames) return "";
    unsigned log2 = 0;
    while ((1u << log2) < frames && log2 < 14) log2++;
    return ",rsize=" + std::to_string(log2);
  };
  auto need_iface = [&] {
    if (s.iface.empty()) throw Error("driver " + s.driver + " needs 'iface'");
  };
  if (s.driver == "af_xdp") {
    need_iface();
    // busy_budget=0: preferred busy polling needs socket options veths lack.
    return "iface=" + s.iface + ",start_queue=" + std::to_string(s.queue_start) +
           ",queue_count=" + std::to_string(s.queue_pairs) + ",busy_budget=0";
  }
  if (s.driver == "af_packet") {
    need_iface();
    // The driver ignores the queues' descriptor counts: its rings are as
    // long as `framecnt` says, an even number (two 2 KiB frames a block).
    std::string args = "iface=" + s.iface + ",qpairs=" + std::to_string(s.queue_pairs);
    if (s.ring_frames) args += ",framecnt=" + std::to_string((s.ring_frames + 1u) & ~1u);
    return args;
  }
  if (s.driver == "tap") return "iface=" + (s.iface.empty() ? owner : s.iface);
  if (s.driver == "memif")
    return "role=" + s.memif_role + ",socket=" + s.memif_socket +
           ",id=" + std::to_string(s.memif_id) +
           ",socket-abstract=" + (s.memif_socket_abstract ? "yes" : "no") +
           ",bsize=" + std::to_string(s.memif_buffer_size) + memif_ring_size(s.ring_frames);
  if (s.driver == "ring") return "nodeaction=" + ring_name(owner, s) + ":0:CREATE";
  if (s.driver == "null") return "size=" + std::to_string(s.packet_size) + ",copy=0";
  throw Error("unknown driver '" + s.driver + "' (" + kDrivers + ")");
}

}  // namespace

EthdevDevice::EthdevDevice(const std::string& owner, const DeviceSpec& spec)
    : driver_(spec.driver) {
  if (spec.driver == "pci") {
    const std::string& addr = spec.pci_address;
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
  std::string args = vdev_arguments(owner, spec);
  if (spec.driver == "ring") ring_ = ring_name(owner, spec);
  vdev_name_ = "net_" + spec.driver + "_" + owner;
  int rc = rte_vdev_init(vdev_name_.c_str(), args.c_str());
  if (rc != 0) {
    vdev_name_.clear();
    ring_.clear();  // the rings may be another port's
    throw Error("cannot create " + spec.driver + " device (" + args + "): " + rte_strerror(-rc) +
                    "; see the dpdk log lines above",
                ORYX_ERR_IO);
  }
  // Some drivers (ring) name the ethdev after their arguments, so match
  // on the underlying device instead of the ethdev name.
  uint16_t pid;
  RTE_ETH_FOREACH_DEV(pid) {
    rte_eth_dev_info info{};
    if (rte_eth_dev_info_get(pid, &info) == 0 && info.device &&
        vdev_name_ == rte_dev_name(info.device)) {
      port_id_ = pid;
      return;
    }
  }
  std::string name = vdev_name_;
  rte_vdev_uninit(vdev_name_.c_str());
  vdev_name_.clear();
  free_rings();
  throw Error("device " + name + " created but no ethdev found", ORYX_ERR_INTERNAL);
}

EthdevDevice::~EthdevDevice() { remove(); }

void EthdevDevice::start() {
  int rc = rte_eth_dev_start(port_id_);
  if (rc != 0)
    throw Error("rte_eth_dev_start failed: " + std::string(rte_strerror(-rc)), ORYX_ERR_IO);
  started_ = true;
}

void EthdevDevice::stop() {
  if (started_ && driver_ == "ring") drain();
  if (started_) rte_eth_dev_stop(port_id_);
  started_ = false;
}

// What a ring port still holds when it stops goes back to the pool.
void EthdevDevice::drain() {
  rte_eth_dev_info info{};
  if (rte_eth_dev_info_get(port_id_, &info) != 0) return;
  rte_mbuf* pkts[32];
  for (uint16_t q = 0; q < info.nb_rx_queues; q++)
    while (uint16_t n = rte_eth_rx_burst(port_id_, q, pkts, 32)) rte_pktmbuf_free_bulk(pkts, n);
}

// net_ring's CREATE makes 16 rings named
// ETH_RXTX<i>_<name> but its close frees only those of configured queues;
// the rest would make the next port of that name fail to start in this
// process (a restarted stage, the plugin test kit).
void EthdevDevice::free_rings() {
  if (ring_.empty()) return;
  constexpr unsigned kNetRingQueues = 16;  // RTE_PMD_RING_MAX_RX_RINGS, private to the driver
  for (unsigned i = 0; i < kNetRingQueues; i++)
    rte_ring_free(rte_ring_lookup(("ETH_RXTX" + std::to_string(i) + "_" + ring_).c_str()));
  ring_.clear();
}

void EthdevDevice::remove() {
  if (vdev_name_.empty() && pci_address_.empty()) return;
  rte_eth_dev_info info{};
  rte_eth_dev_info_get(port_id_, &info);
  stop();  // a started device cannot be closed
  rte_eth_dev_close(port_id_);
  free_rings();
  if (!vdev_name_.empty()) rte_vdev_uninit(vdev_name_.c_str());
  else if (info.device) rte_dev_remove(info.device);
  vdev_name_.clear();
  pci_address_.clear();
}

QueueSetup queue_setup(const oryx::sdk::Config& cfg, uint32_t workers) {
  QueueSetup setup;
  setup.rx_queues = uint16_t(cfg.get_int("rx_queues"));
  setup.tx_queues = uint16_t(workers);
  setup.rx_desc = uint16_t(cfg.get_int("rx_desc"));
  setup.tx_desc = uint16_t(cfg.get_int("tx_desc"));
  setup.mtu = uint16_t(cfg.get_int("mtu"));
  return setup;
}

namespace {

// The AF_XDP sockets open in this process. DPDK 22.11's af_xdp driver has
// no receive interrupts, but its XDP socket is exactly the descriptor to
// sleep on: poll() reports it readable while its receive ring holds
// frames, and the kernel wakes waiters as it fills the ring. The driver
// does not hand the socket out, so it is found as the one AF_XDP socket a
// queue's setup opened.
std::set<int> xdp_sockets() {
  std::set<int> out;
  DIR* dir = opendir("/proc/self/fd");
  if (!dir) return out;
  while (dirent* d = readdir(dir)) {
    char* end;
    long fd = std::strtol(d->d_name, &end, 10);
    if (*end || end == d->d_name || fd == dirfd(dir)) continue;
    int domain = 0;
    socklen_t len = sizeof(domain);
    if (getsockopt(int(fd), SOL_SOCKET, SO_DOMAIN, &domain, &len) == 0 && domain == AF_XDP)
      out.insert(int(fd));
  }
  closedir(dir);
  return out;
}

// The descriptor a receive queue's setup created, or -1.
int rx_wake_fd(const std::set<int>& before, const std::set<int>& after) {
  std::vector<int> fresh;
  std::set_difference(after.begin(), after.end(), before.begin(), before.end(),
                      std::back_inserter(fresh));
  return fresh.size() == 1 ? fresh[0] : -1;
}

}  // namespace

void configure_ethdev(uint16_t port_id, const QueueSetup& setup, rte_mempool* pool,
                      std::vector<int>* rx_wake_fds) {
  rte_eth_dev_info info{};
  int rc = rte_eth_dev_info_get(port_id, &info);
  if (rc != 0) throw Error("rte_eth_dev_info_get failed: " + std::string(rte_strerror(-rc)));
  if (setup.rx_queues > info.max_rx_queues)
    throw Error("rx_queues = " + std::to_string(setup.rx_queues) + " but the " +
                info.driver_name + " device offers at most " + std::to_string(info.max_rx_queues));
  if (setup.tx_queues > info.max_tx_queues)
    throw Error(std::to_string(setup.tx_queues) + " workers need as many tx queues but the " +
                info.driver_name + " device offers at most " +
                std::to_string(info.max_tx_queues));

  rte_eth_conf conf{};
  for (const auto& want : setup.offloads) {
    const OffloadName* o = nullptr;
    for (const auto& k : kOffloads)
      if (want == k.name) o = &k;
    if (!o) throw Error("unknown offload '" + want + "' (" + kOffloadNames + ")");
    if ((info.rx_offload_capa & o->rx) != o->rx || (info.tx_offload_capa & o->tx) != o->tx)
      throw Error("offload '" + want + "' is not supported by the " + info.driver_name +
                      " device; remove it from offloads",
                  ORYX_ERR_UNSUPPORTED);
    conf.rxmode.offloads |= o->rx;
    conf.txmode.offloads |= o->tx;
  }
  if (setup.link_interrupts && info.dev_flags && (*info.dev_flags & RTE_ETH_DEV_INTR_LSC))
    conf.intr_conf.lsc = 1;
  // The tap driver's receive interrupt is the queue's own tap descriptor,
  // readable while the kernel has frames queued for it (level-triggered,
  // nothing to arm): rx_interrupt_fds() hands it out once the port runs.
  if (rx_wake_fds && std::string(info.driver_name) == "net_tap") conf.intr_conf.rxq = 1;
  rc = rte_eth_dev_configure(port_id, setup.rx_queues, setup.tx_queues, &conf);
  if (rc != 0) throw Error("rte_eth_dev_configure failed: " + std::string(rte_strerror(-rc)));
  if (setup.mtu) {
    rc = rte_eth_dev_set_mtu(port_id, setup.mtu);
    if (rc != 0)
      throw Error("cannot set MTU " + std::to_string(setup.mtu) + ": " + rte_strerror(-rc),
                  ORYX_ERR_UNSUPPORTED);
  }
  uint16_t rx_desc = setup.rx_desc, tx_desc = setup.tx_desc;
  rte_eth_dev_adjust_nb_rx_tx_desc(port_id, &rx_desc, &tx_desc);
  int socket = rte_eth_dev_socket_id(port_id);
  const bool af_xdp = std::string(info.driver_name) == "net_af_xdp";
  if (rx_wake_fds) rx_wake_fds->assign(setup.rx_queues, -1);
  for (uint16_t q = 0; q < setup.rx_queues; q++) {
    std::set<int> before;
    if (rx_wake_fds && af_xdp) before = xdp_sockets();
    rc = rte_eth_rx_queue_setup(port_id, q, rx_desc, socket, nullptr, pool);
    if (rc != 0)
      throw Error("rx queue " + std::to_string(q) + " setup failed: " + rte_strerror(-rc) +
                  (af_xdp ? missing_af_xdp_hint() : std::string()));
    if (rx_wake_fds && af_xdp) (*rx_wake_fds)[q] = rx_wake_fd(before, xdp_sockets());
  }
  for (uint16_t q = 0; q < setup.tx_queues; q++) {
    rc = rte_eth_tx_queue_setup(port_id, q, tx_desc, socket, nullptr);
    if (rc != 0)
      throw Error("tx queue " + std::to_string(q) + " setup failed: " + rte_strerror(-rc));
  }
}

void rx_interrupt_fds(uint16_t port_id, std::vector<int>& rx_wake_fds) {
  rte_eth_conf conf{};
  if (rte_eth_dev_conf_get(port_id, &conf) != 0 || !conf.intr_conf.rxq) return;
  for (uint16_t q = 0; q < rx_wake_fds.size(); q++)
    if (rx_wake_fds[q] < 0)
      rx_wake_fds[q] = std::max(-1, rte_eth_dev_rx_intr_ctl_q_get_fd(port_id, q));
}

}  // namespace oryx::io
