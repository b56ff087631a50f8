// SPDX-License-Identifier: Apache-2.0
// malloc_tuning.cpp - see malloc_tuning.hpp.
#include "malloc_tuning.hpp"

#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <string>

namespace oryx::kernel {

namespace {

bool opted_out() {
  const char* opt_out = std::getenv("ORYX_MALLOC_TUNING");
  return opt_out && std::strcmp(opt_out, "0") == 0;
}

}  // namespace

void tune_malloc_or_reexec(char** argv) {
  if (opted_out()) return;
  const char* current = std::getenv("GLIBC_TUNABLES");
  std::string tunables = current ? current : "";
  // Set already (by the operator, or by this function before the exec):
  // never exec twice.
  if (tunables.find("glibc.malloc.tcache_count") != std::string::npos) return;
  if (!tunables.empty()) tunables += ':';
  tunables += "glibc.malloc.tcache_count=" + std::to_string(kMallocTcacheCount);
  // The binary's own path, not /proc/self/exe: the process is named after
  // the file it runs (ps, pgrep, ss would show "exe").
  char path[4096];
  const ssize_t n = readlink("/proc/self/exe", path, sizeof(path) - 1);
  if (n <= 0) return;
  path[n] = '\0';
  if (setenv("GLIBC_TUNABLES", tunables.c_str(), 1) != 0) return;
  execv(path, argv);
  // No /proc, or the binary is gone: run on with glibc's default.
  if (current) setenv("GLIBC_TUNABLES", current, 1);
  else unsetenv("GLIBC_TUNABLES");
}

std::string malloc_tuning_summary() {
  const char* tunables = std::getenv("GLIBC_TUNABLES");
  if (opted_out())
    return std::string("glibc's malloc as configured (ORYX_MALLOC_TUNING=0): GLIBC_TUNABLES=") +
           (tunables ? tunables : "(unset)");
  return std::string("glibc's malloc: GLIBC_TUNABLES=") + (tunables ? tunables : "(unset)");
}

}  // namespace oryx::kernel
