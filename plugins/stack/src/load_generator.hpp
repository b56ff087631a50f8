// SPDX-License-Identifier: Apache-2.0
// load_generator.hpp - a TCP request/response load generator inside the
// stack (lwIP side; under the core lock): many connections to echo
// servers, a fixed number of requests in flight, each next request on the
// connection idle longest. It needs no file descriptor per connection, so
// one stack can hold 100,000 (bench/scale.sh: a client that is not the
// kernel).
#pragma once

#include "glue.hpp"
#include "instance.hpp"

#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <vector>

struct netif;
struct tcp_pcb;

namespace oryx::stack {

class LoadGenerator {
 public:
  // Starts opening cfg.connections connections from the interface's
  // addresses, spread over cfg.targets; once all are open, keeps
  // cfg.in_flight requests of cfg.size bytes outstanding; opens no more
  // while `tx` (the interface's transmit ring) is half full. Throws
  // std::invalid_argument on a bad target.
  LoadGenerator(const LoadConfig& cfg, netif* nif, uint64_t* counters, const TxBacklog* tx);
  // Aborts every connection: lwIP sends each a reset, which leaves if the
  // port still runs (at shutdown the workers have stopped first).
  ~LoadGenerator();
  LoadGenerator(const LoadGenerator&) = delete;
  LoadGenerator& operator=(const LoadGenerator&) = delete;

  struct Conn;
  struct Target;

 private:
  static void open_tick(void* self);
  void open_more();
  void start_sending();
  void send_next();
  // Whether a connection to `t` from `local_port` comes back to this
  // instance (always, unless the stack is per-worker).
  bool owns(const Target& t, uint16_t local_port) const;
  friend struct Conn;

  LoadConfig cfg_;
  netif* nif_;
  uint64_t* c_;
  const TxBacklog* tx_;
  std::vector<std::unique_ptr<Target>> targets_;
  std::vector<std::unique_ptr<Conn>> conns_;
  std::deque<Conn*> idle_;  // open connections without a request, oldest first
  std::vector<uint8_t> request_;
  size_t opened_ = 0;       // connect() calls made
  size_t connecting_ = 0;   // SYNs without an answer yet
  size_t established_ = 0;
  bool sending_ = false;
};

}  // namespace oryx::stack
