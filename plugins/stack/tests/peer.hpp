// SPDX-License-Identifier: Apache-2.0
// peer.hpp - the stack tests' addresses (the stack and the one peer the
// test plays) and the ARP request by which the stack learns the peer.
#pragma once

#include <oryx/testing.hpp>

#include <rte_ether.h>

namespace stack_test {

constexpr const char* kStackMac = "02:00:00:00:00:01";
constexpr const char* kPeerMac = "02:00:00:00:00:02";
constexpr const char* kStackIp = "198.18.0.1";
constexpr const char* kPeerIp = "198.18.0.2";

// The peer asks who has the stack's address (the stack answers, and
// learns the peer's MAC from it).
inline oryx::testing::Frame arp_from_peer() {
  return oryx::testing::Frame()
      .ether("ff:ff:ff:ff:ff:ff", kPeerMac, RTE_ETHER_TYPE_ARP)
      .arp_request(kPeerMac, kPeerIp, kStackIp);
}

}  // namespace stack_test
