// SPDX-License-Identifier: Apache-2.0
// interfaces.hpp - what the BPF services need to know about a network
// interface of this namespace, read from sysfs and ethtool.
#pragma once

#include <cstdint>
#include <string>

namespace oryx::bpf {

struct InterfaceFacts {
  uint32_t ifindex = 0;  // 0: no interface of that name
  std::string driver;    // "veth", "virtio_net", ... ("" when unknown)
  bool up = false;       // can carry frames: operstate up (or unknown and IFF_UP)
  // A veth whose peer lives in another network namespace: the one case
  // bpf_redirect_peer() can deliver to.
  bool peer_elsewhere = false;
};

// Everything above.
InterfaceFacts inspect_interface(const std::string& name);
// Only ifindex and up (cheap: what the link-state poll needs).
InterfaceFacts interface_state(const std::string& name);

}  // namespace oryx::bpf
