// SPDX-License-Identifier: Apache-2.0
// connection_prefetch.hpp - a burst's connections brought into the cache
// before lwIP handles the burst's first segment.
#pragma once

#include "glue.hpp"

#include <cstdint>

namespace oryx::stack {

// Prefetches, for each TCP segment among `frames`, its hash bucket, then
// the pcb that heads it, then the pcb's unacknowledged segments and its
// owner's state. Only reads; under the core lock.
void prefetch_connections(const Interface::Frame* frames, uint16_t count);

}  // namespace oryx::stack
