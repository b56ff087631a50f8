// SPDX-License-Identifier: Apache-2.0
// privileges.cpp - see privileges.hpp.
#include "privileges.hpp"

#include <linux/capability.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdint>

namespace oryx::io {

namespace {

// The effective capability set, as a 64-bit mask (capget(2), version 3).
uint64_t effective_capabilities() {
  __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3] = {};
  if (syscall(SYS_capget, &header, data) != 0) return 0;
  return uint64_t(data[0].effective) | uint64_t(data[1].effective) << 32;
}

}  // namespace

std::string missing_af_xdp_capabilities() {
  const uint64_t have = effective_capabilities();
  rlimit memlock{};
  const bool unlimited_lock =
      getrlimit(RLIMIT_MEMLOCK, &memlock) == 0 && memlock.rlim_cur == RLIM_INFINITY;
  struct Need {
    int cap;
    const char* name;
    bool needed;
  };
  const Need needs[] = {{CAP_NET_RAW, "CAP_NET_RAW", true},
                        {CAP_NET_ADMIN, "CAP_NET_ADMIN", true},
                        {CAP_SYS_ADMIN, "CAP_SYS_ADMIN", true},
                        {CAP_IPC_LOCK, "CAP_IPC_LOCK", !unlimited_lock}};
  std::string missing;
  for (const Need& n : needs)
    if (n.needed && !(have >> n.cap & 1)) missing += (missing.empty() ? "" : ", ") + std::string(n.name);
  return missing;
}

}  // namespace oryx::io
