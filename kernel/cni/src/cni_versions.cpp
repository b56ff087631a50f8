// SPDX-License-Identifier: Apache-2.0
// cni_versions.cpp - see cni_versions.hpp.
#include "cni_versions.hpp"

#include <cstdio>
#include <tuple>

namespace oryx::cni {

namespace {

std::tuple<int, int, int> parse(const std::string& v) {
  int a = -1, b = -1, c = -1;
  if (std::sscanf(v.c_str(), "%d.%d.%d", &a, &b, &c) != 3) return {-1, -1, -1};
  return {a, b, c};
}

}  // namespace

bool supported(const std::string& version) {
  for (const char* v : kSupportedVersions)
    if (version == v) return true;
  return false;
}

std::string newest_common(const std::string& mine, const nlohmann::json& theirs) {
  std::string best;
  for (const auto& t : theirs) {
    if (!t.is_string()) continue;
    std::string v = t.get<std::string>();
    if (!supported(v) || parse(v) > parse(mine)) continue;
    if (best.empty() || parse(v) > parse(best)) best = v;
  }
  return best;
}

}  // namespace oryx::cni
