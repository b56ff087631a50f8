// SPDX-License-Identifier: Apache-2.0
// mbuf_ops.hpp - the mbuf operations the lwIP side uses (glue.hpp's
// MbufOps), on DPDK mempools and a transmit rte_ring.
#pragma once

#include "glue.hpp"

namespace oryx::stack {

// `after_tx` (may be null) runs after every frame queued for transmission:
// the stack kicks the worker that drains the ring.
MbufOps dpdk_mbuf_ops(void (*after_tx)());

}  // namespace oryx::stack
