// SPDX-License-Identifier: Apache-2.0
// tls_compat.hpp - makes CivetWeb's TLS work with the system's OpenSSL
// (see kernel/ssl_compat/ssl_compat.c); used by oryxd and oryxctl before
// they initialise CivetWeb with TLS.
#pragma once

#include <string>

namespace oryx::kernel {

// Loads liboryx-ssl-compat.so when the system's libssl lacks a function
// CivetWeb looks up; returns an empty string, or what went wrong.
std::string prepare_civetweb_tls();

}  // namespace oryx::kernel
