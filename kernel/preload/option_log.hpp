// SPDX-License-Identifier: Apache-2.0
// option_log.hpp - socket options the socket layer refuses, told to the
// operator once per option: an application that ignores setsockopt's
// errors (most do) would otherwise lose them without a trace.
#pragma once

namespace oryx::preload {

// Logs (warning, logger "preload") that `call` of option `name` at
// `level` was refused with `err` (a negative errno), once per option and
// call. `after` says what the application was told, if not the errno.
void log_refused_option(const char* call, int level, int name, int err, const char* after = "");

}  // namespace oryx::preload
