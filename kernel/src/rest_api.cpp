// SPDX-License-Identifier: Apache-2.0
// rest_api.cpp - the REST API, /metrics and the dashboard over CivetWeb.
#include "rest_api.hpp"

#include "http_access.hpp"
#include "logging.hpp"
#include "tls_compat.hpp"

#include <oryx/json_text.hpp>

#include <civetweb.h>
#include <pthread.h>

#include <csignal>
#include <cstring>
#include <fstream>
#include <functional>
#include <map>
#include <set>
#include <stdexcept>

namespace oryx::kernel {

namespace {

constexpr size_t kMaxBody = 64 * 1024;

void send(mg_connection* conn, int status, const std::string& type, const std::string& body) {
  const char* reason = mg_get_response_code_text(conn, status);
  mg_printf(conn,
            "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
            "Cache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\n"
            "Connection: close\r\n\r\n",
            status, reason, type.c_str(), body.size());
  mg_write(conn, body.data(), body.size());
}

// Requests echo their own bytes in errors (a path "%ff"): invalid UTF-8
// becomes U+FFFD rather than an exception.
void send_json(mg_connection* conn, int status, const nlohmann::json& j) {
  send(conn, status, "application/json", oryx::sdk::json_text(j, 2) + "\n");
}

void send_error(mg_connection* conn, int status, const std::string& message) {
  send_json(conn, status, {{"error", message}, {"status", status}});
}

// Reads the request body (at most kMaxBody); false (and a 413 sent) when
// it is larger, whether the client said so (Content-Length) or sent it
// chunked.
bool read_body(mg_connection* conn, const mg_request_info* ri, std::string& body) {
  if (ri->content_length > int64_t(kMaxBody)) {
    send_error(conn, 413, "request body larger than 64 KiB");
    return false;
  }
  char buf[4096];
  int n;
  while ((n = mg_read(conn, buf, sizeof(buf))) > 0) {
    if (body.size() + size_t(n) > kMaxBody) {
      send_error(conn, 413, "request body larger than 64 KiB");
      return false;
    }
    body.append(buf, n);
  }
  return true;
}

void send_file(mg_connection* conn, const std::string& path) {
  std::string base = path.substr(path.rfind('/') + 1);
  std::string headers = "Content-Disposition: attachment; filename=\"" + base + "\"\r\n";
  mg_send_mime_file2(conn, path.c_str(), "application/octet-stream", headers.c_str());
}

// A plugin's route (ABI 1.4): the request as the plugin sees it, the answer
// as it gave it.
void serve_route(mg_connection* conn, const mg_request_info* ri, const std::string& subpath,
                 const Appliance::PluginEndpoint& e, const std::string& body) {
  oryx_http_request req{sizeof(req), 0,           ri->request_method, subpath.c_str(),
                        ri->query_string ? ri->query_string : "", body.c_str(), body.size()};
  oryx_http_response resp{sizeof(resp), 0, nullptr, nullptr};
  e.route(e.ctx, &req, &resp);
  int status = resp.status ? resp.status : 500;
  if (resp.file)
    send_file(conn, resp.file);
  else if (resp.body)
    send(conn, status, "application/json", resp.body);
  else
    send_error(conn, 500, std::string("the plugin serving ") + ri->local_uri + " returned nothing");
  std::free(resp.body);
  std::free(resp.file);
}

}  // namespace

bool RestServer::authorized(mg_connection* conn) {
  const std::string& token = appliance_.config().http.get_string("token");
  if (token.empty()) {
    send_error(conn, 403, "state-changing calls are disabled: set [http] token in the config");
    return false;
  }
  const char* auth = mg_get_header(conn, "Authorization");
  const std::string prefix = "Bearer ";
  if (!auth || std::strncmp(auth, prefix.c_str(), prefix.size()) != 0 ||
      !constant_time_equal(auth + prefix.size(), token)) {
    send_error(conn, 401, "missing or wrong bearer token");
    return false;
  }
  return true;
}

RestServer::RestServer(Appliance& appliance) : appliance_(appliance) {}

RestServer::~RestServer() { stop(); }

void RestServer::add_routes() {
  auto get = [this](const std::string& uri, std::function<nlohmann::json()> body) {
    routes_[uri] = {"GET", [body](mg_connection* c, const mg_request_info*) {
                      send_json(c, 200, body());
                    }};
  };
  Appliance& a = appliance_;
  get("/api/v1/status", [&a] { return a.status_json(); });
  get("/api/v1/plugins", [&a] { return a.plugins_json(); });
  get("/api/v1/ports", [&a] { return a.ports_json(); });
  get("/api/v1/stats", [&a] { return a.stats_json(); });
  get("/api/v1/config", [&a] { return a.config_json(); });
  get("/api/v1/graph", [&a] { return a.graph_json(); });
  get("/api/v1/applications", [&a] { return a.applications_json(); });
  get("/api/v1/log", [] {
    nlohmann::json arr = nlohmann::json::array();
    for (const auto& l : logging::list()) arr.push_back({{"logger", l.name}, {"level", l.level}});
    return nlohmann::json{{"loggers", arr}, {"recent", logging::recent(100)}};
  });
  get("/api/v1", [this] {
    nlohmann::json arr = nlohmann::json::array();
    for (const auto& [uri, r] : routes_) arr.push_back({{"path", uri}, {"method", r.method}});
    for (const auto& [uri, _] : post_routes_) arr.push_back({{"path", uri}, {"method", "POST"}});
    for (const auto& [name, help] : appliance_.endpoints()) {
      const auto* e = appliance_.find_endpoint(name);
      bool route = e && e->route;  // serves every method, and the paths below it
      arr.push_back({{"path", "/api/v1/" + name + (route ? "[/...]" : "")},
                     {"method", route ? "GET, POST, DELETE" : "GET"},
                     {"help", help}});
    }
    return nlohmann::json{{"endpoints", arr}};
  });
  routes_["/metrics"] = {"GET", [&a](mg_connection* c, const mg_request_info*) {
                           send(c, 200, "text/plain; version=0.0.4", a.metrics_text());
                         }};
  post_routes_["/api/v1/log"] = [](mg_connection* c, const nlohmann::json& body) {
    if (!body.is_object() || !body.contains("level") || !body["level"].is_string())
      return send_error(c, 400, "expected {\"logger\": name (default \"*\"), \"level\": level}");
    std::string logger = "*";
    if (body.contains("logger")) {
      if (!body["logger"].is_string()) return send_error(c, 400, "logger must be a string");
      logger = body["logger"].get<std::string>();
    }
    std::string level = body["level"];
    switch (logging::set_level(logger, level)) {
      case logging::SetLevel::kUnknownLevel:
        return send_error(c, 400, "unknown level \"" + level +
                                      "\" (trace|debug|info|warn|error|critical)");
      case logging::SetLevel::kUnknownLogger:
        return send_error(c, 404, "no logger \"" + logger + "\" (see GET /api/v1/log)");
      case logging::SetLevel::kDone:
        break;
    }
    logging::get("oryx")->info("log level of {} set to {} over REST", logger, level);
    send_json(c, 200, {{"logger", logger}, {"level", level}});
  };
}

// The exception barrier: whatever a handler (ours or a plugin's) throws,
// the request gets a 500 and a log line; CivetWeb's thread, and with it
// oryxd or the application under oryx run, lives on.
int RestServer::dispatch(mg_connection* conn) {
  try {
    return dispatch_request(conn);
  } catch (const std::exception& e) {
    logging::get("http")->error("request failed: {}", e.what());
  } catch (...) {
    logging::get("http")->error("request failed: unknown exception");
  }
  try {
    send(conn, 500, "application/json",
         "{\"error\": \"internal error, see the log\", \"status\": 500}\n");
  } catch (...) {
  }
  return 1;
}

// A plugin's dashboard panel, "<plugin>.js": code like the dashboard's
// own files, so served to everyone; only a loaded plugin's, checked as the
// plugin was (plugin_loader.cpp).
int RestServer::serve_panel(mg_connection* conn, const std::string& file) {
  const std::string suffix = ".js";
  std::string path;
  if (file.size() > suffix.size() && file.compare(file.size() - suffix.size(), suffix.size(), suffix) == 0)
    path = appliance_.plugin_panel(file.substr(0, file.size() - suffix.size()));
  if (path.empty()) {
    send(conn, 404, "application/json", "{\"error\": \"no such plugin panel\", \"status\": 404}\n");
    return 1;
  }
  mg_send_mime_file(conn, path.c_str(), "text/javascript");
  return 1;
}

int RestServer::dispatch_request(mg_connection* conn) {
  const mg_request_info* ri = mg_get_request_info(conn);
  std::string uri = ri->local_uri ? ri->local_uri : "";
  while (uri.size() > 1 && uri.back() == '/') uri.pop_back();
  std::string method = ri->request_method ? ri->request_method : "";
  bool api = uri == "/metrics" || uri.rfind("/api/", 0) == 0 || uri == "/api";
  const std::string panels = "/plugin-panels/";
  if (uri.rfind(panels, 0) == 0) return serve_panel(conn, uri.substr(panels.size()));
  if (!api) return 0;  // static dashboard files: the same for everyone, no data
  if (reads_need_token_ && !authorized(conn)) return 1;

  auto post = post_routes_.find(uri);
  auto get = routes_.find(uri);
  const std::string prefix = "/api/v1/";
  if (uri.rfind(prefix, 0) == 0 && get == routes_.end() && post == post_routes_.end()) {
    std::string rest = uri.substr(prefix.size());
    size_t slash = rest.find('/');
    const auto* e = appliance_.find_endpoint(rest.substr(0, slash));
    if (e && e->route) {
      // Reads need no token here, unless every request was checked above.
      bool cleared = method == "GET" || method == "HEAD" || reads_need_token_;
      std::string body;
      if ((cleared || authorized(conn)) && read_body(conn, ri, body))
        serve_route(conn, ri, slash == std::string::npos ? "" : rest.substr(slash), *e, body);
      return 1;
    }
  }
  if (method == "POST" && post != post_routes_.end()) {
    if (!authorized(conn)) return 1;
    std::string body;
    if (!read_body(conn, ri, body)) return 1;
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(body);
    } catch (const std::exception& e) {
      send_error(conn, 400, std::string("malformed JSON body: ") + e.what());
      return 1;
    }
    try {
      post->second(conn, j);
    } catch (const std::exception& e) {
      send_error(conn, 400, std::string("cannot handle the request: ") + e.what());
    }
    return 1;
  }
  if (method == "GET" || method == "HEAD") {
    if (get != routes_.end()) {
      try {
        get->second.handler(conn, ri);
      } catch (const std::exception& e) {
        send_error(conn, 500, e.what());
      }
      return 1;
    }
    if (post != post_routes_.end()) {
      send_error(conn, 405, "this endpoint changes state: use POST");
      return 1;
    }
    if (uri.rfind(prefix, 0) == 0) {
      if (const auto* e = appliance_.find_endpoint(uri.substr(prefix.size()))) {
        char* text = e->handler(e->ctx);
        if (!text) {
          send_error(conn, 500, "the plugin serving " + uri + " returned nothing");
        } else {
          send(conn, 200, "application/json", text);
          std::free(text);
        }
        return 1;
      }
    }
    send_error(conn, 404, "no such endpoint: " + uri + " (see GET /api/v1)");
    return 1;
  }
  if (get != routes_.end() || post != post_routes_.end()) {
    send_error(conn, 405, "method " + method + " not allowed on " + uri);
    return 1;
  }
  send_error(conn, 404, "no such endpoint: " + uri);
  return 1;
}

void RestServer::start() {
  const auto& http = appliance_.config().http;
  add_routes();
  // This route table is the one list of the kernel's endpoint names.
  std::set<std::string> own;
  const std::string prefix = "/api/v1/";
  auto note = [&](const std::string& uri) {
    if (uri.rfind(prefix, 0) != 0) return;
    std::string rest = uri.substr(prefix.size());
    own.insert(rest.substr(0, rest.find('/')));
  };
  for (const auto& [uri, _] : routes_) note(uri);
  for (const auto& [uri, _] : post_routes_) note(uri);
  appliance_.reserve_endpoints(own);
  std::string threads = std::to_string(http.get_int("threads"));
  std::string request_timeout = std::to_string(http.get_int("request_timeout_ms"));
  std::string listen = http.get_string("listen");
  std::string root = http.get_string("webui_dir");
  std::string cert = http.get_string("tls_certificate");
  reads_need_token_ = listens_beyond_loopback(listen);
  // CivetWeb serves HTTPS on ports suffixed with "s".
  std::string listening = cert.empty() ? listen : listen + "s";
  unsigned features = 0;
  if (!cert.empty()) {
    if (std::string why = prepare_civetweb_tls(); !why.empty())
      throw std::runtime_error("http.tls_certificate is set but TLS is unavailable: " + why);
    features = MG_FEATURES_TLS;
  }
  if ((mg_init_library(features) & features) != features)
    throw std::runtime_error("http.tls_certificate is set but CivetWeb cannot initialise OpenSSL "
                             "(it loads libssl.so and libcrypto.so: on Debian, libssl-dev)");
  std::vector<const char*> options = {"listening_ports", listening.c_str(),
                                      "num_threads",     threads.c_str(),
                                      "enable_directory_listing", "no",
                                      "request_timeout_ms", request_timeout.c_str()};
  if (!root.empty()) {
    options.push_back("document_root");
    options.push_back(root.c_str());
  }
  if (!cert.empty()) {
    options.insert(options.end(), {"ssl_certificate", cert.c_str(),
                                   "ssl_protocol_version", "4"});  // TLS 1.2 and newer
  }
  options.push_back(nullptr);

  mg_callbacks callbacks{};
  callbacks.log_message = [](const mg_connection*, const char* msg) {
    logging::get("http")->warn("{}", msg);
    return 1;
  };
  // CivetWeb's threads inherit this mask: with every signal blocked there,
  // a driver's process-directed signal (DPDK's TAP port asks for one per
  // received burst through F_SETSIG) never interrupts a request half-way,
  // which cut responses off ("empty reply") under load.
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_BLOCK, &all, &old);
  ctx_ = mg_start(&callbacks, this, options.data());
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  if (!ctx_) throw std::runtime_error("cannot start the HTTP server on " + listen +
                                      (cert.empty() ? "" : " with TLS (" + cert + ")") +
                                      " (address in use or invalid, or a bad certificate? "
                                      "see the http log lines above)");
  mg_set_request_handler(
      ctx_, "/",
      [](mg_connection* c, void* self) { return static_cast<RestServer*>(self)->dispatch(c); },
      this);

  mg_server_port ports[4] = {};
  int n = mg_get_server_ports(ctx_, 4, ports);
  if (n > 0) {
    std::string host = listen.substr(0, listen.rfind(':'));
    if (host.empty() || host == listen) host = "0.0.0.0";
    bound_ = host + ":" + std::to_string(ports[0].port);
  }
  std::string scheme = cert.empty() ? "http" : "https";
  logging::get("oryx")->info("REST API and dashboard on {}://{}/{}", scheme, bound_,
                             reads_need_token_ ? " (beyond loopback: every API request needs the token)" : "");
  const std::string& port_file = http.get_string("port_file");
  if (!port_file.empty()) {
    std::ofstream out(port_file);
    out << bound_ << "\n";
  }
}

void RestServer::stop() {
  if (ctx_) {
    mg_stop(ctx_);
    ctx_ = nullptr;
  }
}

}  // namespace oryx::kernel
