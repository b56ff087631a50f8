// SPDX-License-Identifier: Apache-2.0
// logging.hpp - the kernel owns spdlog: one registry, named loggers for the
// kernel, DPDK and every plugin/instance, levels changeable at runtime.
#pragma once

#include <oryx/abi.h>

#include <spdlog/spdlog.h>

#include <memory>
#include <string>
#include <vector>

namespace oryx::kernel::logging {

// Sets up sinks (stderr or file, plus a ring of recent warnings for the
// dashboard), the default level and per-logger overrides "name=level".
void init(const std::string& level, const std::vector<std::string>& overrides,
          const std::string& file);

// Returns the logger `name`, creating it with the configured level.
std::shared_ptr<spdlog::logger> get(const std::string& name);

// Changes the level of logger `name` and of its instances' "name.*" (of
// every logger when name is "*"); a name matching none is refused.
enum class SetLevel { kDone, kUnknownLevel, kUnknownLogger };
SetLevel set_level(const std::string& name, const std::string& level);

struct LoggerInfo {
  std::string name;
  std::string level;
};
std::vector<LoggerInfo> list();

// The last warnings and errors, oldest first, formatted.
std::vector<std::string> recent(size_t limit);

// Sends DPDK's own log lines to the "dpdk" logger.
void capture_dpdk_log();

// Sends libbpf's and libxdp's messages to the "libbpf" and "libxdp"
// loggers (bpf_log.cpp); init() does this.
void capture_bpf_log();

// The ABI's opaque logger handle for `name`.
oryx_logger* handle(const std::string& name);
void abi_log(oryx_logger* logger, int level, const char* msg);
int abi_log_enabled(oryx_logger* logger, int level);

}  // namespace oryx::kernel::logging
