// SPDX-License-Identifier: Apache-2.0
// test_counters.cpp - per-worker counter rows and their aggregation.
#include "counters.hpp"

#include <catch2/catch.hpp>

#include <cstdint>

using namespace oryx::kernel;

TEST_CASE("counter rows are cache-line separated and summed on read", "[kernel][counters]") {
  const oryx_counter_desc descs[] = {{"a", ORYX_COUNTER, 0, "packets", "A."},
                                     {"b", ORYX_GAUGE, 0, "bytes", "B."}};
  CounterBlock block("s", "t", descs, 2, 3);
  REQUIRE(block.defs().size() == 4);  // packets, drops, a, b
  CHECK(block.defs()[2].name == "a");
  for (uint32_t w = 0; w < 3; w++) {
    CHECK(reinterpret_cast<uintptr_t>(block.row(w)) % 64 == 0);
    CHECK(block.row(w + 1) - block.row(w) >= 8);
    CounterBlock::plugin_part(block.row(w))[0] += 10 * (w + 1);
    block.row(w)[CounterBlock::kPackets] += 1;
  }
  CounterBlock::plugin_part(block.control_row())[1] = 7;
  CHECK(block.total(2) == 60);
  CHECK(block.per_worker(2, 1) == 20);
  CHECK(block.total(CounterBlock::kPackets) == 3);
  CHECK(block.total(3) == 7);
}
