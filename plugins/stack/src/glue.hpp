// SPDX-License-Identifier: Apache-2.0
// glue.hpp - the seam between the stack's two translation-unit families.
//
// lwIP's and DPDK's headers clash (struct ip6_hdr and friends), so files
// that include lwIP never include DPDK and vice versa. This header includes
// neither: packets cross it as opaque handles plus data pointers, and the
// DPDK side supplies the few mbuf operations the lwIP side needs.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace oryx::stack {

// Counters the lwIP side keeps (in the stage's control row, always under
// the lwIP core lock). Order is the order of the declared counters.
enum Counter : size_t {
  kRxFrames, kRxBytes, kTxFrames, kTxBytes,
  kRxArp, kTxArp, kArpRequestsIn, kArpRepliesIn, kArpRequestsOut, kArpRepliesOut,
  kRxIpv4, kTxIpv4, kRxIpv6, kTxIpv6,
  kRxIcmp, kTxIcmp, kIcmpEchoRequests, kIcmpEchoReplies,
  kRxTcp, kTxTcp, kRxTcpBytes, kTxTcpBytes, kRxUdp, kTxUdp, kRxUdpBytes, kTxUdpBytes,
  kTcpAccepted, kTcpClosed, kTcpReset, kTcpTimeWaitRecycled,
  kDropNotForUs, kDropTruncated, kDropUnknownEthertype, kDropTxNoMbuf, kDropTxRingFull,
  kDropTooBig, kTcpTimerTxWaits, kTcpConnections, kMbufsHeld,
  kTcpOpened, kTcpAcceptOverflow, kUdpRcvbufDrops, kSocketsOpen,
  kTcpRetransmits, kTcpPartialAckRetransmits, kTcpOutOfOrder, kTcpDuplicateSegments,
  kDropTcpOutOfWindow, kTcpRxCompacted, kTcpRecoveryProbes, kTcpTailLossProbes,
  kTcpConnectionLimitRefusals, kUdpSocketLimitRefusals, kTcpActive, kTcpTimeWait,
  kTxChecksumOffloaded,
  kLoadConnectionsOpen, kLoadRequests, kLoadConnectFailures, kLoadConnectionsLost,
  // lwIP's own statistics (lwip_statistics.cpp): Linux's SNMP counters,
  // then what lwIP dropped.
  kIpInReceives, kIpInHdrErrors, kIpInAddrErrors, kIpInUnknownProtos, kIpInDiscards,
  kIpInDelivers, kIpOutRequests, kIpOutDiscards, kIpOutNoRoutes, kIpReasmReqds, kIpReasmOks,
  kIpReasmFails, kIpFragOks, kIpFragFails, kIpFragCreates,
  kTcpActiveOpens, kTcpPassiveOpens, kTcpAttemptFails, kTcpEstabResets, kTcpInSegs, kTcpOutSegs,
  kTcpRetransSegs, kTcpInErrs, kTcpOutRsts, kTcpTimeouts,
  kUdpInDatagrams, kUdpNoPorts, kUdpInErrors, kUdpOutDatagrams,
  kIcmpInMsgs, kIcmpInErrors, kIcmpOutMsgs, kIcmpOutErrors,
  kLwipDrops, kLwipMemoryErrors,
  kCounterCount
};

// One segment of a frame being built for transmission.
struct TxSpan {
  uint8_t* data;
  uint16_t len;
};
// A jumbo frame of 9,018 bytes takes five mbufs of DPDK's default size.
constexpr unsigned kMaxTxSpans = 8;

// Operations the DPDK side provides to the lwIP side.
struct MbufOps {
  // A fresh frame of len bytes, chained over several mbufs when one cannot
  // hold it (at most kMaxTxSpans); returns its handle and writes each
  // segment's data pointer and length to `spans` and their number to
  // `count`, or nullptr when the pool is empty.
  void* (*alloc)(void* pool, uint32_t len, TxSpan* spans, unsigned* count);
  void (*free)(void* mbuf);          // a whole packet, all its segments
  void (*free_segment)(void* mbuf);  // one segment of a chained packet
  // Queues a finished frame for transmission; false when the queue is full
  // (the mbuf is then still the caller's).
  bool (*queue_tx)(void* ring, void* mbuf);
  // Asks the port to fill in the checksums lwIP left out of a frame (the
  // IPv4 header's, TCP's); false when the frame has none to fill.
  bool (*offload_checksums)(void* mbuf);
  // How full the transmit queue is, in percent of its capacity.
  unsigned (*tx_fill_percent)(void* ring);
};

// The socket layer's command ring (an rte_ring, multi-producer) that the
// stack's worker 0 drains.
struct CommandRing {
  void* ring = nullptr;
  bool (*enqueue)(void* ring, void* item) = nullptr;
  unsigned (*dequeue)(void* ring, void** items, unsigned max) = nullptr;
};

// What the shared-thread model needs from the kernel and the DPDK side:
// the kernel's worker functions (ABI 1.6) and whether frames wait in the
// stage's transmit ring.
struct SharedHooks {
  int (*worker_poll)(uint32_t worker) = nullptr;
  // Futex-like wait that polls worker 0 while spinning; 0, -ETIMEDOUT or -EINTR.
  int (*wait)(const uint32_t* word, uint32_t value, int64_t deadline_ns) = nullptr;
  bool hosted = false;  // worker 0 is hosted: the shared model is available
  void* tx_ring = nullptr;
  unsigned (*tx_queued)(void* ring) = nullptr;
  unsigned burst = 32;
};

// The process-wide socket layer (socket_layer.cpp). The first stack stage
// attaches its ring, counter row, hooks and lwIP instance (sockets live
// in that instance); `running` says whether a worker
// drains the ring (otherwise callers run their work themselves).
void sockets_attach(const CommandRing& ring, uint64_t* counters, const SharedHooks& hooks,
                    struct Instance& lwip);
void sockets_set_running(bool running);
// Runs queued socket calls; on the stack's worker, without the core lock.
void sockets_run_commands();
// The struct oryx_socket_api to publish in the service registry.
const void* sockets_api();

struct Services {
  int tcp_echo_port = 0;  // 0 = off
  int udp_echo_port = 0;
  int tcp_discard_port = 0;
  int udp_discard_port = 0;
  int http_port = 0;
  size_t http_body_bytes = 0;
};

// The load generator (load_generator.hpp): off while `connections` is 0.
struct LoadConfig {
  std::vector<std::string> targets;  // "198.18.0.2:7" or "[fd00::2]:7"
  size_t connections = 0;
  size_t in_flight = 0;
  size_t size = 64;  // request (and expected response) bytes
  // A per-worker stack's instance `owner` of `owners` (flow_hash.hpp):
  // local ports are those whose flows hash back to it.
  unsigned owner = 0, owners = 1;
};

struct InterfaceConfig {
  std::string name;
  // The lwIP instance (instance.hpp): stages naming the same one share a
  // connection table and a core lock.
  std::string instance = "default";
  // The CPU of the worker that drives the stack: the instance's timer
  // thread runs there (-1: where it is created). Elsewhere it shares a CPU
  // with other busy threads and can be preempted holding the core lock,
  // long at 100,000 connections, where lwIP's slow timer visits each.
  int timer_cpu = -1;
  uint8_t mac[6];
  uint16_t mtu;
  std::string ipv4, ipv4_mask, ipv4_gateway;  // dotted quads, may be empty
  std::string ipv6;                            // may be empty
  bool gratuitous_arp;
  size_t time_wait_max = 131072;  // TIME_WAIT connections kept, as Linux's tcp_max_tw_buckets
  size_t receive_window = 0;   // bytes; 0 keeps lwIP's ceiling (TCP_WND)
  uint32_t delayed_ack_ms = 0;  // 0 keeps lwIP's (TCP_DELACK_DELAY, lwip patch 0022)
  size_t max_connections = 0;  // TCP connections (lwIP's pcbs, TIME_WAIT too); 0: no ceiling
  size_t max_udp_sockets = 0;  // UDP sockets and services; 0: no ceiling
  // The port computes IPv4 header and TCP checksums (its tx_checksum
  // offload is on): lwIP leaves them out (MbufOps::offload_checksums).
  bool tx_checksum_offload = false;
  LoadConfig load;
};

// One lwIP network interface bound to a port of the graph.
// One row of the connection table (see connection_table.hpp).
struct ConnectionRow {
  std::string proto, local, remote, state;
  std::string instance;  // the lwIP instance's name (instance.hpp)
  uint64_t send_queue = 0, recv_queue = 0;
  bool tcp = false;  // the fields below are set (windows, timers, like ss -ti)
  uint32_t snd_wnd = 0, rcv_wnd = 0, cwnd = 0, rto_ms = 0;
  int32_t rtime = 0;  // retransmission timer ticks; -1 when stopped
  uint8_t rto_backoff = 0, persist_backoff = 0;
  bool unacked = false, unsent = false;
};

class Interface {
 public:
  // Starts lwIP (once per process) and adds the interface. `counters` is
  // the stage's control row. Throws std::runtime_error on failure.
  Interface(const InterfaceConfig& cfg, const Services& services, const MbufOps& ops,
            void* pool, void* tx_ring, uint64_t* counters);
  ~Interface();
  Interface(const Interface&) = delete;
  Interface& operator=(const Interface&) = delete;

  // Hands received frames to lwIP without copying: each mbuf segment is
  // wrapped in a custom pbuf placed in its headroom and freed when lwIP is
  // done. `headroom` must have room for headroom_needed() bytes. A chained
  // packet is given as consecutive frames, the first with `segments` = the
  // number of segments and `total_len` = the packet length; later
  // segments have segments = 0.
  struct Frame {
    void* mbuf;
    uint8_t* data;
    uint16_t len;
    uint8_t* headroom;
    uint16_t segments;
    uint32_t total_len;
    // First frame of a packet: its TCP/UDP checksum was verified (by the
    // port or the stack's validation), so lwIP need not sum it again.
    bool checksum_verified = false;
  };
  void input(const Frame* frames, uint16_t count);
  static size_t headroom_needed();

  // Brings the link up (gratuitous ARP, IPv6 link-local) / down.
  void up();
  void down();

  // Every live TCP and UDP endpoint of this interface's lwIP instance
  // (netstat-like; one table for all the instance's interfaces). The core
  // lock is held only while the PCB lists are copied, not while rows are
  // formatted.
  std::vector<ConnectionRow> connections() const;
  // Those of every instance of the process.
  static std::vector<ConnectionRow> all_connections();
  // The lwIP instance (instance.hpp) the interface belongs to.
  struct Instance& instance() const;

 private:
  static std::vector<ConnectionRow> connections_of(struct Instance& inst);
  struct Impl;
  // lwIP's timer, once a second: the connection gauges and lwIP's own
  // statistics into the stage's counters.
  static void refresh_tick(void* impl);
  Impl* impl_;
};

}  // namespace oryx::stack
