// SPDX-License-Identifier: Apache-2.0
// mbuf_ops.hpp - the mbuf operations the lwIP side uses (glue.hpp's
// MbufOps), on DPDK mempools and a transmit rte_ring.
#pragma once

#include "glue.hpp"

struct rte_mbuf;

namespace oryx::stack {

// A received packet as Interface::input takes it: one frame per segment,
// written to `out` (room for m->nb_segs); returns how many.
uint16_t frames_of(rte_mbuf* m, Interface::Frame* out);

// `after_tx` (may be null) runs after every frame queued for transmission:
// the stack kicks the worker that drains the ring.
MbufOps dpdk_mbuf_ops(void (*after_tx)());

}  // namespace oryx::stack
