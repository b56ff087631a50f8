// SPDX-License-Identifier: Apache-2.0
// socket_options.cpp - getsockopt/setsockopt with Linux's value rules
// (int options shorter than an int are EINVAL, SO_RCVBUF/SO_SNDBUF are
// doubled, timeouts are timevals) over lwIP's pcb fields. Options the
// layer does not implement return ENOPROTOOPT, as Linux does for an
// option it does not know.
#include "socket_ops.hpp"

#include <netinet/in.h>
#include <netinet/tcp.h>
#undef TCP_MSS  // <netinet/tcp.h>'s constant; lwIP defines its own

extern "C" {
#include <lwip/priv/instance_state.h>
#include <lwip/priv/tcp_priv.h>
#include <lwip/tcp.h>
#include <lwip/udp.h>
}

#include <sys/epoll.h>
#include <sys/time.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace oryx::stack::ops {

namespace {

constexpr int kUdpBufferDefault = 212992;  // Linux's rmem_default/wmem_default
constexpr int kBufferMax = 2 * 212992;     // doubled net.core.[rw]mem_max

int put_bytes(void* value, socklen_t* len, const void* v, socklen_t size) {
  if (!value || !len) return -EFAULT;
  socklen_t n = std::min(*len, size);
  std::memcpy(value, v, n);
  *len = n;
  return 0;
}

int put_int(void* value, socklen_t* len, int v) { return put_bytes(value, len, &v, sizeof(v)); }

int get_int(const void* value, socklen_t len, int& out) {
  if (len < socklen_t(sizeof(int))) return -EINVAL;
  if (!value) return -EFAULT;
  std::memcpy(&out, value, sizeof(int));
  return 0;
}

int put_timeout(void* value, socklen_t* len, int64_t us) {
  timeval tv{time_t(us / 1000000), suseconds_t(us % 1000000)};
  return put_bytes(value, len, &tv, sizeof(tv));
}

int get_timeout(const void* value, socklen_t len, int64_t& us) {
  if (len < socklen_t(sizeof(timeval))) return -EINVAL;
  timeval tv;
  std::memcpy(&tv, value, sizeof(tv));
  if (tv.tv_usec < 0 || tv.tv_usec >= 1000000) return -EDOM;
  us = tv.tv_sec < 0 ? 0 : int64_t(tv.tv_sec) * 1000000 + tv.tv_usec;
  return 0;
}

int default_rcvbuf(const Socket& s) { return s.is_stream() ? int(LWIP_INST->tcp_rcv_wnd_max) : kUdpBufferDefault; }
int default_sndbuf(const Socket& s) { return s.is_stream() ? int(TCP_SND_BUF) : kUdpBufferDefault; }

void apply(Socket& s) {
  if (s.is_stream()) stream_apply_options(s);
  else dgram_apply_options(s);
}

int get_socket_level(Socket& s, int name, void* value, socklen_t* len) {
  switch (name) {
    case SO_REUSEADDR: return put_int(value, len, s.reuseaddr);
    case SO_REUSEPORT: return put_int(value, len, s.reuseport);
    case SO_KEEPALIVE: return put_int(value, len, s.keepalive);
    case SO_BROADCAST: return put_int(value, len, s.broadcast);
    case SO_RCVBUF: return put_int(value, len, s.rcvbuf ? s.rcvbuf : default_rcvbuf(s));
    case SO_SNDBUF: return put_int(value, len, s.sndbuf ? s.sndbuf : default_sndbuf(s));
    case SO_TYPE: return put_int(value, len, s.type);
    case SO_DOMAIN: return put_int(value, len, s.domain);
    case SO_PROTOCOL: return put_int(value, len, s.is_stream() ? IPPROTO_TCP : IPPROTO_UDP);
    case SO_ACCEPTCONN: return put_int(value, len, s.phase == Phase::kListening);
    case SO_RCVLOWAT: return put_int(value, len, 1);
    case SO_ERROR: return put_int(value, len, -take_error(s));
    case SO_LINGER: {
      linger l{s.linger_on, s.linger_seconds};
      return put_bytes(value, len, &l, sizeof(l));
    }
    case SO_RCVTIMEO: return put_timeout(value, len, s.rcvtimeo_us.load());
    case SO_SNDTIMEO: return put_timeout(value, len, s.sndtimeo_us.load());
    default: return -ENOPROTOOPT;
  }
}

int set_socket_level(Socket& s, int name, const void* value, socklen_t len) {
  if (name == SO_LINGER) {
    if (len < socklen_t(sizeof(linger))) return -EINVAL;
    linger l;
    std::memcpy(&l, value, sizeof(l));
    s.linger_on = l.l_onoff != 0;
    s.linger_seconds = std::max(0, l.l_linger);
    return 0;
  }
  if (name == SO_RCVTIMEO || name == SO_SNDTIMEO) {
    int64_t us;
    if (int rc = get_timeout(value, len, us); rc < 0) return rc;
    (name == SO_RCVTIMEO ? s.rcvtimeo_us : s.sndtimeo_us).store(us);
    return 0;
  }
  int v;
  switch (name) {
    case SO_REUSEADDR: case SO_REUSEPORT: case SO_KEEPALIVE: case SO_BROADCAST:
    case SO_RCVBUF: case SO_SNDBUF: break;
    default: return -ENOPROTOOPT;
  }
  if (int rc = get_int(value, len, v); rc < 0) return rc;
  switch (name) {
    case SO_REUSEADDR: s.reuseaddr = v != 0; break;
    case SO_REUSEPORT: s.reuseport = v != 0; break;
    case SO_KEEPALIVE: s.keepalive = v != 0; break;
    case SO_BROADCAST: s.broadcast = v != 0; break;
    // Linux doubles the value for bookkeeping overhead and reports that.
    case SO_RCVBUF: s.rcvbuf = std::clamp(v > kBufferMax / 2 ? kBufferMax : v * 2, 2304, kBufferMax); break;
    case SO_SNDBUF: s.sndbuf = std::clamp(v > kBufferMax / 2 ? kBufferMax : v * 2, 4608, kBufferMax); break;
  }
  apply(s);
  return 0;
}

// Linux's TCP state numbers (include/net/tcp_states.h) for lwIP's.
uint8_t linux_tcp_state(tcp_state st) {
  switch (st) {
    case ESTABLISHED: return 1;
    case SYN_SENT: return 2;
    case SYN_RCVD: return 3;
    case FIN_WAIT_1: return 4;
    case FIN_WAIT_2: return 5;
    case TIME_WAIT: return 6;
    case CLOSE_WAIT: return 8;
    case LAST_ACK: return 9;
    case LISTEN: return 10;
    case CLOSING: return 11;
    default: return 7;  // TCP_CLOSE
  }
}

// TCP_INFO, what monitoring tools and many servers read, from lwIP's pcb
// in Linux's units: times in microseconds, windows in segments. What lwIP
// does not keep (last send and receive times, lost and retransmitted
// totals) reads as 0.
int get_tcp_info(const Socket& s, void* value, socklen_t* len) {
  tcp_info info{};
  const tcp_pcb* p = s.tcp;
  if (!p) {
    info.tcpi_state = s.phase == Phase::kListening ? 10 : 7;
    return put_bytes(value, len, &info, sizeof(info));
  }
  constexpr uint32_t kUsPerTick = TCP_SLOW_INTERVAL * 1000;
  const uint32_t mss = p->mss ? p->mss : 536;
  info.tcpi_state = linux_tcp_state(p->state);
  info.tcpi_ca_state = (p->flags & TF_INFR) ? 3 : (p->flags & TF_RTO) ? 4 : 0;  // Recovery, Loss, Open
  info.tcpi_retransmits = p->nrtx;
  info.tcpi_probes = p->persist_probe;
  info.tcpi_backoff = p->nrtx;
  // (lwIP is built without timestamps: TCPI_OPT_TIMESTAMPS never applies)
  info.tcpi_options = ((p->flags & TF_SACK) ? TCPI_OPT_SACK : 0) |
                      ((p->flags & TF_WND_SCALE) ? TCPI_OPT_WSCALE : 0);
  info.tcpi_snd_wscale = p->snd_scale & 0xf;
  info.tcpi_rcv_wscale = p->rcv_scale & 0xf;
  info.tcpi_rto = uint32_t(std::max<int>(p->rto, 0)) * kUsPerTick;
  info.tcpi_ato = TCP_FAST_INTERVAL * 1000;
  info.tcpi_snd_mss = tcp_mss(p);
  info.tcpi_rcv_mss = tcp_mss(p);
  for (const tcp_seg* seg = p->unacked; seg; seg = seg->next) {
    info.tcpi_unacked++;
    if (seg->flags & TF_SEG_SACKED) info.tcpi_sacked++;
    if (seg->flags & TF_SEG_SACK_REXMIT) info.tcpi_retrans++;
  }
  info.tcpi_pmtu = mss + 40;
  info.tcpi_rcv_ssthresh = p->rcv_ann_wnd;
  // In microseconds (lwip patch 0012); before the first sample, lwIP's
  // coarse estimate (8 x the RTT and 4 x its variation, in slow ticks).
  info.tcpi_rtt = p->srtt_us ? p->srtt_us : uint32_t(std::max<int>(p->sa, 0) >> 3) * kUsPerTick;
  info.tcpi_rttvar =
      p->srtt_us ? p->rttvar_us : uint32_t(std::max<int>(p->sv, 0) >> 2) * kUsPerTick;
  info.tcpi_snd_ssthresh = p->ssthresh / mss;
  info.tcpi_snd_cwnd = p->cwnd / mss;
  info.tcpi_advmss = tcp_mss(p);  // lwIP announces the MSS it sends with
  info.tcpi_reordering = 3;  // duplicate ACKs before fast retransmit
  info.tcpi_rcv_space = p->rcv_wnd;
  return put_bytes(value, len, &info, sizeof(info));
}

int get_tcp_level(Socket& s, int name, void* value, socklen_t* len) {
  switch (name) {
    case TCP_INFO: return get_tcp_info(s, value, len);
    case TCP_NODELAY: return put_int(value, len, s.nodelay);
    case TCP_CORK: return put_int(value, len, s.cork);
    case TCP_FASTOPEN: return put_int(value, len, s.fastopen_queue);
    case TCP_NOTSENT_LOWAT: return put_int(value, len, int(s.notsent_lowat));
    case TCP_LINGER2:  // Linux: the default (tcp_fin_timeout) reads as its seconds
      return put_int(value, len, s.linger2_s ? s.linger2_s : int(TCP_FIN_WAIT_TIMEOUT / 1000));
    case TCP_KEEPIDLE: return put_int(value, len, int(s.keep_idle_s));
    case TCP_KEEPINTVL: return put_int(value, len, int(s.keep_intvl_s));
    case TCP_KEEPCNT: return put_int(value, len, int(s.keep_cnt));
    case TCP_USER_TIMEOUT: return put_int(value, len, int(s.user_timeout_ms));
    // Linux: the agreed MSS once connected; before, or on a listener,
    // what was set, else its default of 536.
    case TCP_MAXSEG:
      return put_int(value, len, s.tcp && s.phase == Phase::kConnected ? tcp_mss(s.tcp)
                                 : s.user_mss ? s.user_mss : 536);
    default: return -ENOPROTOOPT;
  }
}

int set_tcp_level(Socket& s, int name, const void* value, socklen_t len) {
  switch (name) {
    case TCP_NODELAY: case TCP_CORK: case TCP_KEEPIDLE: case TCP_KEEPINTVL: case TCP_KEEPCNT:
    case TCP_USER_TIMEOUT: case TCP_MAXSEG: case TCP_FASTOPEN: case TCP_NOTSENT_LOWAT:
    case TCP_LINGER2: break;
    // lwIP has no TCP Fast Open: Linux's answer when its client side is off.
    case TCP_FASTOPEN_CONNECT: return -EOPNOTSUPP;
    default: return -ENOPROTOOPT;
  }
  int v;
  if (int rc = get_int(value, len, v); rc < 0) return rc;
  switch (name) {
    case TCP_NODELAY: s.nodelay = v != 0; break;
    case TCP_CORK: s.cork = v != 0; break;
    case TCP_KEEPIDLE:
      if (v < 1 || v > 32767) return -EINVAL;
      s.keep_idle_s = uint32_t(v);
      break;
    case TCP_KEEPINTVL:
      if (v < 1 || v > 32767) return -EINVAL;
      s.keep_intvl_s = uint32_t(v);
      break;
    case TCP_KEEPCNT:
      if (v < 1 || v > 127) return -EINVAL;
      s.keep_cnt = uint32_t(v);
      break;
    case TCP_USER_TIMEOUT:
      if (v < 0) return -EINVAL;
      s.user_timeout_ms = uint32_t(v);
      break;
    case TCP_NOTSENT_LOWAT: s.notsent_lowat = uint32_t(v); break;  // any value, as Linux
    case TCP_LINGER2:  // Linux: negative is none, at most TCP_FIN_TIMEOUT_MAX (120 s)
      s.linger2_s = v < 0 ? -1 : std::min(v, 120);
      break;
    case TCP_FASTOPEN:  // accepted, no effect: Linux's default (server side off)
      if (v < 0 || (s.phase != Phase::kFresh && s.phase != Phase::kListening)) return -EINVAL;
      s.fastopen_queue = v;
      break;
    case TCP_MAXSEG:  // Linux's bounds: TCP_MIN_MSS and MAX_TCP_WINDOW
      if (v != 0 && (v < 88 || v > 32767)) return -EINVAL;
      s.user_mss = uint16_t(v);
      break;
  }
  stream_apply_options(s);
  // Uncorking or a new TCP_NOTSENT_LOWAT can make the socket writable
  // (Linux calls sk_write_space for the latter).
  if (name == TCP_CORK || name == TCP_NOTSENT_LOWAT)
    publish(s, poll_mask(s) & EPOLLOUT, EPOLLOUT | EPOLLWRNORM | EPOLLWRBAND);
  return 0;
}

int ip_level(Socket& s, int name, void* out, socklen_t* out_len, const void* in, socklen_t in_len) {
  bool set = in != nullptr;
  if (name != IP_TOS && name != IP_TTL) return -ENOPROTOOPT;
  if (!set) return put_int(out, out_len, name == IP_TOS ? s.tos : s.ttl);
  int v;
  if (int rc = get_int(in, in_len, v); rc < 0) return rc;
  if (name == IP_TTL) {
    if (v == -1) v = 64;
    if (v < 1 || v > 255) return -EINVAL;
    s.ttl = uint8_t(v);
  } else {
    s.tos = uint8_t(v & 0xfc);  // Linux keeps the ECN bits to itself
  }
  apply(s);
  return 0;
}

int ipv6_level(Socket& s, int name, void* out, socklen_t* out_len, const void* in, socklen_t in_len) {
  if (s.domain != AF_INET6 || name != IPV6_V6ONLY) return -ENOPROTOOPT;
  if (!in) return put_int(out, out_len, s.v6only);
  int v;
  if (int rc = get_int(in, in_len, v); rc < 0) return rc;
  if (s.bound) return -EINVAL;  // Linux: only before bind
  s.v6only = v != 0;
  apply(s);
  return 0;
}

// getsockopt at a level the protocol does not know: Linux's IPv4 code
// (ip_getsockopt) says EOPNOTSUPP, its IPv6 code ENOPROTOOPT.
int unknown_get_level(const Socket& s) { return s.domain == AF_INET ? -EOPNOTSUPP : -ENOPROTOOPT; }

}  // namespace

int getsockopt(Socket& s, int level, int name, void* value, socklen_t* len) {
  if (!len) return -EFAULT;
  if (int(*len) < 0) return -EINVAL;
  switch (level) {
    case SOL_SOCKET: return get_socket_level(s, name, value, len);
    case IPPROTO_TCP: return s.is_stream() ? get_tcp_level(s, name, value, len) : unknown_get_level(s);
    case IPPROTO_IP: return ip_level(s, name, value, len, nullptr, 0);
    case IPPROTO_IPV6:
      if (s.domain == AF_INET) return unknown_get_level(s);
      return ipv6_level(s, name, value, len, nullptr, 0);
    default: return unknown_get_level(s);
  }
}

int setsockopt(Socket& s, int level, int name, const void* value, socklen_t len) {
  if (!value && len > 0) return -EFAULT;
  switch (level) {
    case SOL_SOCKET: return set_socket_level(s, name, value, len);
    case IPPROTO_TCP: return s.is_stream() ? set_tcp_level(s, name, value, len) : -ENOPROTOOPT;
    case IPPROTO_IP: return ip_level(s, name, nullptr, nullptr, value ? value : "", len);
    case IPPROTO_IPV6: return ipv6_level(s, name, nullptr, nullptr, value ? value : "", len);
    default: return -ENOPROTOOPT;
  }
}

}  // namespace oryx::stack::ops
