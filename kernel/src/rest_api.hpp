// SPDX-License-Identifier: Apache-2.0
// rest_api.hpp - CivetWeb server for /api/v1, /metrics and the dashboard.
// Read endpoints are GET; anything that changes state is POST (or DELETE)
// and needs the configured bearer token, as does every API request when
// listening beyond loopback (http_access.hpp). Handlers only read
// counters, never stop workers.
#pragma once

#include "appliance.hpp"

#include <nlohmann/json.hpp>

#include <functional>
#include <map>
#include <string>

struct mg_context;
struct mg_connection;
struct mg_request_info;

namespace oryx::kernel {

class RestServer {
 public:
  explicit RestServer(Appliance& appliance);
  ~RestServer();
  RestServer(const RestServer&) = delete;
  RestServer& operator=(const RestServer&) = delete;

  void start();  // throws if it cannot listen
  void stop();
  const std::string& bound_address() const { return bound_; }

 private:
  struct Route {
    std::string method;
    std::function<void(mg_connection*, const mg_request_info*)> handler;
  };
  void add_routes();
  int dispatch(mg_connection* conn);  // dispatch_request behind an exception barrier
  int dispatch_request(mg_connection* conn);
  int serve_panel(mg_connection* conn, const std::string& file);
  bool authorized(mg_connection* conn);  // bearer token; sends 401/403 if not

  Appliance& appliance_;
  mg_context* ctx_ = nullptr;
  std::string bound_;
  bool reads_need_token_ = false;  // listening beyond loopback
  std::map<std::string, Route> routes_;
  std::map<std::string, std::function<void(mg_connection*, const nlohmann::json&)>> post_routes_;
};

}  // namespace oryx::kernel
