// SPDX-License-Identifier: Apache-2.0
// app_link.cpp - see app_link.hpp.
#include "app_link.hpp"

#include <oryx/sdk.hpp>

#include <netlink/route/link.h>
#include <netlink/route/link/veth.h>
#include <net/if.h>

#include <filesystem>
#include <functional>
#include <fstream>
#include <memory>

namespace oryx::share {
using oryx::sdk::Error;

namespace {

using Socket = std::unique_ptr<nl_sock, void (*)(nl_sock*)>;
using Link = std::unique_ptr<rtnl_link, void (*)(rtnl_link*)>;

Socket route_socket() {
  Socket sk(nl_socket_alloc(), nl_socket_free);
  if (!sk || nl_connect(sk.get(), NETLINK_ROUTE) != 0)
    throw Error("cannot open a netlink route socket", ORYX_ERR_IO);
  return sk;
}

void check(int rc, const std::string& what) {
  if (rc < 0) throw Error(what + ": " + nl_geterror(rc), ORYX_ERR_IO);
}

// What `ip link set NAME up` (and its address, alias) does.
void change(nl_sock* sk, const std::string& name, const std::function<void(rtnl_link*)>& edit) {
  rtnl_link* found = nullptr;
  check(rtnl_link_get_kernel(sk, 0, name.c_str(), &found), "cannot find " + name);
  Link current(found, rtnl_link_put);
  Link wanted(rtnl_link_alloc(), rtnl_link_put);
  edit(wanted.get());
  check(rtnl_link_change(sk, current.get(), wanted.get(), 0), "cannot configure " + name);
}

void disable_ipv6(const std::string& name) {
  std::ofstream("/proc/sys/net/ipv6/conf/" + name + "/disable_ipv6") << "1\n";
}

}  // namespace

std::pair<uint32_t, uint32_t> create_app_link(const AppLinkSpec& spec) {
  Socket sk = route_socket();
  Link veth(rtnl_link_veth_alloc(), rtnl_link_put);
  rtnl_link_set_name(veth.get(), spec.host.c_str());
  rtnl_link_set_mtu(veth.get(), spec.mtu);
  rtnl_link* peer = rtnl_link_veth_get_peer(veth.get());
  rtnl_link_set_name(peer, spec.app.c_str());
  rtnl_link_set_mtu(peer, spec.mtu);
  rtnl_link_put(peer);
  check(rtnl_link_add(sk.get(), veth.get(), NLM_F_CREATE | NLM_F_EXCL),
        "cannot create the veth pair " + spec.host + " / " + spec.app);
  try {
    disable_ipv6(spec.host);
    disable_ipv6(spec.app);
    nl_addr* mac = nullptr;
    check(nl_addr_parse(spec.mac.c_str(), AF_LLC, &mac), "bad MAC " + spec.mac);
    change(sk.get(), spec.app, [&](rtnl_link* l) {
      rtnl_link_set_addr(l, mac);
      rtnl_link_set_flags(l, IFF_UP);
    });
    nl_addr_put(mac);
    change(sk.get(), spec.host, [&](rtnl_link* l) {
      rtnl_link_set_ifalias(l, spec.alias.c_str());
      rtnl_link_set_flags(l, IFF_UP);
    });
  } catch (...) {
    delete_link(spec.host);
    throw;
  }
  return {if_nametoindex(spec.host.c_str()), if_nametoindex(spec.app.c_str())};
}

bool delete_link(const std::string& name) {
  Socket sk = route_socket();
  rtnl_link* found = nullptr;
  if (rtnl_link_get_kernel(sk.get(), 0, name.c_str(), &found) < 0) return false;
  Link l(found, rtnl_link_put);
  return rtnl_link_delete(sk.get(), l.get()) == 0;
}

std::vector<std::string> links_with_alias(const std::string& alias) {
  std::vector<std::string> names;
  std::error_code ec;
  for (const auto& dir : std::filesystem::directory_iterator("/sys/class/net", ec)) {
    std::ifstream in(dir.path() / "ifalias");
    std::string line;
    if (std::getline(in, line) && line == alias) names.push_back(dir.path().filename());
  }
  return names;
}

}  // namespace oryx::share
