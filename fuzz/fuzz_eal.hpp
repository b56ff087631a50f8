// SPDX-License-Identifier: Apache-2.0
// fuzz_eal.hpp - DPDK for the fuzz targets that need mbufs or rte_malloc:
// no hugepages, no devices, no shared files.
#pragma once

#include <rte_eal.h>

#include <cstdio>
#include <cstdlib>

namespace oryx::fuzz {

inline void start_eal() {
  static bool started = false;
  if (started) return;
  char prog[] = "oryx-fuzz", a1[] = "--no-huge", a2[] = "--no-pci", a3[] = "-m", a4[] = "64",
       a5[] = "--no-shconf", a6[] = "--no-telemetry", a7[] = "--log-level=1", a8[] = "-l",
       a9[] = "0";
  char* argv[] = {prog, a1, a2, a3, a4, a5, a6, a7, a8, a9};
  if (rte_eal_init(int(sizeof(argv) / sizeof(argv[0])), argv) < 0) {
    std::fprintf(stderr, "oryx-fuzz: cannot start DPDK's EAL\n");
    std::abort();
  }
  started = true;
}

}  // namespace oryx::fuzz
