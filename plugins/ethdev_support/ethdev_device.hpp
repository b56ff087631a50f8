// SPDX-License-Identifier: Apache-2.0
// ethdev_device.hpp - creating, configuring and removing DPDK ethdevs.
//
// Shared by the io plugin's `port` stage and the bond plugin's members
// (static library oryx_io_ethdev): one place knows each driver's
// arguments and how queues and offloads are checked against a device.
#pragma once

#include <oryx/sdk.hpp>

#include <cstdint>
#include <string>
#include <vector>

struct rte_mempool;

namespace oryx::io {

// What creates one device. `driver` is one of kDrivers.
struct DeviceSpec {
  std::string driver;
  std::string iface;          // af_xdp, af_packet: kernel interface; tap: name to create
  int queue_start = 0;        // af_xdp
  uint16_t queue_pairs = 1;   // af_xdp, af_packet
  uint16_t ring_frames = 0;   // af_packet, memif: frames per ring (0: the driver's default)
  std::string memif_socket;
  bool memif_socket_abstract = true;
  std::string memif_role;
  int memif_id = 0;
  int memif_buffer_size = 2048;
  std::string ring;           // ring: name (empty: the owner's name)
  int packet_size = 64;       // null
  std::string pci_address;    // pci
};

constexpr const char* kDrivers = "af_xdp|af_packet|tap|memif|ring|null|pci";

// A created ethdev, closed and removed when destroyed.
class EthdevDevice {
 public:
  // `owner` names the vdev ("net_<driver>_<owner>"). Throws sdk::Error.
  EthdevDevice(const std::string& owner, const DeviceSpec& spec);
  ~EthdevDevice();
  EthdevDevice(const EthdevDevice&) = delete;
  EthdevDevice& operator=(const EthdevDevice&) = delete;

  uint16_t port_id() const { return port_id_; }
  const std::string& driver() const { return driver_; }

  void start();  // throws sdk::Error
  void stop();   // idempotent

 private:
  void remove();
  void drain();
  void free_rings();
  std::string driver_;
  std::string vdev_name_;
  std::string pci_address_;
  std::string ring_;  // ring driver: the rings' name
  uint16_t port_id_ = 0;
  bool started_ = false;
};

struct QueueSetup {
  uint16_t rx_queues = 1;
  uint16_t tx_queues = 1;
  uint16_t rx_desc = 1024;
  uint16_t tx_desc = 1024;
  uint16_t mtu = 0;                    // 0 keeps the device's
  std::vector<std::string> offloads;   // names from kOffloadNames
  // Ask for link-state-change interrupts where the device raises them (a
  // bond passes this on to its members and learns of link changes so).
  bool link_interrupts = false;
};

constexpr const char* kOffloadNames = "rx_checksum, tx_checksum, tso, vlan_strip, vlan_insert";

// The schema keys every port-like stage (port, bond) shares; queue_setup()
// reads them back.
#define ORYX_IO_QUEUE_PARAMS                                                                   \
  oryx::sdk::param_int("rx_queues", 1, 64, "1",                                                \
                       "Receive queues; queue q is polled by worker q modulo the worker "      \
                       "count."),                                                              \
      oryx::sdk::param_int("rx_desc", 64, 16384, "1024",                                       \
                           "Descriptors per receive queue. af_packet: each PACKET_MMAP ring "  \
                           "(receive and transmit) holds the larger of rx_desc and tx_desc "   \
                           "frames of 2 KiB, rounded up to an even number. memif: each ring "  \
                           "holds the power of two at or above the larger (the client's size " \
                           "is the one used)."),                                               \
      oryx::sdk::param_int("tx_desc", 64, 16384, "1024",                                       \
                           "Descriptors per transmit queue (af_packet, memif: see rx_desc)."),  \
      oryx::sdk::param_int("mtu", 0, 9600, "0", "MTU to set; 0 keeps the device default."),    \
      oryx::sdk::param_bool("promiscuous", "true", "Receive frames for any destination MAC.")

// The queues ORYX_IO_QUEUE_PARAMS describe, one transmit queue per worker
// (no offloads: the caller adds those it accepts).
QueueSetup queue_setup(const oryx::sdk::Config& cfg, uint32_t workers);

// Configures queues, offloads and MTU, checking each against what the device
// offers; receive queues take mbufs from `pool`. With rx_wake_fds, fills
// one descriptor per receive queue that is readable while the queue holds
// packets, or -1 where the driver offers none (see rx_wake_fd). Throws
// sdk::Error.
void configure_ethdev(uint16_t port_id, const QueueSetup& setup, rte_mempool* pool,
                      std::vector<int>* rx_wake_fds = nullptr);

// After the port started: fills the entries still -1 with the receive
// interrupt descriptors configure_ethdev asked the driver for (the tap
// driver's), where it has them.
void rx_interrupt_fds(uint16_t port_id, std::vector<int>& rx_wake_fds);

}  // namespace oryx::io
