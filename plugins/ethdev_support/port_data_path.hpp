// SPDX-License-Identifier: Apache-2.0
// port_data_path.hpp - the receive and transmit bursts of a port-like stage
// (the io plugin's `port`, the bond plugin's `bond`): worker w polls
// receive queues w, w+W, ... and sends on its own transmit queue w, so no
// queue is shared between threads. The stage's counter row starts with
// the six counters of kPortCounters, in that order.
#pragma once

#include <oryx/sdk.hpp>

#include <rte_ethdev.h>
#include <rte_mbuf.h>

#include <vector>

namespace oryx::io {

enum PortCounter : size_t {
  kRxPackets, kRxBytes, kTxPackets, kTxBytes, kTxFull, kNoRoute, kPortCounterCount
};

#define ORYX_IO_PORT_COUNTERS                                                                       \
  {oryx::io::kRxPackets,                                                                            \
   oryx::sdk::counter("rx_packets", "packets", "Packets received from the device.")},               \
  {oryx::io::kRxBytes, oryx::sdk::counter("rx_bytes", "bytes", "Bytes received from the device.")}, \
  {oryx::io::kTxPackets,                                                                            \
   oryx::sdk::counter("tx_packets", "packets", "Packets the device accepted for sending.")},        \
  {oryx::io::kTxBytes,                                                                              \
   oryx::sdk::counter("tx_bytes", "bytes", "Bytes the device accepted for sending.")},              \
  {oryx::io::kTxFull, oryx::sdk::counter("tx_full", "packets",                                      \
                                        "Packets dropped because the transmit queue was full.")},   \
  {oryx::io::kNoRoute,                                                                              \
   oryx::sdk::counter("rx_no_route", "packets",                                                     \
                      "Received packets dropped because the stage has no next edge.")}

class PortDataPath {
 public:
  PortDataPath(uint16_t port_id, uint16_t rx_queues, uint32_t workers, bool has_route)
      : port_id_(port_id), has_route_(has_route), owned_(workers) {
    for (uint16_t q = 0; q < rx_queues; q++) owned_[q % workers].push_back(q);
  }

  uint16_t poll(oryx_burst& b) const {
    uint16_t got = 0;
    for (uint16_t q : owned_[b.worker]) {
      if (got == b.capacity) break;
      got += rte_eth_rx_burst(port_id_, q, b.pkts + got, uint16_t(b.capacity - got));
    }
    return deliver(b, got);
  }

  // The first `got` packets of b.pkts, received from this port by other
  // means (software queues), go to the next edge and are counted.
  uint16_t deliver(oryx_burst& b, uint16_t got) const {
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

  void process(oryx_burst& b) const {
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
  uint16_t port_id_;
  bool has_route_;
  std::vector<std::vector<uint16_t>> owned_;
};

}  // namespace oryx::io
