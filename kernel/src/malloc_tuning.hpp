// SPDX-License-Identifier: Apache-2.0
// malloc_tuning.hpp - glibc's per-thread cache of freed blocks made large
// enough for a stack with many connections.
//
// lwIP allocates each TCP segment it sends (MEM_LIBC_MALLOC) and frees it
// when the peer acknowledges it. At 100,000 connections that is 40 ms
// later (a delayed ACK), with some 10,000 segments freed in between: glibc
// keeps 7 freed blocks per size for a thread, so most of them went through
// its bins, merging with cold neighbours, and the worker's cycles per
// request rose by about a third (bench/scale_oryx.sh). The cache's length
// is a tunable glibc reads only when a program starts
// (glibc.malloc.tcache_count), so oryxd sets it and starts itself again.
#pragma once

#include <string>

namespace oryx::kernel {

// Freed blocks glibc keeps per size and thread (its maximum is 65,535).
constexpr unsigned kMallocTcacheCount = 16384;

// Unless GLIBC_TUNABLES already sets glibc.malloc.tcache_count, or
// ORYX_MALLOC_TUNING is "0": adds it to GLIBC_TUNABLES and execs the
// running binary with `argv` again (same PID and name). Returns if it did
// not exec.
void tune_malloc_or_reexec(char** argv);

// A log line saying which of those this process runs with. (glibc cuts
// GLIBC_TUNABLES at each ':' in the copy /proc/PID/environ shows, so the
// log is where the whole setting can be read.)
std::string malloc_tuning_summary();

}  // namespace oryx::kernel
