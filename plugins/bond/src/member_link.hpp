// SPDX-License-Identifier: Apache-2.0
// member_link.hpp - whether a bond member's link is up.
//
// DPDK 22.11's af_packet driver always reports "link up", and
// the TAP driver's link interrupt never reaches the bonding driver, so for
// members backed by a kernel interface the truth is the kernel's: the
// interface is up and has carrier (IFF_UP and IFF_RUNNING), as Linux
// bonding's miimon reads it. PCI members report their own link.
#pragma once

#include <cstdint>
#include <string>

namespace oryx::bond {

struct Member {
  std::string name;     // kernel interface, TAP name or PCI address, as configured
  uint16_t port_id;
  bool kernel_backed;   // af_packet, tap: the kernel interface `name`
};

bool member_link_up(const Member& member);

}  // namespace oryx::bond
