// SPDX-License-Identifier: Apache-2.0
// load_generator.cpp - see load_generator.hpp. Runs in lwIP context: the
// connect and receive callbacks, and a 1 ms timer that opens connections
// a batch at a time (a burst of 100,000 SYNs would overflow the ARP queue
// and the server's accept queue alike).
#include "load_generator.hpp"

#include "flow_hash.hpp"

extern "C" {
#include <lwip/ip6.h>
#include <lwip/ip_addr.h>
#include <lwip/netif.h>
#include <lwip/pbuf.h>
#include <lwip/tcp.h>
#include <lwip/timeouts.h>
}

#include <algorithm>
#include <stdexcept>

namespace oryx::stack {

namespace {
// SYNs without an answer at once: below a listener's backlog (the echo
// service's is 255), where a server drops further SYNs for a second.
constexpr size_t kMaxConnecting = 128;
constexpr u32_t kOpenTickMs = 1;
constexpr u16_t kFirstLocalPort = 1024;
}  // namespace

struct LoadGenerator::Target {
  ip_addr_t ip;
  u16_t port;
  u32_t next_local_port = kFirstLocalPort;  // each target has its own 64,512
  // One connection was established: the peer's MAC is known. Before that
  // a target gets one SYN at a time: lwIP queues few packets while it
  // resolves an address, and drops the rest (each then waits for its
  // SYN's retransmission timeout).
  bool reached = false;
  size_t connecting = 0;  // its SYNs without an answer
};

struct LoadGenerator::Conn {
  LoadGenerator* gen;
  Target* target;
  tcp_pcb* pcb = nullptr;
  bool open = false;
  size_t awaiting = 0;  // response bytes still due

  static err_t on_connected(void* arg, tcp_pcb*, err_t err) {
    auto* self = static_cast<Conn*>(arg);
    LoadGenerator* g = self->gen;
    g->connecting_--;
    self->target->connecting--;
    if (err != ERR_OK) return ERR_OK;  // lwIP reports failures through on_err
    self->open = true;
    self->target->reached = true;
    g->established_++;
    g->c_[kLoadConnectionsOpen]++;
    g->idle_.push_back(self);
    if (g->established_ == g->cfg_.connections && !g->sending_) g->start_sending();
    return ERR_OK;
  }

  static err_t on_recv(void* arg, tcp_pcb* pcb, pbuf* p, err_t) {
    auto* self = static_cast<Conn*>(arg);
    if (!p) {  // the server closed: this connection carries no more requests
      self->lost();
      tcp_arg(pcb, nullptr);
      tcp_abort(pcb);
      return ERR_ABRT;
    }
    size_t len = p->tot_len;
    tcp_recved(pcb, u16_t(len));
    pbuf_free(p);
    if (self->awaiting == 0) return ERR_OK;  // more than was asked for: ignored
    self->awaiting -= std::min(len, self->awaiting);
    if (self->awaiting == 0) {
      LoadGenerator* g = self->gen;
      g->c_[kLoadRequests]++;
      g->idle_.push_back(self);
      g->send_next();
    }
    return ERR_OK;
  }

  static void on_err(void* arg, err_t) {  // the pcb is already freed
    auto* self = static_cast<Conn*>(arg);
    if (!self) return;
    self->pcb = nullptr;
    if (self->open) {
      self->lost();
    } else {
      self->gen->connecting_--;
      self->target->connecting--;
      self->gen->c_[kLoadConnectFailures]++;
    }
  }

  // An open connection is gone: a request it carried is sent elsewhere.
  void lost() {
    LoadGenerator* g = gen;
    open = false;
    pcb = nullptr;
    g->established_--;
    g->c_[kLoadConnectionsOpen]--;
    g->c_[kLoadConnectionsLost]++;
    auto it = std::find(g->idle_.begin(), g->idle_.end(), this);
    if (it != g->idle_.end()) g->idle_.erase(it);
    if (awaiting) {
      awaiting = 0;
      g->send_next();
    }
  }
};

namespace {

void parse_target(const std::string& text, ip_addr_t* ip, u16_t* port) {
  std::string host = text, port_text;
  if (!text.empty() && text[0] == '[') {
    size_t end = text.find("]:");
    if (end == std::string::npos) throw std::invalid_argument("load target " + text + ": expected [IPv6]:port");
    host = text.substr(1, end - 1);
    port_text = text.substr(end + 2);
  } else {
    size_t colon = text.rfind(':');
    if (colon == std::string::npos) throw std::invalid_argument("load target " + text + ": expected address:port");
    host = text.substr(0, colon);
    port_text = text.substr(colon + 1);
  }
  char* end = nullptr;
  unsigned long p = std::strtoul(port_text.c_str(), &end, 10);
  if (port_text.empty() || *end || p == 0 || p > 65535)
    throw std::invalid_argument("load target " + text + ": bad port");
  if (!ipaddr_aton(host.c_str(), ip)) throw std::invalid_argument("load target " + text + ": bad address");
  *port = u16_t(p);
}

}  // namespace

LoadGenerator::LoadGenerator(const LoadConfig& cfg, netif* nif, uint64_t* counters,
                             const TxBacklog* tx)
    : cfg_(cfg), nif_(nif), c_(counters), tx_(tx), request_(cfg.size, 'r') {
  if (cfg_.targets.empty()) throw std::invalid_argument("load_connections needs load_targets");
  for (const std::string& t : cfg_.targets) {
    auto target = std::make_unique<Target>();
    parse_target(t, &target->ip, &target->port);
    targets_.push_back(std::move(target));
  }
  size_t per_target = (cfg_.connections + targets_.size() - 1) / targets_.size();
  if (per_target > 65536 - kFirstLocalPort)
    throw std::invalid_argument("load_connections " + std::to_string(cfg_.connections) + " over " +
                                std::to_string(targets_.size()) +
                                " target(s): at most 64,512 per target (local ports 1024-65535)");
  if (cfg_.in_flight == 0 || cfg_.in_flight > cfg_.connections) cfg_.in_flight = cfg_.connections;
  conns_.reserve(cfg_.connections);
  for (size_t i = 0; i < cfg_.connections; i++) {
    auto conn = std::make_unique<Conn>();
    conn->gen = this;
    conn->target = targets_[i % targets_.size()].get();
    conns_.push_back(std::move(conn));
  }
  sys_timeout(kOpenTickMs, open_tick, this);
}

LoadGenerator::~LoadGenerator() {
  sys_untimeout(open_tick, this);
  for (auto& conn : conns_) {
    if (!conn->pcb) continue;
    tcp_arg(conn->pcb, nullptr);
    tcp_abort(conn->pcb);  // a reset, as loadgen --reset sends
  }
}

void LoadGenerator::open_tick(void* arg) {
  auto* self = static_cast<LoadGenerator*>(arg);
  self->open_more();
  if (self->opened_ < self->conns_.size()) sys_timeout(kOpenTickMs, open_tick, self);
}

void LoadGenerator::open_more() {
  if (!netif_is_up(nif_) || !netif_is_link_up(nif_)) return;
  while (connecting_ < kMaxConnecting && opened_ < conns_.size()) {
    Conn* conn = conns_[opened_].get();
    Target* t = conn->target;
    if (!t->reached && t->connecting) break;  // its first SYN is still out
    // The SYNs wait for the next tick rather than overflow the ring.
    if (tx_ && tx_->half_full()) break;
    opened_++;
    tcp_pcb* pcb = tcp_new_ip_type(IP_GET_TYPE(&t->ip));
    if (!pcb) {
      c_[kLoadConnectFailures]++;  // max_connections reached
      continue;
    }
    // Every target's connections use ports 1024-65535; the same port
    // toward another target is another 4-tuple.
    ip_set_option(pcb, SOF_REUSEADDR);
    err_t e = ERR_USE;
    while (e != ERR_OK && t->next_local_port <= 65535) {
      u16_t port = u16_t(t->next_local_port++);
      if (owns(*t, port))
        e = tcp_bind(pcb, IP_IS_V6(&t->ip) ? IP6_ADDR_ANY : IP4_ADDR_ANY, port);
    }
    if (e == ERR_OK) {
      tcp_arg(pcb, conn);
      tcp_err(pcb, Conn::on_err);
      tcp_recv(pcb, Conn::on_recv);
      tcp_nagle_disable(pcb);
      e = tcp_connect(pcb, &t->ip, t->port, Conn::on_connected);
    }
    if (e != ERR_OK) {
      tcp_arg(pcb, nullptr);
      tcp_abort(pcb);
      c_[kLoadConnectFailures]++;
      continue;
    }
    conn->pcb = pcb;
    connecting_++;
    t->connecting++;
  }
}

bool LoadGenerator::owns(const Target& t, uint16_t local_port) const {
  if (cfg_.owners <= 1) return true;
  // The address this interface sends from to the target, as the target's
  // answers will carry it.
  const ip_addr_t* local = nullptr;
  if (IP_IS_V6(&t.ip)) {
#if LWIP_IPV6
    local = ip6_select_source_address(nif_, ip_2_ip6(&t.ip));
#endif
  } else {
    local = netif_ip_addr4(nif_);
  }
  if (!local) return true;  // no route: the connection fails either way
  const bool v6 = IP_IS_V6(&t.ip);
  const uint8_t* remote_bytes = v6 ? reinterpret_cast<const uint8_t*>(ip_2_ip6(&t.ip)->addr)
                                   : reinterpret_cast<const uint8_t*>(&ip_2_ip4(&t.ip)->addr);
  const uint8_t* local_bytes = v6 ? reinterpret_cast<const uint8_t*>(ip_2_ip6(local)->addr)
                                  : reinterpret_cast<const uint8_t*>(&ip_2_ip4(local)->addr);
  return flow_owner(remote_bytes, local_bytes, v6 ? 16 : 4, t.port, local_port, cfg_.owners) ==
         cfg_.owner;
}

void LoadGenerator::start_sending() {
  sending_ = true;
  for (size_t i = 0; i < cfg_.in_flight; i++) send_next();
}

void LoadGenerator::send_next() {
  if (!sending_) return;
  // The connection idle longest; one whose send queue is full goes to the
  // back (a bounded number of tries).
  for (size_t tries = idle_.size(); tries > 0; tries--) {
    Conn* conn = idle_.front();
    idle_.pop_front();
    // The request's bytes stay in request_ until acknowledged (no copy).
    if (tcp_write(conn->pcb, request_.data(), u16_t(request_.size()), 0) == ERR_OK) {
      conn->awaiting = request_.size();
      tcp_output(conn->pcb);
      return;
    }
    idle_.push_back(conn);
  }
}

}  // namespace oryx::stack
