// SPDX-License-Identifier: Apache-2.0
// capture_request.hpp - the parsing half of /api/v1/captures: a POST body
// into a CaptureSpec, a sub-path into its parts. Pure functions, fuzzed by
// fuzz/capture_request.
#pragma once

#include "capture.hpp"

#include <string>
#include <vector>

namespace oryx::pdump {

// Throws CaptureError(400, why) for anything but a well-formed request.
CaptureSpec parse_capture_request(const std::string& body);

// "/3/files/1" -> {"3", "files", "1"}; empty parts are skipped.
std::vector<std::string> split_path(const std::string& subpath);

}  // namespace oryx::pdump
