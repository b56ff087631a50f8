// SPDX-License-Identifier: Apache-2.0
// http_access.hpp - who may use the REST API: bound to loopback, reads are
// open and state changes need the [http] token; bound anywhere else, every
// API request needs it (and the configuration must set one).
#pragma once

#include <string>

namespace oryx::kernel {

// True unless `listen` ("host:port", "[v6]:port", or a bare port, which
// CivetWeb binds on every address) names a loopback address only.
bool listens_beyond_loopback(const std::string& listen);

// Compares without an early exit, so timing does not reveal the prefix
// of the token that matched.
bool constant_time_equal(const std::string& a, const std::string& b);

}  // namespace oryx::kernel
