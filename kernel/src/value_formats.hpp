// SPDX-License-Identifier: Apache-2.0
// value_formats.hpp - the ORYX_FORMAT_* checks of string parameters
// (addresses, interface and file names), run by the one validation pass
// that --check-config and start-up share.
#pragma once

#include <string>

namespace oryx::kernel {

// Whether a parameter's `choices` names a format ("@...") rather than values.
inline bool is_format(const char* choices) { return choices && choices[0] == '@'; }

bool known_format(const std::string& format);

// "" if `value` has `format`, else what was expected ("expected ..., found").
std::string check_format(const std::string& format, const std::string& value);

// For messages and the configuration reference: "IPv4 address with prefix
// length (198.18.0.2/24)".
std::string describe_format(const std::string& format);

}  // namespace oryx::kernel
