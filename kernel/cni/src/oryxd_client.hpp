// SPDX-License-Identifier: Apache-2.0
// oryxd_client.hpp - the plugin's only control path: oryxd's REST API
// (plain HTTP on the node's loopback, the API token from a file).
#pragma once

#include <nlohmann/json.hpp>

#include <string>

namespace oryx::cni {

struct Answer {
  int status = 0;
  nlohmann::json body;  // null when not JSON
};

class OryxdClient {
 public:
  // `url`: http://HOST:PORT; `token_file`: may be empty (no token).
  OryxdClient(const std::string& url, const std::string& token_file);
  // Throws CniError(kTryAgainLater) when oryxd cannot be reached.
  Answer call(const std::string& method, const std::string& path, const std::string& body = "");
  // A query parameter's value, percent-encoded (CivetWeb's mg_url_encode).
  static std::string url_encoded(const std::string& text);

 private:
  std::string host_, token_;
  int port_ = 0;
};

}  // namespace oryx::cni
