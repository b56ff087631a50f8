/* SPDX-License-Identifier: Apache-2.0 */
/* oryx_clock.h - one reading of the monotonic clock for everything lwIP
 * does while a thread holds the core lock through the glue's CoreLock
 * (lwip patch 0025): a burst of packets, or one socket call. lwIP reads
 * the clock several times a segment (sys_now: delayed-ACK deadlines,
 * quick-ACK gaps, probes; LWIP_TCP_NOW_US: round-trip times, the
 * retransmission timer's start), 25 ns each on this VM's vDSO: a tenth of
 * a worker's cycles at a million requests a second (perf). Within one hold
 * the difference is a burst's processing time, microseconds; lwIP's own
 * thread (the timers) reads the clock each time. */
#ifndef ORYX_CLOCK_H
#define ORYX_CLOCK_H

#ifdef __cplusplus
extern "C" {
#endif

/* Reads the clock and holds the reading for this thread until the
 * matching thaw (nested holds keep the outermost's reading). */
void oryx_clock_freeze(void);
void oryx_clock_thaw(void);
/* While this thread holds a reading: it (sys_now()'s milliseconds, or
 * microseconds, both modulo 2^32) in *out, and 1; else 0. */
int oryx_clock_frozen_ms(unsigned int* out);
int oryx_clock_frozen_us(unsigned int* out);

#ifdef __cplusplus
}
#endif

#endif /* ORYX_CLOCK_H */
