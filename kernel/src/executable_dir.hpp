// SPDX-License-Identifier: Apache-2.0
// executable_dir.hpp - the directory of the running program, where a build
// tree keeps the libraries the installed programs find in their libdir.
#pragma once

#include <unistd.h>

#include <string>

namespace oryx::kernel {

// "" when /proc/self/exe cannot be read.
inline std::string executable_dir() {
  char path[4096];
  ssize_t n = readlink("/proc/self/exe", path, sizeof(path) - 1);
  if (n <= 0) return "";
  std::string p(path, size_t(n));
  return p.substr(0, p.rfind('/'));
}

}  // namespace oryx::kernel
