// SPDX-License-Identifier: Apache-2.0
// frozen_clock_test.cpp - lwip patch 0025: while a thread holds a reading
// of the clock (the glue's CoreLock freezes it for its whole hold), lwIP's
// sys_now() returns that reading; other threads, and the same thread
// after the hold, read the clock.
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>

#include <oryx_clock.h>

extern "C" {
#include <lwip/sys.h>
}

#include <chrono>
#include <thread>

#include "without_glue.hpp"

TEST_CASE("sys_now() returns the hold's reading, and the clock after it", "[stack]") {
  unsigned int ms = 0, us = 0;
  CHECK_FALSE(oryx_clock_frozen_ms(&ms));
  oryx_clock_freeze();
  REQUIRE(oryx_clock_frozen_ms(&ms));
  REQUIRE(oryx_clock_frozen_us(&us));
  CHECK(unsigned(us - ms * 1000u) < 1000u);  // one reading, two units (each modulo 2^32)
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  CHECK(sys_now() == ms);
  // A nested hold keeps the outer reading; its end does not end the outer.
  oryx_clock_freeze();
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  CHECK(sys_now() == ms);
  oryx_clock_thaw();
  CHECK(sys_now() == ms);
  // Another thread holds nothing: it reads the clock.
  u32_t other = 0;
  std::thread([&] { other = sys_now(); }).join();
  CHECK(other - ms >= 20);
  oryx_clock_thaw();
  CHECK_FALSE(oryx_clock_frozen_ms(&ms));
  CHECK(sys_now() - ms >= 25);
}
