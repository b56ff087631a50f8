// SPDX-License-Identifier: Apache-2.0
// privileges.hpp - what a process lacks to run an AF_XDP port, so that a
// port that fails to start says so instead of DPDK's bare EINVAL (an
// application under `oryx run` as an unprivileged user is the usual case).
#pragma once

#include <string>

namespace oryx::io {

// The capabilities an AF_XDP port needs that this process does not have
// in its effective set, comma-separated ("" when nothing is missing):
// CAP_NET_RAW (the XDP socket), CAP_NET_ADMIN (attaching the program),
// CAP_SYS_ADMIN (libxdp reads the program's BTF by id), and CAP_IPC_LOCK
// unless RLIMIT_MEMLOCK is unlimited (the socket's memory is locked).
std::string missing_af_xdp_capabilities();

}  // namespace oryx::io
