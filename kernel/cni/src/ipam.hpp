// SPDX-License-Identifier: Apache-2.0
// ipam.hpp - address management delegated to a standard IPAM plugin (say
// host-local from containernetworking-plugins), found in CNI_PATH and run
// as the specification's "delegated plugin": same environment, the
// network configuration on stdin, its result on stdout.
#pragma once

#include <nlohmann/json.hpp>

#include <string>

namespace oryx::cni {

// Runs the IPAM plugin named by config["ipam"]["type"] with `command`
// (ADD, DEL, CHECK). The configuration is passed with the newest
// cniVersion both it and the plugin speak (Debian's host-local stops at
// 1.0.0). Returns its parsed stdout (null when it printed nothing);
// throws CniError with the plugin's own code and message if it failed.
nlohmann::json run_ipam(const std::string& command, const nlohmann::json& config,
                        const std::string& cni_path);

}  // namespace oryx::cni
