// SPDX-License-Identifier: Apache-2.0
// captures_api.cpp - see captures_api.hpp.
#include "captures_api.hpp"

#include "capture_request.hpp"

#include <oryx/json_text.hpp>
#include <cstring>

namespace oryx::pdump {

namespace {

using json = nlohmann::ordered_json;

json error(const std::string& message) { return {{"error", message}}; }

}  // namespace

CapturesApi::~CapturesApi() {
  std::map<uint32_t, std::shared_ptr<Capture>> all;
  {
    std::lock_guard lock(mutex_);
    all.swap(captures_);
  }
  for (auto& [id, c] : all) c->stop("shutdown");
}

void CapturesApi::serve(void* ctx, const oryx_http_request* request,
                        oryx_http_response* response) {
  auto* self = static_cast<CapturesApi*>(ctx);
  json out;
  std::string file;
  int status;
  try {
    status = self->handle(request->method, request->subpath,
                          std::string(request->body, request->body_size), out, file);
  } catch (const CaptureError& e) {
    status = e.status;
    out = error(e.what());
  } catch (const std::exception& e) {
    status = 500;
    out = error(e.what());
  }
  response->status = status;
  if (!file.empty()) {
    response->file = strdup(file.c_str());
    return;
  }
  if (status >= 400) out["status"] = status;
  response->body = strdup((oryx::sdk::json_text(out, 2) + "\n").c_str());
}

std::shared_ptr<Capture> CapturesApi::find(const std::string& id_text) {
  std::lock_guard lock(mutex_);
  char* end = nullptr;
  unsigned long id = std::strtoul(id_text.c_str(), &end, 10);
  auto it = (end && *end == '\0') ? captures_.find(uint32_t(id)) : captures_.end();
  if (it == captures_.end()) throw CaptureError(404, "no capture " + id_text);
  return it->second;
}

int CapturesApi::handle(const std::string& method, const std::string& subpath,
                        const std::string& body, json& out, std::string& file) {
  const bool get = method == "GET" || method == "HEAD";
  auto parts = split_path(subpath);
  auto wrong_method = [&](const char* allowed) {
    out = error("method " + method + " not allowed here (" + allowed + ")");
    return 405;
  };
  if (parts.empty()) {
    if (method == "POST") return create(body, out);
    if (!get) return wrong_method("GET, POST");
    out = {{"captures", json::array()}};
    std::lock_guard lock(mutex_);
    for (const auto& [id, c] : captures_) out["captures"].push_back(c->json());
    return 200;
  }
  if (parts[0] == "points" && parts.size() == 1) {
    if (!get) return wrong_method("GET");
    char* text = env_.host->capture_points();
    if (!text) throw CaptureError(503, "the data plane is not running");
    out = {{"points", json::parse(text)}};
    std::free(text);
    return 200;
  }
  auto capture = find(parts[0]);
  if (parts.size() == 1) {
    if (get) {
      out = capture->json();
      return 200;
    }
    if (method != "DELETE") return wrong_method("GET, DELETE");
    capture->stop("requested");
    capture->remove_files();
    std::lock_guard lock(mutex_);
    captures_.erase(capture->id());
    out = {{"deleted", capture->id()}};
    return 200;
  }
  if (parts[1] == "stop" && parts.size() == 2) {
    if (method != "POST") return wrong_method("POST");
    capture->stop("requested");
    out = capture->json();
    return 200;
  }
  bool one_file = parts[1] == "file" && parts.size() == 2;
  bool nth_file = parts[1] == "files" && parts.size() == 3;
  if (one_file || nth_file) {
    if (!get) return wrong_method("GET");
    if (capture->running())
      throw CaptureError(409, "capture " + parts[0] + " is still running (stop it first)");
    size_t index = 0;
    if (nth_file) {
      char* end = nullptr;
      index = std::strtoul(parts[2].c_str(), &end, 10);
      if (!end || *end) throw CaptureError(404, "no file " + parts[2]);
    }
    file = capture->file(index);
    if (file.empty()) throw CaptureError(404, "capture " + parts[0] + " has no file " +
                                                  std::to_string(index));
    return 200;
  }
  out = error("no such path: /api/v1/captures" + subpath);
  return 404;
}

int CapturesApi::create(const std::string& body, json& out) {
  CaptureSpec spec = parse_capture_request(body);

  std::lock_guard lock(mutex_);
  size_t running = 0;
  for (const auto& [id, c] : captures_) running += c->running();
  if (running >= max_)
    throw CaptureError(429, std::to_string(running) + " captures are running, the most " +
                                "[capture] max_captures allows");
  uint32_t id = next_id_;
  auto capture = std::make_shared<Capture>(id, std::move(spec), env_);
  next_id_++;
  captures_[id] = capture;
  out = capture->json();
  return 201;
}

}  // namespace oryx::pdump
