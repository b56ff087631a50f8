// SPDX-License-Identifier: Apache-2.0
// services.hpp - built-in TCP/UDP echo, discard and HTTP responder on
// lwIP's raw API (lwIP side of the stack; must be used under the core lock).
#pragma once

#include "glue.hpp"

#include <cstdint>
#include <string>
#include <vector>

struct netif;
struct tcp_pcb;
struct udp_pcb;

namespace oryx::stack {

class ServiceSet {
 public:
  // Opens the configured listeners on the interface's addresses.
  ServiceSet(const Services& services, netif* nif, uint64_t* counters);
  // Closes listeners and aborts the connections they accepted.
  ~ServiceSet();
  ServiceSet(const ServiceSet&) = delete;
  ServiceSet& operator=(const ServiceSet&) = delete;

  // Bytes received on a service connection and not yet consumed.
  static size_t pending_bytes(const tcp_pcb* pcb);

  // Read by the connection callbacks.
  const Services services;
  uint64_t* const counters;
  std::string http_response_head;

 private:
  void listen_tcp(int port, int kind);
  void listen_udp(int port, bool echo);

  netif* nif_;
  std::vector<tcp_pcb*> tcp_listeners_;
  std::vector<udp_pcb*> udp_pcbs_;
};

}  // namespace oryx::stack
