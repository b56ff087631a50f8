// SPDX-License-Identifier: Apache-2.0
// services.cpp - TCP/UDP echo and discard, and a minimal HTTP responder.
//
// Echo applies backpressure the TCP way: received bytes are acknowledged to
// the window (tcp_recved) only once they have been queued for sending, so a
// fast sender is slowed to the speed of the return path instead of filling
// memory.
#include "services.hpp"

#include "instance.hpp"

extern "C" {
#include <lwip/netif.h>
#include <lwip/pbuf.h>
#include <lwip/tcp.h>
#include <lwip/udp.h>
}

#include <algorithm>
#include <cctype>
#include <set>
#include <stdexcept>

namespace oryx::stack {

namespace {
enum Kind : int { kEcho, kDiscard, kHttp };
constexpr uint32_t kConnMagic = 0x6f727978;  // marks our callback_arg
constexpr size_t kMaxRequestHead = 16 * 1024;
}  // namespace

struct ServiceConn {
  uint32_t magic = kConnMagic;
  ServiceSet* set;
  tcp_pcb* pcb;
  int kind;
  std::string out;  // bytes to send (echo: received, not yet sent back)
  size_t out_off = 0;
  std::string request;  // HTTP: unparsed request bytes
  bool peer_closed = false;
  bool close_after = false;

  size_t pending() const { return out.size() - out_off; }

  void detach() {
    tcp_arg(pcb, nullptr);
    tcp_recv(pcb, nullptr);
    tcp_sent(pcb, nullptr);
    tcp_err(pcb, nullptr);
  }

  // Ends the connection in an orderly way (FIN) and forgets it. Returns
  // ERR_ABRT when lwIP had to abort instead: a callback must then return it.
  err_t close() {
    detach();
    err_t result = ERR_OK;
    if (tcp_close(pcb) != ERR_OK) {
      tcp_abort(pcb);
      result = ERR_ABRT;
    }
    set->counters[kTcpClosed]++;
    finish();
    return result;
  }

  void finish();

  // Queues received bytes for sending from the pbufs themselves, while
  // the send buffer has room; returns how many (acknowledged to the
  // window as they are queued, as flush() does).
  size_t queue_from(const pbuf* p) {
    size_t queued = 0;
    for (const pbuf* q = p; q; q = q->next) {
      for (size_t off = 0; off < q->len;) {
        size_t n = std::min<size_t>(q->len - off, tcp_sndbuf(pcb));
        if (n == 0 || tcp_write(pcb, static_cast<const char*>(q->payload) + off, u16_t(n),
                                TCP_WRITE_FLAG_COPY) != ERR_OK)
          return finish_queue(queued);
        off += n;
        queued += n;
      }
    }
    return finish_queue(queued);
  }
  size_t finish_queue(size_t queued) {
    if (queued) tcp_recved(pcb, u16_t(queued));
    return queued;
  }

  // Sends what it can; returns ERR_ABRT if the connection was aborted (the
  // object is then gone and the calling callback must return ERR_ABRT).
  err_t flush() {
    while (pending() > 0) {
      size_t room = tcp_sndbuf(pcb);
      if (room == 0) break;
      size_t n = std::min({pending(), room, size_t(0xffff)});
      err_t e = tcp_write(pcb, out.data() + out_off, u16_t(n), TCP_WRITE_FLAG_COPY);
      if (e == ERR_MEM) break;  // send queue full: wait for the sent callback
      if (e != ERR_OK) {
        detach();
        tcp_abort(pcb);
        set->counters[kTcpReset]++;
        finish();
        return ERR_ABRT;
      }
      out_off += n;
      if (kind == kEcho) tcp_recved(pcb, u16_t(n));
    }
    if (out_off > 0 && out_off * 2 >= out.size()) {
      out.erase(0, out_off);
      out_off = 0;
    }
    tcp_output(pcb);
    if (pending() == 0 && (peer_closed || close_after)) return close();
    return ERR_OK;
  }

  void handle_http() {
    while (true) {
      size_t end = request.find("\r\n\r\n");
      if (end == std::string::npos) {
        if (request.size() > kMaxRequestHead) {
          out.append("HTTP/1.1 431 Request Header Fields Too Large\r\nContent-Length: 0\r\n"
                     "Connection: close\r\n\r\n");
          close_after = true;
          request.clear();
        }
        return;
      }
      std::string head = request.substr(0, end);
      request.erase(0, end + 4);
      std::string lower = head;
      std::transform(lower.begin(), lower.end(), lower.begin(),
                     [](unsigned char ch) { return char(std::tolower(ch)); });
      bool http10 = lower.find("http/1.0") != std::string::npos;
      bool close_req = lower.find("\r\nconnection: close") != std::string::npos ||
                       (http10 && lower.find("\r\nconnection: keep-alive") == std::string::npos);
      out.append(set->http_response_head);
      if (close_req) out.append("Connection: close\r\n");
      out.append("\r\n");
      out.append(set->services.http_body_bytes, 'o');
      if (close_req) {
        close_after = true;
        request.clear();
        return;
      }
    }
  }

  static err_t on_recv(void* arg, tcp_pcb* pcb, pbuf* p, err_t err) {
    auto* self = static_cast<ServiceConn*>(arg);
    if (!self) {
      if (p) pbuf_free(p);
      return ERR_OK;
    }
    if (!p) {
      self->peer_closed = true;
      return self->flush();
    }
    if (err != ERR_OK) {
      pbuf_free(p);
      return err;
    }
    size_t len = p->tot_len;
    if (self->kind == kDiscard) {
      tcp_recved(pcb, u16_t(len));
    } else if (self->kind == kEcho && self->pending() == 0) {
      // Nothing waits to be sent: echo straight from the received buffers
      // (one copy instead of two); what does not fit waits in `out`.
      size_t queued = self->queue_from(p);
      if (queued < len) {
        self->out.assign(len - queued, '\0');
        self->out_off = 0;
        pbuf_copy_partial(p, self->out.data(), u16_t(len - queued), u16_t(queued));
      }
    } else {
      std::string& dst = self->kind == kEcho ? self->out : self->request;
      size_t at = dst.size();
      dst.resize(at + len);
      pbuf_copy_partial(p, dst.data() + at, u16_t(len), 0);
      if (self->kind == kHttp) {
        tcp_recved(pcb, u16_t(len));
        self->handle_http();
      }
    }
    pbuf_free(p);
    return self->kind != kDiscard ? self->flush() : err_t(ERR_OK);
  }

  static err_t on_sent(void* arg, tcp_pcb*, u16_t) {
    auto* self = static_cast<ServiceConn*>(arg);
    return self ? self->flush() : err_t(ERR_OK);
  }

  static void on_err(void* arg, err_t err) {
    // lwIP already freed the pcb.
    auto* self = static_cast<ServiceConn*>(arg);
    if (!self) return;
    if (err == ERR_RST) self->set->counters[kTcpReset]++;
    else self->set->counters[kTcpClosed]++;
    self->pcb = nullptr;
    self->finish();
  }
};

namespace {
// Live service connections of the current lwIP instance, for teardown;
// lwIP context only.
std::set<ServiceConn*>& live_connections() {
  Instance& inst = current_instance();
  if (!inst.services) inst.services = std::make_shared<std::set<ServiceConn*>>();
  return *static_cast<std::set<ServiceConn*>*>(inst.services.get());
}

struct ListenArg {
  ServiceSet* set;
  int kind;
};

err_t on_accept(void* arg, tcp_pcb* pcb, err_t err);
}  // namespace

void ServiceConn::finish() {
  set->counters[kTcpConnections]--;
  live_connections().erase(this);
  delete this;
}

namespace {
err_t on_accept(void* arg, tcp_pcb* pcb, err_t err) {
  auto* la = static_cast<ListenArg*>(arg);
  if (err == ERR_MEM) la->set->counters[kTcpConnectionLimitRefusals]++;  // no pcb: max_connections
  if (err != ERR_OK || !pcb) return ERR_VAL;
  auto* conn = new ServiceConn();
  conn->set = la->set;
  conn->pcb = pcb;
  conn->kind = la->kind;
  live_connections().insert(conn);
  la->set->counters[kTcpAccepted]++;
  la->set->counters[kTcpConnections]++;
  tcp_arg(pcb, conn);
  tcp_recv(pcb, ServiceConn::on_recv);
  tcp_sent(pcb, ServiceConn::on_sent);
  tcp_err(pcb, ServiceConn::on_err);
  if (la->kind != kDiscard) tcp_nagle_disable(pcb);  // request/response: no delay
  return ERR_OK;
}

void udp_echo(void* arg, udp_pcb* pcb, pbuf* p, const ip_addr_t* addr, u16_t port) {
  udp_sendto(pcb, p, addr, port);
  pbuf_free(p);
}

void udp_discard(void*, udp_pcb*, pbuf* p, const ip_addr_t*, u16_t) { pbuf_free(p); }
}  // namespace

ServiceSet::ServiceSet(const Services& services_in, netif* nif, uint64_t* counters_row)
    : services(services_in), counters(counters_row), nif_(nif) {
  http_response_head = "HTTP/1.1 200 OK\r\nServer: oryx\r\nContent-Type: text/plain\r\n"
                       "Content-Length: " + std::to_string(services.http_body_bytes) + "\r\n";
  if (services.tcp_echo_port) listen_tcp(services.tcp_echo_port, kEcho);
  if (services.tcp_discard_port) listen_tcp(services.tcp_discard_port, kDiscard);
  if (services.http_port) listen_tcp(services.http_port, kHttp);
  if (services.udp_echo_port) listen_udp(services.udp_echo_port, true);
  if (services.udp_discard_port) listen_udp(services.udp_discard_port, false);
}

void ServiceSet::listen_tcp(int port, int kind) {
  tcp_pcb* pcb = tcp_new_ip_type(IPADDR_TYPE_ANY);
  if (!pcb) throw std::runtime_error("out of memory for a TCP listener");
  // Bound to this interface, so two stack stages can offer the same port.
  tcp_bind_netif(pcb, nif_);
  if (tcp_bind(pcb, IP_ANY_TYPE, u16_t(port)) != ERR_OK) {
    tcp_close(pcb);
    throw std::runtime_error("TCP port " + std::to_string(port) + " is already in use");
  }
  tcp_pcb* listener = tcp_listen_with_backlog(pcb, 255);
  if (!listener) {
    tcp_close(pcb);
    throw std::runtime_error("cannot listen on TCP port " + std::to_string(port));
  }
  tcp_arg(listener, new ListenArg{this, kind});
  tcp_accept(listener, on_accept);
  tcp_listeners_.push_back(listener);
}

void ServiceSet::listen_udp(int port, bool echo) {
  udp_pcb* pcb = udp_new_ip_type(IPADDR_TYPE_ANY);
  if (!pcb) throw std::runtime_error("out of memory for a UDP socket");
  udp_bind_netif(pcb, nif_);
  if (udp_bind(pcb, IP_ANY_TYPE, u16_t(port)) != ERR_OK) {
    udp_remove(pcb);
    throw std::runtime_error("UDP port " + std::to_string(port) + " is already in use");
  }
  udp_recv(pcb, echo ? udp_echo : udp_discard, this);
  udp_pcbs_.push_back(pcb);
}

ServiceSet::~ServiceSet() {
  for (tcp_pcb* l : tcp_listeners_) {
    delete static_cast<ListenArg*>(l->callback_arg);
    tcp_arg(l, nullptr);
    tcp_close(l);
  }
  for (udp_pcb* u : udp_pcbs_) udp_remove(u);
  std::vector<ServiceConn*> mine;
  for (ServiceConn* conn : live_connections())
    if (conn->set == this) mine.push_back(conn);
  for (ServiceConn* conn : mine) {
    conn->detach();
    tcp_abort(conn->pcb);
    counters[kTcpReset]++;
    conn->finish();
  }
}

size_t ServiceSet::pending_bytes(const tcp_pcb* pcb) {
  auto* conn = static_cast<const ServiceConn*>(pcb->callback_arg);
  if (!conn || conn->magic != kConnMagic) return 0;
  return conn->pending() + conn->request.size();
}

}  // namespace oryx::stack
