// SPDX-License-Identifier: Apache-2.0
// flow_steering.hpp - where a frame received by a per-worker stack goes
// (DPDK half): to the instance owning its TCP or UDP flow, to every
// instance (what each one's neighbour table must learn), or to the
// instance of the worker that received it (everything else).
#pragma once

struct rte_mbuf;

namespace oryx::stack {

constexpr int kSteerHere = -1;      // the receiving worker's instance
constexpr int kSteerEveryone = -2;  // a copy to every instance

// The owner of a validated frame among `owners` instances (flow_owner()),
// or kSteerHere / kSteerEveryone: ARP replies and IPv6 neighbour and
// router advertisements go to everyone; ARP requests, ICMP and IPv6
// packets whose transport header does not follow the fixed header stay
// where they arrived.
int steer_frame(const rte_mbuf* m, unsigned owners);

}  // namespace oryx::stack
