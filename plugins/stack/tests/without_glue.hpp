// SPDX-License-Identifier: Apache-2.0
// without_glue.hpp - what the stack's glue gives lwIP (lwipopts.h), for a
// test program that links lwIP without the glue: its clock, and the
// timers' pause point, which has nothing to let run there (no worker, no
// timer thread). Included by one file of each such program.
#pragma once

#include <ctime>

extern "C" unsigned int oryx_now_us(void) {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return unsigned(ts.tv_sec * 1000000 + ts.tv_nsec / 1000);
}
extern "C" void oryx_tcp_timer_pause_point(void) {}
