// SPDX-License-Identifier: Apache-2.0
// json_text.hpp - JSON text for answers that cross the ABI (REST bodies,
// endpoint handlers). Optional part of the SDK: needs nlohmann-json.
//
// A request can bring any bytes (a query "%ff", a capture id, a logger
// name) and handlers echo them in errors. nlohmann's dump() throws on
// invalid UTF-8; here such bytes become U+FFFD, so an answer is always
// valid JSON and never an exception escaping into the server.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdlib>
#include <cstring>
#include <string>

namespace oryx::sdk {

// Json: nlohmann::json, or nlohmann::ordered_json for an answer whose keys
// keep the order they were written in (oryxctl shows them in that order).
template <typename Json = nlohmann::json>
std::string json_text(const Json& j, int indent = -1) {
  return j.dump(indent, ' ', false, Json::error_handler_t::replace);
}

// The same, malloc'd: what oryx_http_response.body and endpoint handlers
// hand to the kernel, which frees it.
template <typename Json = nlohmann::json>
char* json_strdup(const Json& j, int indent = -1) {
  return strdup(json_text(j, indent).c_str());
}

}  // namespace oryx::sdk
