// SPDX-License-Identifier: Apache-2.0
// port_stage.cpp - io plugin: one DPDK ethdev port per stage instance.
//
// The instance creates the device (a hot-plugged vdev, or a probed PCI
// NIC), configures queues and offloads checked against the device's
// capabilities, and registers it with the kernel's port registry. poll()
// receives on the queues this worker owns; process() transmits on the
// worker's own tx queue, so workers never share a queue.
#include "ethdev_device.hpp"
#include "port_data_path.hpp"
#include "share_attach.hpp"
#include "soft_rss.hpp"

#include <oryx/sdk.hpp>

#include <linux/if_xdp.h>
#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_pci.h>
#include <rte_mbuf.h>

#include <fcntl.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstring>

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

namespace {

using oryx::sdk::Error;

using oryx::io::kPortCounterCount;

// The port's own counters continue the shared ones: the kernel's drops on
// an af_xdp port's sockets (XDP_STATISTICS), which DPDK 22.11's driver
// leaves out of its statistics (a frame the kernel could not put in a full
// receive ring is otherwise lost without a trace).
enum XdpCounter : size_t {
  kXdpRxRingFull = kPortCounterCount, kXdpRxDropped, kXdpRxInvalid, kXdpTxInvalid,
  kLinkDown, kLinkUp, kSoftRssSpread, kSoftRssRingFull, kCounterCount
};

constexpr auto kCounters = oryx::sdk::counter_table(
    {ORYX_IO_PORT_COUNTERS,
     {kXdpRxRingFull,
      oryx::sdk::counter("xdp_rx_ring_full", "packets",
                         "af_xdp: frames the kernel dropped because the socket's receive ring "
                         "was full (the port was not polled fast enough).")},
     {kXdpRxDropped, oryx::sdk::counter("xdp_rx_dropped", "packets",
                                        "af_xdp: frames the kernel dropped for another reason "
                                        "(no free buffer in the fill ring, too long).")},
     {kXdpRxInvalid, oryx::sdk::counter("xdp_rx_invalid", "descriptors",
                                        "af_xdp: receive descriptors the kernel refused.")},
     {kXdpTxInvalid, oryx::sdk::counter("xdp_tx_invalid", "descriptors",
                                        "af_xdp: transmit descriptors the kernel refused.")},
     {kLinkDown, oryx::sdk::counter("link_down_events", "events",
                                    "memif: the peer went away (it closed the link, exited or "
                                    "was killed) and its shared memory was released; seen "
                                    "within 50 ms.")},
     {kLinkUp, oryx::sdk::counter("link_up_events", "events",
                                  "memif: a peer connected (again).")},
     {kSoftRssSpread, oryx::sdk::counter("soft_rss_spread", "packets",
                                         "soft_rss_queues: frames handed to a software queue by "
                                         "their RSS hash.")},
     {kSoftRssRingFull, oryx::sdk::counter("soft_rss_ring_full", "packets",
                                           "soft_rss_queues: frames dropped because their "
                                           "software queue was full.")}});
static_assert(kCounters.size() == kCounterCount);

// How often a worker reads its af_xdp sockets' statistics (a system call
// per queue).
constexpr uint64_t kXdpStatisticsPeriodMs = 100;
// How often worker 0 looks at a memif port's link (its peer's presence).
constexpr uint64_t kLinkWatchMs = 50;

constexpr oryx_param kParams[] = {
    oryx::sdk::param_string("driver", nullptr, "Device kind.", oryx::io::kDrivers),
    oryx::sdk::param_string("iface", "\"\"",
                            "Kernel interface (af_xdp, af_packet) or name of the TAP to create.",
                            ORYX_FORMAT_IFNAME),
    oryx::sdk::param_int("queue_start", 0, 255, "0", "af_xdp: first queue of the interface used."),
    ORYX_IO_QUEUE_PARAMS,
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
    oryx::sdk::param_int("memif_ids", 1, 256, "1",
                         "memif client: ids to choose from, memif_id to memif_id + memif_ids - 1; "
                         "the process takes the first one no other process holds (a lock file "
                         "in /run/lock, released when the process ends, however it ends), so "
                         "the worker processes of one server, started from one configuration, "
                         "each get a link of their own."),
    oryx::sdk::param_int("memif_buffer_size", 128, 65535, "2048",
                         "memif: bytes per shared-memory buffer; the client's value is used by "
                         "both ends. A frame longer than one buffer spans several, which DPDK "
                         "22.11's memif driver can corrupt when its ring fills: for jumbo "
                         "frames (a stack's mtu above 2026) give at least mtu + 22."),
    oryx::sdk::param_string("ring", "\"\"",
                            "ring: name of the in-memory ring (default: the stage name); what "
                            "the port sends comes back on its receive side.",
                            ORYX_FORMAT_NAME),
    oryx::sdk::param_int("packet_size", 64, 9000, "64",
                         "null: size of the packets the null device produces."),
    oryx::sdk::param_string("address", "\"\"", "pci: device address, e.g. 0000:03:00.0."),
    oryx::sdk::param_int(
        "soft_rss_queues", 0, 64, "0",
        "Make a one-queue device look like a NIC with receive-side scaling and this many "
        "queues (0: off): worker 0 reads the device and hands each frame to software queue "
        "(Toeplitz hash of its addresses and ports, the default key, a 128-entry redirection "
        "table) mod this count, as a NIC would; queue q is polled by worker q modulo the "
        "worker count. For testing RSS and per-worker stacks without such a NIC."),
    oryx::sdk::param_string(
        "attach", "\"\"",
        "af_xdp: attach to oryxd's port share at this Unix socket (its port_share service's "
        "`socket`) instead of naming an interface: oryxd gives this process a link of its "
        "own with the shared port's MAC, sends it the frames for the ports in attach_rules "
        "and for the connections it opens, and reclaims everything when the process ends."),
    oryx::sdk::param_string_list(
        "attach_rules", 0, 64, "[]",
        "attach: the destination ports this process takes, \"tcp|udp|any PORT[-PORT]\" (the "
        "ports its servers listen on); a port another attached process holds is refused."),
    oryx::sdk::param_string(
        "attach_group", "\"\"",
        "attach: processes attaching with the same group name take attach_rules' ports "
        "together (the worker processes of one server: nginx's workers, each with its own "
        "kernel); each new connection goes to one of them by a hash of its addresses and "
        "ports and stays there. Empty: the ports are this process's alone."),
    oryx::sdk::param_bool("attach_default", "false",
                          "attach: this process also takes what no rule claims: ARP requests, "
                          "ICMP, fragments, other ports (one process per share)."),
    oryx::sdk::param_end(),
};

class PortStage {
 public:
  // What start-up would refuse in a table, found before any device exists
  // (--check-config runs it too).
  static void check(const oryx::sdk::Config& cfg, const oryx::sdk::Edges& edges) {
    if (edges.size() > 1)
      throw Error("a port has one next edge (where received packets go), found " +
                  std::to_string(edges.size()));
    std::string driver = cfg.get_string("driver");
    const bool attaching = !cfg.get_string("attach").empty();
    if (attaching && driver != "af_xdp")
      throw Error("attach: only an af_xdp port attaches to a port share");
    if (attaching && !cfg.get_string("iface").empty())
      throw Error("iface: a port that attaches to a port share gets its interface from oryxd");
    if (!attaching && (!cfg.get_string_list("attach_rules").empty() || cfg.get_bool("attach_default") ||
                       !cfg.get_string("attach_group").empty()))
      throw Error(std::string(cfg.get_bool("attach_default")            ? "attach_default"
                              : cfg.get_string("attach_group").empty() ? "attach_rules"
                                                                         : "attach_group") +
                  ": only with attach");
    if ((driver == "af_xdp" || driver == "af_packet") && cfg.get_string("iface").empty() && !attaching)
      throw Error("iface: driver " + driver + " needs the kernel interface to use (or attach)");
    if (driver == "pci") {
      std::string address = cfg.get_string("address");
      rte_pci_addr parsed;
      if (address.empty()) throw Error("address: driver pci needs the device's PCI address");
      if (rte_pci_addr_parse(address.c_str(), &parsed) != 0)
        throw Error("address: expected a PCI address like 0000:03:00.0, found \"" + address + "\"");
    }
    // The socket becomes one of the driver's "key=value,..." arguments.
    if (driver == "memif" && cfg.get_string("socket").find_first_of(",=") != std::string::npos)
      throw Error("socket: a memif socket name cannot hold ',' or '='");
    // A server offers one id; the client processes choose among several.
    if (cfg.get_int("memif_ids") > 1 && (driver != "memif" || cfg.get_string("role") != "client"))
      throw Error("memif_ids: only a memif client chooses among several ids");
    if (cfg.get_int("soft_rss_queues") == 1)
      throw Error("soft_rss_queues: one queue needs no spreading (0 turns it off)");
    if (cfg.get_int("soft_rss_queues") > 1 && cfg.get_int("rx_queues") != 1)
      throw Error("soft_rss_queues: the device is read through one queue (rx_queues = 1)");
  }

  explicit PortStage(const oryx::sdk::InstanceContext& ctx)
      : name_(ctx.name), host_(ctx.host), log_(ctx.log) {
    const auto& cfg = ctx.config;
    driver_ = cfg.get_string("driver");
    workers_ = std::max<uint32_t>(1, host_.worker_count());
    oryx::io::QueueSetup setup = oryx::io::queue_setup(cfg, workers_);
    // Software RSS: the device has one queue each way, the workers share it
    // through software queues (soft_rss.hpp).
    if (cfg.get_int("soft_rss_queues") > 1) setup.tx_queues = 1;
    rx_queues_ = setup.rx_queues;
    tx_queues_ = setup.tx_queues;
    check(cfg, ctx.edges);

    oryx::io::DeviceSpec spec;
    spec.driver = driver_;
    spec.iface = cfg.get_string("iface");
    if (std::string socket = cfg.get_string("attach"); !socket.empty()) {
      oryx::io::ShareGrant grant = share_.attach(
          {socket, program_invocation_short_name, cfg.get_string_list("attach_rules"),
           cfg.get_string("attach_group"), cfg.get_bool("attach_default")});
      spec.iface = grant.interface;
      log_.info("port ", name_, ": attached to port share ", grant.service, " at ", socket,
                " as slot ", grant.slot, ", interface ", grant.interface, " (", grant.mac, ")");
    }
    spec.queue_start = int(cfg.get_int("queue_start"));
    spec.queue_pairs = std::max<uint16_t>(rx_queues_, tx_queues_);
    spec.ring_frames = std::max(setup.rx_desc, setup.tx_desc);
    spec.memif_socket = cfg.get_string("socket");
    spec.memif_socket_abstract = cfg.get_bool("socket_abstract");
    spec.memif_role = cfg.get_string("role");
    spec.memif_id = int(cfg.get_int("memif_id"));
    if (driver_ == "memif" && cfg.get_int("memif_ids") > 1)
      spec.memif_id = memif_lock_.claim(spec.memif_socket, spec.memif_id, int(cfg.get_int("memif_ids")));
    spec.memif_buffer_size = int(cfg.get_int("memif_buffer_size"));
    spec.ring = cfg.get_string("ring");
    spec.packet_size = int(cfg.get_int("packet_size"));
    spec.pci_address = cfg.get_string("address");
    device_ = std::make_unique<oryx::io::EthdevDevice>(name_, spec);
    port_id_ = device_->port_id();

    setup.offloads = cfg.get_string_list("offloads");
    oryx::io::configure_ethdev(port_id_, setup, host_.mbuf_pool(rte_eth_dev_socket_id(port_id_)),
                               &rx_wake_fds_);
    if (driver_ == "af_xdp") next_xdp_read_.assign(workers_, 0);
    if (int64_t n = cfg.get_int("soft_rss_queues"); n > 1)
      soft_rss_ = std::make_unique<oryx::io::SoftRss>(name_, unsigned(n), rte_align32pow2(setup.rx_desc * 2u),
                                                      rte_eth_dev_socket_id(port_id_));
    promiscuous_ = cfg.get_bool("promiscuous");
    host_.register_port(name_, port_id_, driver_);
    data_path_ = std::make_unique<oryx::io::PortDataPath>(port_id_, rx_queues_, workers_,
                                                         !ctx.edges.empty());
  }

  void start() {
    device_->start();
    oryx::io::rx_interrupt_fds(port_id_, rx_wake_fds_);
    if (promiscuous_) rte_eth_promiscuous_enable(port_id_);
    rte_eth_link link{};
    rte_eth_link_get_nowait(port_id_, &link);
    log_.info("port ", name_, " (", driver_, ", ethdev ", port_id_, ") started: link ",
              link.link_status ? "up" : "down", ", ", rx_queues_, " rx / ", tx_queues_,
              " tx queues");
  }

  void stop() { device_->stop(); }

  // The descriptors of the receive queues `worker` polls; -1 (polled on a
  // timer by a hosted worker) when the driver has none for one of them.
  int wake_fds(uint32_t worker, int* fds, uint32_t max) {
    if (soft_rss_) return -1;  // software queues: polled on a timer
    uint32_t n = 0;
    for (uint16_t q = 0; q < rx_queues_; q++) {
      if (q % workers_ != worker) continue;
      if (rx_wake_fds_[q] < 0 || n == max) return -1;
      fds[n++] = rx_wake_fds_[q];
    }
    return int(n);
  }

  uint16_t poll(oryx_burst& b) {
    if (!next_xdp_read_.empty()) read_xdp_statistics(b);
    if (driver_ == "memif" && b.worker == 0) watch_link(b);
    if (soft_rss_) {
      if (b.worker == 0) {
        soft_rss_->spread(port_id_, &b.counters[kSoftRssSpread], &b.counters[kSoftRssRingFull]);
        soft_rss_->drain_tx(port_id_, &b.counters[oryx::io::kTxPackets],
                            &b.counters[oryx::io::kTxBytes], &b.counters[oryx::io::kTxFull]);
      }
      return data_path_->deliver(b, soft_rss_->collect(b.worker, workers_, b.pkts, b.capacity));
    }
    return data_path_->poll(b);
  }
  void process(oryx_burst& b) {
    if (soft_rss_ && b.worker != 0) return queue_for_worker_0(b);
    data_path_->process(b);
  }

 private:
  // Software RSS, a worker but 0: its frames wait in the software transmit
  // queue for worker 0 (counted as sent when the device takes them).
  void queue_for_worker_0(oryx_burst& b) {
    uint16_t took = soft_rss_->queue_tx(b.pkts, b.count);
    for (uint16_t i = 0; i < took; i++) b.next[i] = ORYX_EDGE_CONSUMED;
    for (uint16_t i = took; i < b.count; i++) b.next[i] = ORYX_EDGE_DROP;
    b.counters[oryx::io::kTxFull] += b.count - took;
  }

  // The memif id this process took among several (memif_ids): an flock on
  // a file per socket and id, held while the port lives and dropped by
  // the kernel when the process ends, however it ends.
  class MemifIdLock {
   public:
    ~MemifIdLock() {
      if (fd_ >= 0) close(fd_);
    }
    int claim(const std::string& socket, int first, int count) {
      for (int id = first; id < first + count; id++) {
        std::string path = "/run/lock/oryx-memif-" + sanitized(socket) + "-" + std::to_string(id) + ".lock";
        int fd = open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0666);
        if (fd < 0) throw Error("memif_ids: cannot open " + path + ": " + std::strerror(errno));
        fchmod(fd, 0666);  // the worker processes may run as another user
        if (flock(fd, LOCK_EX | LOCK_NB) == 0) {
          fd_ = fd;
          return id;
        }
        close(fd);
      }
      throw Error("memif_ids: ids " + std::to_string(first) + " to " + std::to_string(first + count - 1) +
                  " of socket " + socket + " are all held by other processes");
    }

   private:
    static std::string sanitized(std::string s) {
      for (char& c : s)
        if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_' && c != '.') c = '_';
      return s;
    }
    int fd_ = -1;
  };

  // A memif peer (an application attached to this oryxd) comes and goes;
  // DPDK 22.11's memif driver reports no link events, so worker 0 looks
  // at the link every kLinkWatchMs, and counts and logs each change.
  void watch_link(oryx_burst& b) {
    uint64_t now = rte_get_timer_cycles();
    if (now < next_link_watch_) return;
    next_link_watch_ = now + rte_get_timer_hz() * kLinkWatchMs / 1000;
    rte_eth_link link{};
    if (rte_eth_link_get_nowait(port_id_, &link) != 0) return;
    const bool up = link.link_status == RTE_ETH_LINK_UP;
    if (up == link_up_) return;
    link_up_ = up;
    b.counters[up ? kLinkUp : kLinkDown]++;
    if (up)
      log_.info("port ", name_, ": link up, a peer connected");
    else
      log_.info("port ", name_, ": link down, the peer went away (its shared memory is released)");
  }

  std::string name_;
  oryx::sdk::Host host_;
  oryx::sdk::Logger log_;
  bool link_up_ = false;           // memif: as worker 0 last saw it
  uint64_t next_link_watch_ = 0;  // memif: in timer cycles
  std::string driver_;
  MemifIdLock memif_lock_;
  oryx::io::ShareAttachment share_;  // declared before device_: detached after the device is gone
  std::unique_ptr<oryx::io::EthdevDevice> device_;
  std::unique_ptr<oryx::io::SoftRss> soft_rss_;  // soft_rss_queues
  uint16_t port_id_ = 0;
  uint32_t workers_ = 1;
  uint16_t rx_queues_ = 1;
  uint16_t tx_queues_ = 1;
  bool promiscuous_ = true;
  std::vector<int> rx_wake_fds_;  // one per receive queue, -1 when none (af_xdp: its socket)
  std::vector<uint64_t> next_xdp_read_;  // af_xdp only: per worker, in timer cycles

  // Copies the kernel's statistics of the sockets of `b.worker`'s queues
  // into its counter row, every kXdpStatisticsPeriodMs.
  void read_xdp_statistics(oryx_burst& b) {
    uint64_t now = rte_get_timer_cycles();
    if (now < next_xdp_read_[b.worker]) return;
    next_xdp_read_[b.worker] = now + rte_get_timer_hz() * kXdpStatisticsPeriodMs / 1000;
    uint64_t ring_full = 0, dropped = 0, rx_invalid = 0, tx_invalid = 0;
    for (uint16_t q = 0; q < rx_queues_; q++) {
      xdp_statistics s{};
      socklen_t len = sizeof(s);
      if (q % workers_ != b.worker || rx_wake_fds_[q] < 0 ||
          getsockopt(rx_wake_fds_[q], SOL_XDP, XDP_STATISTICS, &s, &len) != 0)
        continue;
      ring_full += s.rx_ring_full;
      dropped += s.rx_dropped;
      rx_invalid += s.rx_invalid_descs;
      tx_invalid += s.tx_invalid_descs;
    }
    b.counters[kXdpRxRingFull] = ring_full;
    b.counters[kXdpRxDropped] = dropped;
    b.counters[kXdpRxInvalid] = rx_invalid;
    b.counters[kXdpTxInvalid] = tx_invalid;
  }
  std::unique_ptr<oryx::io::PortDataPath> data_path_;
};

constexpr oryx_stage_desc kPortStage = oryx::sdk::make_stage<PortStage>(
    {"port", "A DPDK ethdev port: receives into the graph and transmits what reaches it.",
     kParams, kCounters.data(), kCounterCount, ORYX_STAGE_SINK | ORYX_STAGE_INTERFACE});
constexpr const oryx_stage_desc* kStages[] = {&kPortStage, nullptr};
constexpr oryx_plugin_desc kPlugin = oryx::sdk::make_plugin(
    {"io", "1.0.0", "DPDK ethdev ports: AF_XDP, AF_PACKET, TAP, memif, ring, null, PCI", nullptr,
     kStages});

}  // namespace

ORYX_PLUGIN_EXPORT(kPlugin)
