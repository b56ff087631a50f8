// SPDX-License-Identifier: Apache-2.0
// tcp_socket.cpp - stream sockets on lwIP's raw TCP API (stack context).
//
// lwIP frees a pcb on its own in three ways we must see: an error (the err
// callback), TIME_WAIT expiry and LAST_ACK completion (no callback at all).
// So a socket lets go of its pcb (detach) as soon as both directions are
// finished; from then on lwIP completes the close alone and the socket only
// remembers the addresses.
#include "glue.hpp"
#include "socket_ops.hpp"

extern "C" {
#include <lwip/priv/instance_state.h>
#include <lwip/priv/tcp_priv.h>
#include <lwip/tcp.h>
}

#include <sys/epoll.h>
#include <sys/socket.h>

#include <algorithm>
#include <utility>
#include <cerrno>

namespace oryx::stack::ops {

namespace {

// Unread bytes beyond which received segments leave their mbufs (on_recv).
constexpr size_t kCompactAbove = 64 * 1024;

uint64_t* C = nullptr;
uint64_t scratch[kCounterCount];  // until the first stage attaches
std::vector<std::shared_ptr<ListenGroup>> g_groups;  // groups with a live listen pcb

uint64_t* counters() { return C ? C : scratch; }

void set_live(Socket& s, bool live) {
  if (s.counted_live == live) return;
  s.counted_live = live;
  if (live) counters()[kTcpConnections]++;
  else counters()[kTcpConnections]--;
}

void remember_addresses(Socket& s) {
  if (!s.tcp) return;
  s.local_ip = s.tcp->local_ip;
  s.local_port = s.tcp->local_port;
  s.remote_ip = s.tcp->remote_ip;
  s.remote_port = s.tcp->remote_port;
}

void detach(Socket& s) {
  if (!s.tcp) return;
  tcp_arg(s.tcp, nullptr);
  tcp_recv(s.tcp, nullptr);  // lwIP then acknowledges and frees late data
  tcp_sent(s.tcp, nullptr);
  tcp_err(s.tcp, nullptr);
  tcp_poll(s.tcp, nullptr, 0);
  s.tcp = nullptr;
}

// Both directions finished in order: let lwIP complete the close alone.
void release_if_finished(Socket& s) {
  if (s.shut != (kRcvShutdown | kSendShutdown) || !s.tcp) return;
  remember_addresses(s);
  detach(s);
  set_live(s, false);
  counters()[kTcpClosed]++;
}

// Ends a connection with a RST (SO_LINGER 0, unread data on close, a
// listener closing with unaccepted connections, our own timeouts).
void reset(Socket& s) {
  if (!s.tcp) return;
  tcp_pcb* pcb = s.tcp;
  remember_addresses(s);
  detach(s);
  tcp_abort(pcb);
  set_live(s, false);
  counters()[kTcpReset]++;
}

void free_rx(Socket& s) {
  for (pbuf* p : s.rx) pbuf_free(p);
  s.rx.clear();
  s.rx_off = 0;
  s.rx_bytes = 0;
}

err_t on_recv(void* arg, tcp_pcb* pcb, pbuf* p, err_t) {
  auto* s = static_cast<Socket*>(arg);
  if (!p) {  // the peer's FIN
    s->peer_fin = true;
    s->shut |= kRcvShutdown;
    release_if_finished(*s);
    publish(*s, true, EPOLLIN | EPOLLRDNORM | EPOLLRDHUP | EPOLLHUP);
    return ERR_OK;
  }
  if (s->shut & kRcvShutdown) {  // after shutdown(SHUT_RD): nobody will read it
    tcp_recved(pcb, p->tot_len);
    pbuf_free(p);
    return ERR_OK;
  }
  // Behind 64 KiB the application is not keeping up: what waits for it
  // moves to ordinary memory, so a slow reader with a large window cannot
  // hold the port's mbufs (Linux collapses such queues too).
  if (s->rx_bytes >= kCompactAbove && (p->flags & PBUF_FLAG_IS_CUSTOM)) {
    if (pbuf* copy = pbuf_clone(PBUF_RAW, PBUF_RAM, p)) {
      pbuf_free(p);
      p = copy;
      counters()[kTcpRxCompacted]++;
    }
  }
  s->rx.push_back(p);
  s->rx_bytes += p->tot_len;
  publish(*s, true, EPOLLIN | EPOLLRDNORM);
  return ERR_OK;
}

err_t on_sent(void* arg, tcp_pcb*, u16_t) {
  auto* s = static_cast<Socket*>(arg);
  s->last_progress_ms = now_ms();
  // Linux wakes writers only once the socket is writable again, and the
  // wake-up is about writing only (an EPOLLIN-only edge-triggered epoll
  // entry is not requeued by it).
  publish(*s, poll_mask(*s) & EPOLLOUT, EPOLLOUT | EPOLLWRNORM | EPOLLWRBAND);
  return ERR_OK;
}

// The pcb is already gone when lwIP calls this.
void on_err(void* arg, err_t err) {
  auto* s = static_cast<Socket*>(arg);
  s->tcp = nullptr;
  bool connecting = s->phase == Phase::kConnecting;
  bool close_wait = s->peer_fin && !(s->shut & kSendShutdown);
  // Linux's tcp_reset: refused while connecting, EPIPE in CLOSE_WAIT.
  if (err == ERR_RST) s->error = connecting ? ECONNREFUSED : close_wait ? EPIPE : ECONNRESET;
  else if (err == ERR_ABRT) s->error = ETIMEDOUT;  // retransmissions or keepalive gave up
  else if (err != ERR_CLSD) s->error = err_to_errno(err);
  if (s->error) counters()[kTcpReset]++;
  else counters()[kTcpClosed]++;
  s->phase = Phase::kClosed;
  s->shut = kRcvShutdown | kSendShutdown;
  set_live(*s, false);
  publish(*s, true);
}

// Every slow timer tick (100 ms) of a connection with TCP_USER_TIMEOUT set
// (stream_apply_options), which lwIP lacks.
err_t on_poll(void* arg, tcp_pcb* pcb) {
  auto* s = static_cast<Socket*>(arg);
  if (!s->user_timeout_ms) return ERR_OK;
  uint64_t now = now_ms();
  bool connect_expired =
      s->phase == Phase::kConnecting && now - s->connect_started_ms >= s->user_timeout_ms;
  bool send_expired = s->phase == Phase::kConnected && pcb->unacked &&
                      now - s->last_progress_ms >= s->user_timeout_ms;
  if (!connect_expired && !send_expired) return ERR_OK;
  remember_addresses(*s);
  detach(*s);
  tcp_abandon(pcb, 0);  // like Linux: give up without a RST
  s->error = ETIMEDOUT;
  s->phase = Phase::kClosed;
  s->shut = kRcvShutdown | kSendShutdown;
  set_live(*s, false);
  counters()[kTcpReset]++;
  publish(*s, true);
  return ERR_ABRT;
}

void attach(Socket& s, tcp_pcb* pcb) {
  s.tcp = pcb;
  tcp_arg(pcb, &s);
  tcp_recv(pcb, on_recv);
  tcp_sent(pcb, on_sent);
  tcp_err(pcb, on_err);
}

Socket* pick_member(ListenGroup& g) {
  for (size_t i = 0; i < g.members.size(); i++) {
    size_t k = (g.next + i) % g.members.size();
    Socket* m = g.members[k];
    if (m->accept_queue.size() <= size_t(m->backlog)) {
      g.next = k + 1;
      return m;
    }
  }
  return nullptr;
}

err_t on_accept(void* arg, tcp_pcb* pcb, err_t err) {
  auto* g = static_cast<ListenGroup*>(arg);
  if (err == ERR_MEM) counters()[kTcpConnectionLimitRefusals]++;  // no pcb: max_connections
  if (err != ERR_OK || !pcb || !g) return ERR_VAL;
  Socket* listener = pick_member(*g);
  if (!listener) {  // every accept queue full: lwIP drops the ACK (patch 0007), the peer retries
    counters()[kTcpAcceptOverflow]++;
    return ERR_WOULDBLOCK;
  }
  auto child = std::make_shared<Socket>();
  child->domain = listener->domain;
  child->type = SOCK_STREAM;
  child->phase = Phase::kConnected;
  child->bound = true;
  // Options a listener passes on, as Linux's accepted sockets inherit them.
  child->nodelay = listener->nodelay;
  child->user_mss = listener->user_mss;
  child->linger2_s = listener->linger2_s;
  child->cork = listener->cork;
  child->keepalive = listener->keepalive;
  child->keep_idle_s = listener->keep_idle_s;
  child->keep_intvl_s = listener->keep_intvl_s;
  child->keep_cnt = listener->keep_cnt;
  child->linger_on = listener->linger_on;
  child->linger_seconds = listener->linger_seconds;
  child->rcvbuf = listener->rcvbuf;
  child->sndbuf = listener->sndbuf;
  child->user_timeout_ms = listener->user_timeout_ms;
  child->tos = listener->tos;
  child->last_progress_ms = now_ms();
  attach(*child, pcb);
  remember_addresses(*child);
  stream_apply_options(*child);
  set_live(*child, true);
  counters()[kTcpAccepted]++;
  publish(*child, false);
  listener->accept_queue.push_back(std::move(child));
  publish(*listener, true);
  return ERR_OK;
}

err_t on_connected(void* arg, tcp_pcb*, err_t) {
  auto* s = static_cast<Socket*>(arg);
  s->phase = Phase::kConnected;
  remember_addresses(*s);
  s->last_progress_ms = now_ms();
  set_live(*s, true);
  publish(*s, true);
  return ERR_OK;
}

// Linux refuses a bind to an address:port someone listens on unless both
// use SO_REUSEPORT; lwIP only checks pcbs that lack SO_REUSEADDR.
bool clashes_with_listener(const Socket& s, const ip_addr_t& ip, uint16_t port) {
  for (tcp_pcb_listen* l = LWIP_INST->tcp_listen_pcbs.listen_pcbs; l; l = l->next) {
    if (l->local_port != port) continue;
    // An IPv4 and an IPV6_V6ONLY wildcard on one port coexist, as on Linux
    // (redis's default "* -::*"); a dual-stack wildcard covers both.
    bool same_family = IP_IS_ANY_TYPE_VAL(l->local_ip) || IP_IS_ANY_TYPE_VAL(ip) ||
                       IP_IS_V6_VAL(l->local_ip) == IP_IS_V6_VAL(ip);
    bool overlap = ip_addr_isany(&l->local_ip) || ip_addr_isany(&ip) || ip_addr_cmp(&l->local_ip, &ip);
    if (!same_family || !overlap) continue;
    auto it = std::find_if(g_groups.begin(), g_groups.end(), [l](const auto& g) {
      return g->pcb == reinterpret_cast<tcp_pcb*>(l);
    });
    bool shareable = it != g_groups.end() && s.reuseport &&
                     std::all_of((*it)->members.begin(), (*it)->members.end(),
                                 [](Socket* m) { return m->reuseport; });
    if (!shareable) return true;
  }
  return false;
}

std::shared_ptr<ListenGroup> find_group(const ip_addr_t& ip, uint16_t port) {
  for (const auto& g : g_groups)
    if (g->pcb->local_port == port && ip_addr_cmp(&g->pcb->local_ip, &ip)) return g;
  return nullptr;
}

}  // namespace

void set_counters(uint64_t* c) {
  C = c;
  set_udp_counters(c);
}

int stream_open(Socket& s) {
  tcp_pcb* pcb = tcp_new_ip_type(ip_type(s));
  if (!pcb) {  // max_connections (lwip patch 0013)
    counters()[kTcpConnectionLimitRefusals]++;
    return -ENOBUFS;
  }
  attach(s, pcb);
  stream_apply_options(s);
  return 0;
}

void stream_apply_options(Socket& s) {
  // A listener's pcb is its group's; TCP_MAXSEG is what its SYN-ACKs
  // announce (every pcb kind has the field: TCP_PCB_COMMON).
  if (s.phase == Phase::kListening && s.group && s.group->pcb) s.group->pcb->user_mss = s.user_mss;
  tcp_pcb* pcb = s.tcp;
  if (!pcb) return;
  pcb->user_mss = s.user_mss;
  // TCP_LINGER2 (lwIP patch 0011); "none" leaves at the slow timer's next tick.
  pcb->fin_wait_ms = s.linger2_s > 0 ? uint32_t(s.linger2_s) * 1000 : s.linger2_s < 0 ? 1 : 0;
  if (s.nodelay) tcp_nagle_disable(pcb);
  else tcp_nagle_enable(pcb);
  // TCP_CORK (lwIP patch 0009); uncorking pushes what waited, as Linux.
  if (s.cork) {
    tcp_set_flags(pcb, TF_CORK);
  } else if (pcb->flags & TF_CORK) {
    tcp_clear_flags(pcb, TF_CORK);
    if (pcb->unsent) tcp_output(pcb);
  }
  // The slow timer visits only connections it has work for (lwIP patch
  // 0017): keepalive, and TCP_USER_TIMEOUT's poll, make work for it.
  if (s.keepalive) {
    ip_set_option(pcb, SOF_KEEPALIVE);
    tcp_slow_enlist(pcb);
  } else {
    ip_reset_option(pcb, SOF_KEEPALIVE);
  }
  tcp_poll(pcb, s.user_timeout_ms ? on_poll : nullptr, 1);
  pcb->keep_idle = s.keep_idle_s * 1000;
  pcb->keep_intvl = s.keep_intvl_s * 1000;
  pcb->keep_cnt = s.keep_cnt;
  // SO_REUSEPORT needs lwIP's address reuse to let the second bind through.
  if (s.reuseaddr || s.reuseport) ip_set_option(pcb, SOF_REUSEADDR);
  else ip_reset_option(pcb, SOF_REUSEADDR);
  pcb->tos = s.tos;
  pcb->ttl = s.ttl;
  if (s.phase == Phase::kFresh) {  // IPV6_V6ONLY may still change the family
    IP_SET_TYPE_VAL(pcb->local_ip, ip_type(s));
    IP_SET_TYPE_VAL(pcb->remote_ip, ip_type(s));
  }
}

int stream_bind(Socket& s, const ip_addr_t& addr, uint16_t port) {
  if (s.bound || s.phase != Phase::kFresh || !s.tcp) return -EINVAL;
  ip_addr_t ip = addr;
  if (s.domain == AF_INET6 && !s.v6only && ip_addr_isany(&ip)) ip = *IP_ANY_TYPE;
  if (!ip_addr_isany(&ip) && !is_local(ip)) return -EADDRNOTAVAIL;
  if (port && clashes_with_listener(s, ip, port)) return -EADDRINUSE;
  err_t e = ::tcp_bind(s.tcp, &ip, port);
  if (e == ERR_USE) return -EADDRINUSE;
  if (e != ERR_OK) return -EINVAL;
  s.bound = true;
  remember_addresses(s);
  return 0;
}

int stream_listen(Socket& s, int backlog) {
  int limit = (backlog < 0 || backlog > 4096) ? 4096 : backlog;  // Linux's somaxconn
  if (s.phase == Phase::kListening) {
    s.backlog = limit;
    return 0;
  }
  if (s.phase != Phase::kFresh || !s.tcp) return -EINVAL;
  if (!s.bound) {
    int rc = stream_bind(s, s.domain == AF_INET ? *IP4_ADDR_ANY : *IP6_ADDR_ANY, 0);
    if (rc < 0) return rc;
  }
  s.backlog = limit;
  if (s.reuseport) {
    if (auto g = find_group(s.tcp->local_ip, s.tcp->local_port)) {
      bool all_reuseport = std::all_of(g->members.begin(), g->members.end(),
                                       [](Socket* m) { return m->reuseport; });
      if (!all_reuseport) return -EADDRINUSE;
      tcp_pcb* own = s.tcp;
      detach(s);
      ::tcp_close(own);  // a bound pcb that never connected: freed at once
      g->members.push_back(&s);
      s.group = g;
      s.phase = Phase::kListening;
      s.listening = true;
      publish(s, false);
      return 0;
    }
  }
  err_t err = ERR_OK;
  tcp_pcb* lpcb = tcp_listen_with_backlog_and_err(s.tcp, u8_t(std::min(limit, 255)), &err);
  if (!lpcb) return err == ERR_USE ? -EADDRINUSE : -ENOBUFS;
  s.tcp = nullptr;  // lwIP freed it; the listen pcb belongs to the group
  auto g = std::make_shared<ListenGroup>();
  g->pcb = lpcb;
  g->members.push_back(&s);
  tcp_arg(lpcb, g.get());
  tcp_accept(lpcb, on_accept);
  g_groups.push_back(g);
  s.group = std::move(g);
  s.phase = Phase::kListening;
  s.listening = true;
  publish(s, false);
  return 0;
}

int stream_accept(Socket& s, std::shared_ptr<Socket>& out) {
  if (s.phase != Phase::kListening) return -EINVAL;
  if (s.accept_queue.empty()) return -EAGAIN;
  out = std::move(s.accept_queue.front());
  s.accept_queue.pop_front();
  publish(s, false);
  return 0;
}

int stream_connect(Socket& s, const ip_addr_t& ip, uint16_t port) {
  switch (s.phase) {
    case Phase::kConnecting: return -EALREADY;
    case Phase::kConnected:
      if (std::exchange(s.connect_unreported, false)) return 0;
      return -EISCONN;
    case Phase::kListening: return -EISCONN;
    case Phase::kClosed: {
      // The failure of a non-blocking connect is the next connect()'s
      // answer; after that Linux lets a closed socket connect again.
      if (std::exchange(s.connect_unreported, false)) return s.error ? take_error(s) : -ECONNABORTED;
      s.phase = Phase::kFresh;
      s.shut = 0;
      s.error = 0;
      s.bound = false;
      s.peer_fin = false;
      free_rx(s);
      int rc = stream_open(s);
      if (rc < 0) return rc;
      break;
    }
    case Phase::kFresh: break;
  }
  if (ip_addr_isany(&ip) || port == 0) return ip_addr_isany(&ip) ? -ENETUNREACH : -ECONNREFUSED;
  err_t e = ::tcp_connect(s.tcp, &ip, port, on_connected);
  if (e == ERR_RTE) return -ENETUNREACH;
  if (e == ERR_USE || e == ERR_BUF) return -EADDRNOTAVAIL;
  if (e == ERR_ISCONN) return -EISCONN;
  if (e != ERR_OK) return -ENOBUFS;
  s.bound = true;
  s.phase = Phase::kConnecting;
  s.connect_started_ms = now_ms();
  remember_addresses(s);
  counters()[kTcpOpened]++;
  publish(s, false);
  s.connect_unreported = true;
  return -EINPROGRESS;
}

int stream_connect_result(Socket& s) {
  if (s.phase == Phase::kConnecting) return -EINPROGRESS;
  s.connect_unreported = false;  // a blocking connect() reports it now
  if (s.error) return take_error(s);
  return s.phase == Phase::kConnected ? 0 : -ECONNREFUSED;
}

ssize_t stream_send(Socket& s, const msghdr& msg, size_t offset, int flags) {
  if (s.error) return take_error(s);
  if (s.phase == Phase::kConnecting) return -EAGAIN;
  if (s.phase != Phase::kConnected || (s.shut & kSendShutdown) || !s.tcp) return -EPIPE;
  if (offset >= iov_total(msg)) return 0;
  // SO_SNDBUF narrows lwIP's send buffer; it cannot widen it.
  size_t limit = s.sndbuf ? std::min<size_t>(size_t(s.sndbuf) / 2, TCP_SND_BUF) : TCP_SND_BUF;
  size_t free = s.tcp->snd_buf;  // tcp_sndbuf() stops at 65,535
  size_t queued = TCP_SND_BUF - free;
  size_t room = std::min<size_t>(free, limit > queued ? limit - queued : 0);
  size_t total = iov_total(msg);
  size_t sent = 0, at = 0;
  for (size_t i = 0; i < msg.msg_iovlen && room > 0; i++) {
    const iovec& v = msg.msg_iov[i];
    size_t begin = offset > at ? offset - at : 0;
    at += v.iov_len;
    while (begin < v.iov_len && room > 0) {
      size_t n = std::min({v.iov_len - begin, room, size_t(0xffff)});
      bool more = offset + sent + n < total || (flags & MSG_MORE);
      err_t e = tcp_write(s.tcp, static_cast<const char*>(v.iov_base) + begin, u16_t(n),
                          TCP_WRITE_FLAG_COPY | (more ? TCP_WRITE_FLAG_MORE : 0));
      if (e != ERR_OK) {
        room = 0;  // ERR_MEM: the segment queue is full until ACKs arrive
        break;
      }
      begin += n;
      sent += n;
      room -= n;
    }
  }
  if (sent) tcp_output(s.tcp);
  publish(s, false);
  return sent ? ssize_t(sent) : -EAGAIN;
}

ssize_t stream_recv(Socket& s, msghdr& msg, size_t offset, int flags) {
  if (flags & MSG_OOB) return -EINVAL;  // no urgent data, ever
  size_t want = iov_total(msg) - offset;
  if (s.phase == Phase::kListening || (s.phase == Phase::kFresh && !s.rx_bytes)) return -ENOTCONN;
  if (s.rx_bytes > 0) {
    if (want == 0) return 0;
    size_t got = 0, off = s.rx_off;
    bool peek = flags & MSG_PEEK, discard = flags & MSG_TRUNC;
    for (size_t i = 0; i < s.rx.size() && got < want;) {
      pbuf* p = s.rx[i];
      size_t n = std::min(size_t(p->tot_len) - off, want - got);
      if (!discard) copy_to_iov(msg, offset + got, p, off, n);
      got += n;
      off += n;
      if (off < p->tot_len) break;
      off = 0;
      if (peek) {
        i++;
      } else {
        pbuf_free(p);
        s.rx.pop_front();
      }
    }
    if (!peek) {
      s.rx_off = off;
      s.rx_bytes -= got;
      // Open the window only as the application reads: TCP backpressure.
      for (size_t left = got; s.tcp && left > 0;) {
        u16_t n = u16_t(std::min<size_t>(left, 0xffff));
        tcp_recved(s.tcp, n);
        left -= n;
      }
      publish(s, false);
    }
    return ssize_t(got);
  }
  if (s.error) return take_error(s);
  if ((s.shut & kRcvShutdown) || s.phase == Phase::kClosed) return 0;
  return -EAGAIN;
}

int stream_shutdown(Socket& s, int how) {
  if (how != SHUT_RD && how != SHUT_WR && how != SHUT_RDWR) return -EINVAL;
  if (s.phase != Phase::kConnected && s.phase != Phase::kConnecting) return -ENOTCONN;
  if (how != SHUT_WR) s.shut |= kRcvShutdown;
  if (how != SHUT_RD && !(s.shut & kSendShutdown)) {
    if (s.tcp && ::tcp_shutdown(s.tcp, 0, 1) != ERR_OK) {
      reset(s);  // no memory for the FIN: end it the hard way
      s.phase = Phase::kClosed;
    }
    s.shut |= kSendShutdown;
  }
  release_if_finished(s);
  publish(s, true);
  return 0;
}

void stream_close(Socket& s) {
  if (s.phase == Phase::kListening && s.group) {
    ListenGroup& g = *s.group;
    g.members.erase(std::remove(g.members.begin(), g.members.end(), &s), g.members.end());
    if (g.members.empty()) {
      tcp_arg(g.pcb, nullptr);
      tcp_accept(g.pcb, nullptr);
      ::tcp_close(g.pcb);  // never fails for a listen pcb
      g_groups.erase(std::remove(g_groups.begin(), g_groups.end(), s.group), g_groups.end());
    }
    for (auto& child : s.accept_queue) {
      reset(*child);
      free_rx(*child);
    }
    s.accept_queue.clear();
    s.group.reset();
    s.listening = false;
  } else if (s.tcp) {
    bool abortive = (s.linger_on && s.linger_seconds == 0) || s.rx_bytes > 0;
    if (abortive || s.phase != Phase::kConnected) {
      if (s.phase == Phase::kFresh || s.phase == Phase::kConnecting) {
        tcp_pcb* pcb = s.tcp;
        detach(s);
        if (::tcp_close(pcb) != ERR_OK) tcp_abort(pcb);  // no segment sent for these
      } else {
        reset(s);
      }
    } else {
      tcp_pcb* pcb = s.tcp;
      remember_addresses(s);
      detach(s);
      if (::tcp_close(pcb) != ERR_OK) {
        tcp_abort(pcb);
        counters()[kTcpReset]++;
      } else {
        counters()[kTcpClosed]++;
      }
      set_live(s, false);
    }
  }
  free_rx(s);
  s.phase = Phase::kClosed;
}

}  // namespace oryx::stack::ops
