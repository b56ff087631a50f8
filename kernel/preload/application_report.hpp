// SPDX-License-Identifier: Apache-2.0
// application_report.hpp - what GET /api/v1/applications says about the
// process running under `oryx run`: who it is, and which of its
// descriptors live on Oryx (sockets, with their addresses) and which on
// the kernel.
#pragma once

#include <nlohmann/json.hpp>

namespace oryx::preload {

nlohmann::json application_report();

}  // namespace oryx::preload
