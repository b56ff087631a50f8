// SPDX-License-Identifier: Apache-2.0
// commands.hpp - what each CNI command does; each returns the JSON to
// print (null for nothing) or throws CniError.
#pragma once

#include "request.hpp"

#include <nlohmann/json.hpp>

namespace oryx::cni {

nlohmann::json cmd_add(const Request& r);
nlohmann::json cmd_del(const Request& r);
nlohmann::json cmd_check(const Request& r);
nlohmann::json cmd_status(const Request& r);
nlohmann::json cmd_gc(const Request& r);
nlohmann::json cmd_version(const Request& r);

}  // namespace oryx::cni
