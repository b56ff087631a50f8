// SPDX-License-Identifier: Apache-2.0
// oryxd_client.cpp - see oryxd_client.hpp.
#include "oryxd_client.hpp"

#include "cni_errors.hpp"

#include <civetweb.h>

#include <fstream>
#include <sstream>

namespace oryx::cni {

OryxdClient::OryxdClient(const std::string& url, const std::string& token_file) {
  std::string rest = url;
  if (rest.rfind("http://", 0) != 0)
    throw CniError(kInvalidConfig, "oryxd: expected http://HOST:PORT, found \"" + url + "\"");
  rest = rest.substr(7);
  while (!rest.empty() && rest.back() == '/') rest.pop_back();
  size_t colon = rest.rfind(':');
  host_ = rest.substr(0, colon);
  try {
    port_ = colon == std::string::npos ? 80 : std::stoi(rest.substr(colon + 1));
  } catch (...) {
    port_ = 0;
  }
  if (host_.empty() || port_ <= 0 || port_ > 65535)
    throw CniError(kInvalidConfig, "oryxd: expected http://HOST:PORT, found \"" + url + "\"");
  if (!token_file.empty()) {
    std::ifstream in(token_file);
    if (!in) throw CniError(kInvalidConfig, "token_file: cannot read " + token_file);
    std::getline(in, token_);
  }
}

std::string OryxdClient::url_encoded(const std::string& text) {
  std::string encoded(3 * text.size() + 1, '\0');
  int n = mg_url_encode(text.c_str(), encoded.data(), encoded.size());
  encoded.resize(n > 0 ? size_t(n) : 0);
  return encoded;
}

Answer OryxdClient::call(const std::string& method, const std::string& path,
                         const std::string& body) {
  char err[256] = "";
  mg_connection* c = mg_connect_client(host_.c_str(), port_, 0, err, sizeof(err));
  const std::string where = "oryxd at http://" + host_ + ":" + std::to_string(port_);
  if (!c) throw CniError(kTryAgainLater, "cannot reach " + where + " (" + err + ")");
  std::string auth = token_.empty() ? "" : "Authorization: Bearer " + token_ + "\r\n";
  mg_printf(c, "%s %s HTTP/1.0\r\nHost: %s\r\n%sContent-Type: application/json\r\n"
               "Content-Length: %zu\r\n\r\n",
            method.c_str(), path.c_str(), host_.c_str(), auth.c_str(), body.size());
  mg_write(c, body.data(), body.size());
  if (mg_get_response(c, err, sizeof(err), 10000) < 0) {
    mg_close_connection(c);
    throw CniError(kTryAgainLater, "no answer from " + where + " (" + err + ")");
  }
  std::string data;
  char buf[8192];
  for (int n; (n = mg_read(c, buf, sizeof(buf))) > 0;) data.append(buf, size_t(n));
  Answer a;
  const mg_response_info* ri = mg_get_response_info(c);
  a.status = ri ? ri->status_code : 0;
  mg_close_connection(c);
  a.body = nlohmann::json::parse(data, nullptr, false);
  if (a.body.is_discarded()) a.body = nullptr;
  return a;
}

}  // namespace oryx::cni
