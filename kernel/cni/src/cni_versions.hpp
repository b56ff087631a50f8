// SPDX-License-Identifier: Apache-2.0
// cni_versions.hpp - the CNI specification versions this plugin speaks.
#pragma once

#include <nlohmann/json.hpp>

#include <string>

namespace oryx::cni {

// Oldest first; results are written in the 1.x form (0.3.x/0.4.0 results
// carry the same fields, with interface indices).
inline const char* const kSupportedVersions[] = {"0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"};

bool supported(const std::string& version);

// The newest of `theirs` (a JSON array of strings) that is not newer than
// `mine` and that this plugin also speaks; "" when there is none.
std::string newest_common(const std::string& mine, const nlohmann::json& theirs);

}  // namespace oryx::cni
