// SPDX-License-Identifier: Apache-2.0
// socket_addr.cpp - sockaddr <-> lwIP addresses (IPv4, IPv6 and
// IPv4-mapped IPv6 for dual-stack sockets), and iovec copies.
#include "socket_ops.hpp"

extern "C" {
#include <lwip/netif.h>
#include <lwip/priv/instance_state.h>
#include <lwip/sys.h>
}

#include <netinet/in.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace oryx::stack::ops {

int to_ip(const Socket& s, const sockaddr* addr, socklen_t len, ip_addr_t& ip, uint16_t& port) {
  if (!addr) return -EFAULT;
  if (s.domain == AF_INET) {
    if (len < socklen_t(sizeof(sockaddr_in))) return -EINVAL;
    if (addr->sa_family != AF_INET) return -EAFNOSUPPORT;
    auto* in = reinterpret_cast<const sockaddr_in*>(addr);
    ip_addr_set_ip4_u32_val(ip, in->sin_addr.s_addr);
    port = ntohs(in->sin_port);
    return 0;
  }
  if (len < socklen_t(sizeof(sockaddr_in6))) return -EINVAL;
  if (addr->sa_family != AF_INET6) return -EAFNOSUPPORT;
  auto* in6 = reinterpret_cast<const sockaddr_in6*>(addr);
  port = ntohs(in6->sin6_port);
  if (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr)) {
    if (s.v6only) return -ENETUNREACH;
    uint32_t v4;
    std::memcpy(&v4, in6->sin6_addr.s6_addr + 12, 4);
    ip_addr_set_ip4_u32_val(ip, v4);
    return 0;
  }
  uint32_t w[4];
  std::memcpy(w, in6->sin6_addr.s6_addr, 16);
  IP_ADDR6(&ip, w[0], w[1], w[2], w[3]);
  if (ip6_addr_islinklocal(ip_2_ip6(&ip)) && in6->sin6_scope_id)
    ip6_addr_set_zone(ip_2_ip6(&ip), u8_t(in6->sin6_scope_id));
  return 0;
}

void from_ip(const Socket& s, const ip_addr_t& ip, uint16_t port, sockaddr* addr, socklen_t* len) {
  if (!addr || !len) return;
  sockaddr_storage ss{};
  socklen_t full;
  if (s.domain == AF_INET) {
    auto* in = reinterpret_cast<sockaddr_in*>(&ss);
    in->sin_family = AF_INET;
    in->sin_port = htons(port);
    in->sin_addr.s_addr = IP_IS_V4_VAL(ip) ? ip_2_ip4(&ip)->addr : 0;
    full = sizeof(sockaddr_in);
  } else {
    auto* in6 = reinterpret_cast<sockaddr_in6*>(&ss);
    in6->sin6_family = AF_INET6;
    in6->sin6_port = htons(port);
    if (IP_IS_V4_VAL(ip)) {
      // IPv4 peers of a dual-stack socket appear as ::ffff:a.b.c.d;
      // the wildcard stays ::.
      if (!ip_addr_isany(&ip)) {
        in6->sin6_addr.s6_addr[10] = 0xff;
        in6->sin6_addr.s6_addr[11] = 0xff;
        std::memcpy(in6->sin6_addr.s6_addr + 12, &ip_2_ip4(&ip)->addr, 4);
      }
    } else {
      std::memcpy(in6->sin6_addr.s6_addr, ip_2_ip6(&ip)->addr, 16);
      if (ip6_addr_islinklocal(ip_2_ip6(&ip))) in6->sin6_scope_id = ip6_addr_zone(ip_2_ip6(&ip));
    }
    full = sizeof(sockaddr_in6);
  }
  std::memcpy(addr, &ss, std::min(*len, full));  // truncated like Linux
  *len = full;
}

bool is_local(const ip_addr_t& ip) {
  netif* n;
  NETIF_FOREACH(n) {
    if (IP_IS_V4_VAL(ip) && ip4_addr_cmp(netif_ip4_addr(n), ip_2_ip4(&ip)) &&
        !ip4_addr_isany_val(*netif_ip4_addr(n)))
      return true;
    if (IP_IS_V6_VAL(ip) && netif_get_ip6_addr_match(n, ip_2_ip6(&ip)) >= 0) return true;
  }
  return false;
}

u8_t ip_type(const Socket& s) {
  if (s.domain == AF_INET) return IPADDR_TYPE_V4;
  return s.v6only ? IPADDR_TYPE_V6 : IPADDR_TYPE_ANY;
}

size_t iov_total(const msghdr& msg) {
  size_t total = 0;
  for (size_t i = 0; i < msg.msg_iovlen; i++) total += msg.msg_iov[i].iov_len;
  return total;
}

size_t copy_to_iov(const msghdr& msg, size_t at, const pbuf* p, size_t p_off, size_t n) {
  // A pbuf chain holds at most 65,535 bytes, so u16 offsets suffice.
  size_t copied = 0;
  for (size_t i = 0; i < msg.msg_iovlen && copied < n; i++) {
    const iovec& v = msg.msg_iov[i];
    if (at >= v.iov_len) {
      at -= v.iov_len;
      continue;
    }
    size_t room = std::min(v.iov_len - at, n - copied);
    copied += pbuf_copy_partial(p, static_cast<char*>(v.iov_base) + at, u16_t(room),
                                u16_t(p_off + copied));
    at = 0;
  }
  return copied;
}

uint64_t now_ms() { return sys_now(); }

}  // namespace oryx::stack::ops
