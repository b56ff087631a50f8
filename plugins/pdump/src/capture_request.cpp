// SPDX-License-Identifier: Apache-2.0
// capture_request.cpp - see capture_request.hpp.
#include "capture_request.hpp"

#include <nlohmann/json.hpp>

#include <set>

namespace oryx::pdump {

namespace {

using json = nlohmann::ordered_json;

// The integer `key` of `j` within [min, max], or `fallback` if absent.
uint64_t get_uint(const json& j, const char* key, uint64_t min, uint64_t max, uint64_t fallback) {
  if (!j.contains(key)) return fallback;
  const json& v = j[key];
  if (!v.is_number_integer() || v.get<int64_t>() < int64_t(min) || v.get<uint64_t>() > max)
    throw CaptureError(400, std::string(key) + " must be an integer from " + std::to_string(min) +
                                " to " + std::to_string(max));
  return v.get<uint64_t>();
}

}  // namespace

std::vector<std::string> split_path(const std::string& subpath) {
  std::vector<std::string> parts;
  size_t start = 1;
  while (start <= subpath.size()) {
    size_t slash = subpath.find('/', start);
    if (slash == std::string::npos) slash = subpath.size();
    if (slash > start) parts.push_back(subpath.substr(start, slash - start));
    start = slash + 1;
  }
  return parts;
}

CaptureSpec parse_capture_request(const std::string& body) {
  json j = json::parse(body, nullptr, false);
  if (j.is_discarded() || !j.is_object())
    throw CaptureError(400, "expected a JSON object (see GET /api/v1/captures/points)");
  static const std::set<std::string> keys = {"name",      "points",    "filter",
                                             "snaplen",   "max_packets", "max_bytes",
                                             "duration_s", "file_size_mb", "files"};
  for (const auto& [key, value] : j.items())
    if (!keys.count(key)) throw CaptureError(400, "unknown key \"" + key + "\"");
  CaptureSpec spec;
  if (!j.contains("points") || !j["points"].is_array() || j["points"].empty() ||
      j["points"].size() > 16)
    throw CaptureError(400, "points must be a list of 1 to 16 capture points");
  for (const auto& p : j["points"]) {
    if (!p.is_string()) throw CaptureError(400, "points must be strings");
    spec.points.push_back(p.get<std::string>());
  }
  if (j.contains("filter")) {
    if (!j["filter"].is_string()) throw CaptureError(400, "filter must be a string");
    spec.filter = j["filter"].get<std::string>();
  }
  if (j.contains("name")) {
    if (!j["name"].is_string()) throw CaptureError(400, "name must be a string");
    spec.name = j["name"].get<std::string>();
    if (spec.name.size() > 32 ||
        spec.name.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789_-") != std::string::npos)
      throw CaptureError(400, "name: up to 32 characters of [a-z0-9_-]");
  }
  spec.snaplen = uint32_t(get_uint(j, "snaplen", 64, 65535, 65535));
  spec.max_packets = get_uint(j, "max_packets", 0, UINT32_MAX, 0);
  spec.max_bytes = get_uint(j, "max_bytes", 0, uint64_t(1) << 40, 0);
  spec.duration_s = uint32_t(get_uint(j, "duration_s", 0, 86400, 0));
  spec.file_size = get_uint(j, "file_size_mb", 0, 65536, 0) << 20;
  spec.files = uint32_t(get_uint(j, "files", 1, 1000, 1));

  return spec;
}

}  // namespace oryx::pdump
