// SPDX-License-Identifier: Apache-2.0
// flow_hash.hpp - which of a stage's per-worker lwIP instances owns a flow
// (the stack's `per_worker` mode). Plain types only: both halves use it,
// the DPDK half to steer a received frame (flow_steering.hpp), the lwIP
// half to pick local ports whose flows come back to the instance that
// opens them (as F-Stack and Onload pick ports for their queues).
#pragma once

#include <cstdint>

namespace oryx::stack {

// The owner, 0 .. owners-1, of the flow a received segment belongs to:
// `src` is the remote address (4 or 16 bytes, network order), `dst` the
// local one, ports in host order. Every segment of a connection, and the
// local port chosen for it, agree on it.
unsigned flow_owner(const uint8_t* src, const uint8_t* dst, unsigned address_len,
                    uint16_t src_port, uint16_t dst_port, unsigned owners);

}  // namespace oryx::stack
