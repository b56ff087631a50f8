// SPDX-License-Identifier: Apache-2.0
#include "tls_compat.hpp"

#include "executable_dir.hpp"
#include "oryx/install_paths.h"

#include <dlfcn.h>
#include <unistd.h>

#include <vector>

namespace oryx::kernel {

std::string prepare_civetweb_tls() {
  void* ssl = dlopen("libssl.so.3", RTLD_NOW | RTLD_LOCAL);
  if (!ssl) return std::string("cannot load OpenSSL (libssl.so.3): ") + dlerror();
  bool complete = dlsym(ssl, "SSL_get_peer_certificate") != nullptr;
  if (complete) return "";  // an OpenSSL CivetWeb can use as it is
  // Next to the program (a build tree), then where the package puts it.
  std::vector<std::string> candidates = {executable_dir() + "/liboryx-ssl-compat.so",
                                         ORYX_SSL_COMPAT_LIBRARY};
  std::string errors;
  for (const auto& path : candidates) {
    if (access(path.c_str(), R_OK) != 0) continue;
    if (dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL)) return "";
    errors += std::string(" ") + dlerror();
  }
  return "cannot load liboryx-ssl-compat.so (looked in " + candidates[0] + ", " + candidates[1] +
         ")" + errors;
}

}  // namespace oryx::kernel
