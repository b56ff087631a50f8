// SPDX-License-Identifier: Apache-2.0
// captures_api.hpp - the REST route /api/v1/captures: list, start, stop,
// delete and download captures (see the plugin's README).
#pragma once

#include "capture.hpp"

#include <map>
#include <memory>
#include <mutex>

namespace oryx::pdump {

class CapturesApi {
 public:
  CapturesApi(CaptureEnv env, uint32_t max_captures) : env_(std::move(env)), max_(max_captures) {}
  ~CapturesApi();  // stops every running capture

  // oryx_route_fn.
  static void serve(void* ctx, const oryx_http_request* request, oryx_http_response* response);

 private:
  // Returns the status and sets body (JSON) or file.
  int handle(const std::string& method, const std::string& subpath, const std::string& body,
             nlohmann::ordered_json& out, std::string& file);
  int create(const std::string& body, nlohmann::ordered_json& out);
  std::shared_ptr<Capture> find(const std::string& id_text);

  CaptureEnv env_;
  uint32_t max_;
  std::mutex mutex_;
  uint32_t next_id_ = 1;
  std::map<uint32_t, std::shared_ptr<Capture>> captures_;
};

}  // namespace oryx::pdump
