// SPDX-License-Identifier: Apache-2.0
#include "option_log.hpp"

#include "logging.hpp"

#include <cstring>
#include <mutex>
#include <set>
#include <string>
#include <tuple>

namespace oryx::preload {

void log_refused_option(const char* call, int level, int name, int err, const char* after) {
  static std::mutex mutex;
  static std::set<std::tuple<std::string, int, int>> reported;
  {
    std::lock_guard lock(mutex);
    if (!reported.insert({call, level, name}).second) return;
  }
  oryx::kernel::logging::get("preload")->warn(
      "{}(level {}, option {}) is not supported on Oryx sockets: {}{} (reported once)", call, level,
      name, std::strerror(-err), after);
}

}  // namespace oryx::preload
