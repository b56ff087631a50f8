// SPDX-License-Identifier: Apache-2.0
// checksum.cpp - the Internet checksum lwIP computes (LWIP_CHKSUM in
// lwipopts.h), with DPDK's rte_raw_cksum in place of lwIP's 16-bit loop.
// This file and packet_validation.cpp are built with -O3 (CMakeLists.txt):
// only there does the compiler vectorize DPDK's loop, about 4x faster on
// a jumbo segment, and checksums are most of the per-byte work of bulk TCP.
#include <rte_ip.h>

// Both sum the 16-bit words as they lie in memory, fold the carries and
// return the sum uncomplemented; lwIP adds the pseudo header and inverts.
extern "C" unsigned short oryx_lwip_chksum(const void* data, int len) {
  return rte_raw_cksum(data, size_t(len));
}
