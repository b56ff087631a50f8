// SPDX-License-Identifier: Apache-2.0
// cni_errors.hpp - the CNI specification's error codes (1.1.0, "Error"),
// and the plugin's own (100 and up), as an exception the entry point turns
// into the error JSON on stdout.
#pragma once

#include <stdexcept>
#include <string>

namespace oryx::cni {

enum ErrorCode : int {
  kIncompatibleVersion = 1,
  kUnsupportedField = 2,
  kUnknownContainer = 3,
  kInvalidEnvironment = 4,
  kIoFailure = 5,
  kDecodeFailure = 6,
  kInvalidConfig = 7,
  kTryAgainLater = 11,
  kNotAvailable = 50,
  // Oryx's own.
  kAlreadyExists = 100,  // ADD for an attachment that exists
  kCheckFailed = 101,    // CHECK found the attachment not as ADD left it
  kOryxdRefused = 102,   // oryxd's REST API answered with an error
};

struct CniError : std::runtime_error {
  CniError(int c, const std::string& msg, std::string more = "")
      : std::runtime_error(msg), code(c), details(std::move(more)) {}
  int code;
  std::string details;
};

}  // namespace oryx::cni
