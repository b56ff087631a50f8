/* SPDX-License-Identifier: Apache-2.0 */
/* frozen_clock.c - see oryx_clock.h. */
#include "oryx_clock.h"

#include <stdint.h>
#include <time.h>

static __thread unsigned int frozen_depth;
static __thread unsigned int frozen_ms;
static __thread unsigned int frozen_us;

void oryx_clock_freeze(void) {
  if (frozen_depth++ > 0) return;
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  /* The same arithmetic as sys_now() and the glue's oryx_now_us(). */
  frozen_ms = (unsigned int)((uint64_t)t.tv_sec * 1000u + (uint64_t)t.tv_nsec / 1000000u);
  frozen_us = (unsigned int)((uint64_t)t.tv_sec * 1000000u + (uint64_t)t.tv_nsec / 1000u);
}

void oryx_clock_thaw(void) {
  if (frozen_depth > 0) frozen_depth--;
}

int oryx_clock_frozen_ms(unsigned int* out) {
  if (!frozen_depth) return 0;
  *out = frozen_ms;
  return 1;
}

int oryx_clock_frozen_us(unsigned int* out) {
  if (!frozen_depth) return 0;
  *out = frozen_us;
  return 1;
}
