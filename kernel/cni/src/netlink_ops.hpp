// SPDX-License-Identifier: Apache-2.0
// netlink_ops.hpp - the links a pod's attachment is made of, through
// libnl-route: a veth pair whose host end stays in oryxd's namespace and
// whose other end moves into the pod's namespace under the runtime's
// interface name, with its addresses and routes.
#pragma once

#include <string>
#include <vector>

namespace oryx::cni {

struct Address {
  std::string cidr;     // "198.18.30.5/24" or "2001:db8::5/64"
  std::string gateway;  // may be empty
};
struct Route {
  std::string dst;  // "0.0.0.0/0"
  std::string gw;   // may be empty
};

struct VethEnds {
  std::string host_mac, pod_mac;
};

// Creates the pair: `host` (up, in this namespace, its alias `alias`) and
// `ifname` in the namespace at `netns_path`, both with `mtu`. Throws
// CniError (kAlreadyExists when `host` exists, kIoFailure otherwise).
VethEnds create_veth(const std::string& host, const std::string& alias, const std::string& ifname,
                     const std::string& netns_path, int mtu);

// In the pod's namespace: `ifname` and lo up, the addresses and routes set.
void configure_pod(const std::string& netns_path, const std::string& ifname,
                   const std::vector<Address>& addresses, const std::vector<Route>& routes);

// Turns transmit checksum offload off on the pod's interface: its kernel
// then sends full checksums, which a pod on the user-space stack (AF_XDP,
// which sees frames as they are) needs from its peers.
void disable_tx_checksum(const std::string& netns_path, const std::string& ifname);

// Deletes the host end (the kernel deletes its peer); false if absent.
bool delete_link(const std::string& name);

// Whether a link exists (in the pod's namespace when `netns_path` is set),
// and its addresses ("a.b.c.d/len"), for CHECK.
bool link_exists(const std::string& name, const std::string& netns_path = "");
std::vector<std::string> link_addresses(const std::string& name, const std::string& netns_path);

// The alias (IFLA_IFALIAS) of a link of this namespace, "" if none.
std::string link_alias(const std::string& name);

}  // namespace oryx::cni
