// SPDX-License-Identifier: Apache-2.0
// udp_socket.cpp - datagram sockets on lwIP's raw UDP API (stack context).
#include "glue.hpp"
#include "socket_ops.hpp"

extern "C" {
#include <lwip/udp.h>
}

#include <sys/socket.h>

#include <algorithm>
#include <cerrno>

namespace oryx::stack::ops {

namespace {

uint64_t* g_counters = nullptr;
constexpr size_t kDefaultRcvbuf = 212992;  // Linux's net.core.rmem_default

void on_recv(void* arg, udp_pcb*, pbuf* p, const ip_addr_t* addr, u16_t port) {
  auto* s = static_cast<Socket*>(arg);
  size_t limit = s->rcvbuf ? size_t(s->rcvbuf) : kDefaultRcvbuf;
  if ((s->shut & kRcvShutdown) || s->rx_bytes + p->tot_len > limit) {
    if (g_counters) g_counters[kUdpRcvbufDrops]++;
    pbuf_free(p);
    return;
  }
  s->dgrams.push_back({p, *addr, port});
  s->rx_bytes += p->tot_len;
  publish(*s, true);
}

}  // namespace

void set_udp_counters(uint64_t* c) { g_counters = c; }

int dgram_open(Socket& s) {
  s.udp = udp_new_ip_type(ip_type(s));
  if (!s.udp) {  // max_udp_sockets (lwip patch 0013)
    if (g_counters) g_counters[kUdpSocketLimitRefusals]++;
    return -ENOBUFS;
  }
  udp_recv(s.udp, on_recv, &s);
  dgram_apply_options(s);
  return 0;
}

void dgram_apply_options(Socket& s) {
  if (!s.udp) return;
  if (s.reuseaddr || s.reuseport) ip_set_option(s.udp, SOF_REUSEADDR);
  else ip_reset_option(s.udp, SOF_REUSEADDR);
  if (s.broadcast) ip_set_option(s.udp, SOF_BROADCAST);
  else ip_reset_option(s.udp, SOF_BROADCAST);
  s.udp->tos = s.tos;
  s.udp->ttl = s.ttl;
  if (!s.bound) {
    IP_SET_TYPE_VAL(s.udp->local_ip, ip_type(s));
    IP_SET_TYPE_VAL(s.udp->remote_ip, ip_type(s));
  }
}

int dgram_bind(Socket& s, const ip_addr_t& addr, uint16_t port) {
  if (s.bound) return -EINVAL;
  ip_addr_t ip = addr;
  if (s.domain == AF_INET6 && !s.v6only && ip_addr_isany(&ip)) ip = *IP_ANY_TYPE;
  if (!ip_addr_isany(&ip) && !is_local(ip)) return -EADDRNOTAVAIL;
  err_t e = ::udp_bind(s.udp, &ip, port);
  if (e == ERR_USE) return -EADDRINUSE;
  if (e != ERR_OK) return -EINVAL;
  s.bound = true;
  s.local_ip = s.udp->local_ip;
  s.local_port = s.udp->local_port;
  return 0;
}

int dgram_connect(Socket& s, const ip_addr_t* ip, uint16_t port) {
  if (!ip) {  // AF_UNSPEC
    ::udp_disconnect(s.udp);
    s.phase = Phase::kFresh;
    s.remote_port = 0;
    return 0;
  }
  if (port == 0) return -ECONNREFUSED;
  err_t e = ::udp_connect(s.udp, ip, port);
  if (e == ERR_RTE) return -ENETUNREACH;
  if (e == ERR_USE) return -EADDRNOTAVAIL;
  if (e != ERR_OK) return -EINVAL;
  s.bound = true;
  s.phase = Phase::kConnected;
  s.local_ip = s.udp->local_ip;
  s.local_port = s.udp->local_port;
  s.remote_ip = *ip;
  s.remote_port = port;
  return 0;
}

ssize_t dgram_send(Socket& s, const msghdr& msg, int) {
  if (s.error) return take_error(s);
  if (s.shut & kSendShutdown) return -EPIPE;
  ip_addr_t ip;
  uint16_t port;
  if (msg.msg_name) {
    int rc = to_ip(s, static_cast<const sockaddr*>(msg.msg_name), msg.msg_namelen, ip, port);
    if (rc < 0) return rc;
    if (port == 0) return -EINVAL;
  } else if (s.phase == Phase::kConnected) {
    ip = s.remote_ip;
    port = s.remote_port;
  } else {
    return -EDESTADDRREQ;
  }
  size_t len = iov_total(msg);
  if (len > (IP_IS_V4(&ip) ? 65507u : 65527u)) return -EMSGSIZE;
  pbuf* p = pbuf_alloc(PBUF_TRANSPORT, u16_t(len), PBUF_RAM);
  if (!p) return -ENOBUFS;
  size_t at = 0;
  for (size_t i = 0; i < msg.msg_iovlen; i++) {
    pbuf_take_at(p, msg.msg_iov[i].iov_base, u16_t(msg.msg_iov[i].iov_len), u16_t(at));
    at += msg.msg_iov[i].iov_len;
  }
  err_t e = ::udp_sendto(s.udp, p, &ip, port);
  pbuf_free(p);
  if (!s.bound) {  // lwIP bound it to an ephemeral port
    s.bound = true;
    s.local_ip = s.udp->local_ip;
    s.local_port = s.udp->local_port;
  }
  if (e == ERR_RTE) return -ENETUNREACH;
  if (e == ERR_VAL) return -EAFNOSUPPORT;
  if (e != ERR_OK) return -ENOBUFS;
  return ssize_t(len);
}

ssize_t dgram_recv(Socket& s, msghdr& msg, int flags) {
  msg.msg_flags = 0;
  if (s.dgrams.empty()) {
    if (s.error) return take_error(s);
    if (s.shut & kRcvShutdown) return 0;
    return -EAGAIN;
  }
  Datagram d = s.dgrams.front();
  size_t room = iov_total(msg);
  size_t n = copy_to_iov(msg, 0, d.p, 0, std::min<size_t>(room, d.p->tot_len));
  if (d.p->tot_len > room) msg.msg_flags |= MSG_TRUNC;
  if (msg.msg_name) {
    socklen_t len = msg.msg_namelen;
    from_ip(s, d.from, d.port, static_cast<sockaddr*>(msg.msg_name), &len);
    msg.msg_namelen = len;
  }
  size_t full = d.p->tot_len;
  if (!(flags & MSG_PEEK)) {
    s.dgrams.pop_front();
    s.rx_bytes -= full;
    pbuf_free(d.p);
    publish(s, false);
  }
  return ssize_t((flags & MSG_TRUNC) ? full : n);
}

int dgram_shutdown(Socket& s, int how) {
  if (how != SHUT_RD && how != SHUT_WR && how != SHUT_RDWR) return -EINVAL;
  // Linux marks the shutdown even when it then reports ENOTCONN, so that
  // pollers of an unconnected socket see EPOLLHUP.
  if (how != SHUT_WR) s.shut |= kRcvShutdown;
  if (how != SHUT_RD) s.shut |= kSendShutdown;
  publish(s, true);
  return s.phase == Phase::kConnected ? 0 : -ENOTCONN;
}

void dgram_close(Socket& s) {
  if (s.udp) udp_remove(s.udp);
  s.udp = nullptr;
  for (const Datagram& d : s.dgrams) pbuf_free(d.p);
  s.dgrams.clear();
  s.rx_bytes = 0;
  s.phase = Phase::kClosed;
}

}  // namespace oryx::stack::ops
