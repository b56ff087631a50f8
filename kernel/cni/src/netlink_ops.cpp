// SPDX-License-Identifier: Apache-2.0
// netlink_ops.cpp - see netlink_ops.hpp.
#include "netlink_ops.hpp"

#include "cni_errors.hpp"

#include <fcntl.h>
#include <linux/ethtool.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <functional>
#include <memory>

extern "C" {
#include <netlink/netlink.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <netlink/route/link/veth.h>
#include <netlink/route/route.h>
}

namespace oryx::cni {

namespace {

using Socket = std::unique_ptr<nl_sock, decltype(&nl_socket_free)>;
using Link = std::unique_ptr<rtnl_link, decltype(&rtnl_link_put)>;

Socket connect_route() {
  Socket sk(nl_socket_alloc(), nl_socket_free);
  if (!sk || nl_connect(sk.get(), NETLINK_ROUTE) < 0)
    throw CniError(kIoFailure, "cannot open a netlink socket");
  return sk;
}

void check(int rc, const std::string& what) {
  if (rc < 0) throw CniError(kIoFailure, what + ": " + nl_geterror(rc));
}

int open_netns(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    throw CniError(kInvalidEnvironment, "CNI_NETNS: cannot open network namespace " + path + ": " +
                                            std::strerror(errno));
  return fd;
}

// Runs fn in the namespace at `path` (this process is single-threaded:
// setns moves it, and it moves back after).
void in_netns(const std::string& path, const std::function<void()>& fn) {
  if (path.empty()) return fn();
  int self = ::open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
  int target = open_netns(path);
  if (self < 0 || setns(target, CLONE_NEWNET) != 0) {
    int err = errno;
    ::close(target);
    if (self >= 0) ::close(self);
    throw CniError(kIoFailure, "cannot enter network namespace " + path + ": " + std::strerror(err));
  }
  ::close(target);
  try {
    fn();
  } catch (...) {
    setns(self, CLONE_NEWNET);
    ::close(self);
    throw;
  }
  setns(self, CLONE_NEWNET);
  ::close(self);
}

Link get_link(nl_sock* sk, const std::string& name) {
  rtnl_link* l = nullptr;
  if (rtnl_link_get_kernel(sk, 0, name.c_str(), &l) < 0) l = nullptr;
  return Link(l, rtnl_link_put);
}

std::string mac_of(nl_sock* sk, const std::string& name) {
  Link l = get_link(sk, name);
  char buf[32] = "";
  if (l && rtnl_link_get_addr(l.get())) nl_addr2str(rtnl_link_get_addr(l.get()), buf, sizeof(buf));
  return buf;
}

// Brings a link up, and sets its alias when one is given (the kernel
// takes an alias only from a change, not at creation).
void set_up(nl_sock* sk, const std::string& name, const std::string& alias = "") {
  Link l = get_link(sk, name);
  if (!l) throw CniError(kIoFailure, "no link " + name);
  Link change(rtnl_link_alloc(), rtnl_link_put);
  rtnl_link_set_flags(change.get(), IFF_UP);
  if (!alias.empty()) rtnl_link_set_ifalias(change.get(), alias.c_str());
  check(rtnl_link_change(sk, l.get(), change.get(), 0), "cannot bring " + name + " up");
}

}  // namespace

VethEnds create_veth(const std::string& host, const std::string& alias, const std::string& ifname,
                     const std::string& netns_path, int mtu) {
  Socket sk = connect_route();
  if (get_link(sk.get(), host))
    throw CniError(kAlreadyExists, "the attachment exists already (host interface " + host + ")");
  int ns = open_netns(netns_path);
  Link veth(rtnl_link_veth_alloc(), rtnl_link_put);
  rtnl_link_set_name(veth.get(), host.c_str());
  rtnl_link_set_mtu(veth.get(), unsigned(mtu));
  rtnl_link* peer = rtnl_link_veth_get_peer(veth.get());
  rtnl_link_set_name(peer, ifname.c_str());
  rtnl_link_set_mtu(peer, unsigned(mtu));
  rtnl_link_set_ns_fd(peer, ns);
  rtnl_link_put(peer);
  int rc = rtnl_link_add(sk.get(), veth.get(), NLM_F_CREATE | NLM_F_EXCL);
  ::close(ns);
  if (rc == -NLE_EXIST)
    throw CniError(kAlreadyExists, "an interface " + ifname + " or " + host + " exists already");
  check(rc, "cannot create the veth pair " + host + " / " + ifname);
  VethEnds ends;
  try {
    set_up(sk.get(), host, alias);
    ends.host_mac = mac_of(sk.get(), host);
    in_netns(netns_path, [&] {
      Socket pod = connect_route();
      ends.pod_mac = mac_of(pod.get(), ifname);
    });
  } catch (...) {
    delete_link(host);
    throw;
  }
  return ends;
}

void configure_pod(const std::string& netns_path, const std::string& ifname,
                   const std::vector<Address>& addresses, const std::vector<Route>& routes) {
  in_netns(netns_path, [&] {
    Socket sk = connect_route();
    set_up(sk.get(), "lo");
    set_up(sk.get(), ifname);
    Link l = get_link(sk.get(), ifname);
    int index = l ? rtnl_link_get_ifindex(l.get()) : 0;
    for (const auto& a : addresses) {
      nl_addr* local = nullptr;
      check(nl_addr_parse(a.cidr.c_str(), AF_UNSPEC, &local), "bad address " + a.cidr);
      std::unique_ptr<rtnl_addr, decltype(&rtnl_addr_put)> addr(rtnl_addr_alloc(), rtnl_addr_put);
      rtnl_addr_set_ifindex(addr.get(), index);
      rtnl_addr_set_local(addr.get(), local);
      if (nl_addr_get_family(local) == AF_INET6) rtnl_addr_set_flags(addr.get(), IFA_F_NODAD);
      nl_addr_put(local);
      check(rtnl_addr_add(sk.get(), addr.get(), 0), "cannot add " + a.cidr + " to " + ifname);
    }
    for (const auto& r : routes) {
      nl_addr* dst = nullptr;
      check(nl_addr_parse(r.dst.c_str(), AF_UNSPEC, &dst), "bad route " + r.dst);
      std::unique_ptr<rtnl_route, decltype(&rtnl_route_put)> route(rtnl_route_alloc(),
                                                                  rtnl_route_put);
      rtnl_route_set_family(route.get(), uint8_t(nl_addr_get_family(dst)));
      rtnl_route_set_dst(route.get(), dst);
      nl_addr_put(dst);
      rtnl_nexthop* hop = rtnl_route_nh_alloc();
      rtnl_route_nh_set_ifindex(hop, index);
      if (!r.gw.empty()) {
        nl_addr* gw = nullptr;
        check(nl_addr_parse(r.gw.c_str(), AF_UNSPEC, &gw), "bad gateway " + r.gw);
        rtnl_route_nh_set_gateway(hop, gw);
        nl_addr_put(gw);
      }
      rtnl_route_add_nexthop(route.get(), hop);
      check(rtnl_route_add(sk.get(), route.get(), NLM_F_CREATE),
            "cannot add the route to " + r.dst + " in the pod");
    }
  });
}

void disable_tx_checksum(const std::string& netns_path, const std::string& ifname) {
  in_netns(netns_path, [&] {
    int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) throw CniError(kIoFailure, "socket: " + std::string(std::strerror(errno)));
    ethtool_value value{ETHTOOL_STXCSUM, 0};
    ifreq ifr{};
    std::strncpy(ifr.ifr_name, ifname.c_str(), IFNAMSIZ - 1);
    ifr.ifr_data = reinterpret_cast<char*>(&value);
    int rc = ioctl(fd, SIOCETHTOOL, &ifr);
    int err = errno;
    ::close(fd);
    if (rc != 0)
      throw CniError(kIoFailure, "cannot turn transmit checksum offload off on " + ifname + ": " +
                                     std::strerror(err));
  });
}

bool delete_link(const std::string& name) {
  Socket sk = connect_route();
  Link l = get_link(sk.get(), name);
  if (!l) return false;
  check(rtnl_link_delete(sk.get(), l.get()), "cannot delete " + name);
  return true;
}

bool link_exists(const std::string& name, const std::string& netns_path) {
  bool found = false;
  in_netns(netns_path, [&] {
    Socket sk = connect_route();
    found = get_link(sk.get(), name) != nullptr;
  });
  return found;
}

std::vector<std::string> link_addresses(const std::string& name, const std::string& netns_path) {
  std::vector<std::string> out;
  in_netns(netns_path, [&] {
    Socket sk = connect_route();
    Link l = get_link(sk.get(), name);
    if (!l) return;
    int index = rtnl_link_get_ifindex(l.get());
    nl_cache* cache = nullptr;
    check(rtnl_addr_alloc_cache(sk.get(), &cache), "cannot list addresses");
    for (nl_object* o = nl_cache_get_first(cache); o; o = nl_cache_get_next(o)) {
      auto* a = reinterpret_cast<rtnl_addr*>(o);
      if (rtnl_addr_get_ifindex(a) != index) continue;
      char buf[128];
      nl_addr2str(rtnl_addr_get_local(a), buf, sizeof(buf));
      out.push_back(buf);
    }
    nl_cache_free(cache);
  });
  return out;
}

std::string link_alias(const std::string& name) {
  Socket sk = connect_route();
  Link l = get_link(sk.get(), name);
  const char* alias = l ? rtnl_link_get_ifalias(l.get()) : nullptr;
  return alias ? alias : "";
}

}  // namespace oryx::cni
