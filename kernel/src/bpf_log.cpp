// SPDX-License-Identifier: Apache-2.0
// bpf_log.cpp - libbpf's and libxdp's messages through the kernel's
// loggers "libbpf" and "libxdp", never straight to the process's stderr
// (under oryx run that is the application's).
//
// Levels: what these libraries call a warning is usually a fallback that
// worked (libxdp loading a program alone when the kernel refuses its
// dispatcher) or a failure the caller reports itself with more context
// (a stage's start-up error, DPDK's af_xdp driver), so it is logged at
// info; their info at debug, their debug at trace.
#include "logging.hpp"

#include <bpf/libbpf.h>
#include <xdp/libxdp.h>

#include <cstdarg>
#include <cstdio>
#include <mutex>
#include <string>

namespace oryx::kernel::logging {

namespace {

void forward(const char* logger, spdlog::level::level_enum level, const char* fmt, va_list args) {
  auto log = get(logger);
  if (!log->should_log(level)) return;
  char text[1024];
  int n = std::vsnprintf(text, sizeof(text), fmt, args);
  if (n <= 0) return;
  std::string line(text, std::min<size_t>(size_t(n), sizeof(text) - 1));
  while (!line.empty() && (line.back() == '\n' || line.back() == ' ')) line.pop_back();
  const std::string own = std::string(logger) + ": ";  // the logger's name says it
  if (line.rfind(own, 0) == 0) line.erase(0, own.size());
  if (!line.empty()) log->log(level, "{}", line);
}

spdlog::level::level_enum mapped(int warn, int info, int level) {
  if (level == warn) return spdlog::level::info;
  if (level == info) return spdlog::level::debug;
  return spdlog::level::trace;
}

int libbpf_print(enum libbpf_print_level level, const char* fmt, va_list args) {
  forward("libbpf", mapped(LIBBPF_WARN, LIBBPF_INFO, level), fmt, args);
  return 0;
}

int libxdp_print(enum libxdp_print_level level, const char* fmt, va_list args) {
  forward("libxdp", mapped(LIBXDP_WARN, LIBXDP_INFO, level), fmt, args);
  return 0;
}

}  // namespace

void capture_bpf_log() {
  // Once: a plugin may chain its own print function after ours later.
  static std::once_flag once;
  std::call_once(once, [] {
    libbpf_set_print(libbpf_print);
    libxdp_set_print(libxdp_print);
  });
}

}  // namespace oryx::kernel::logging
