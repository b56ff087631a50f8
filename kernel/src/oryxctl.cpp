// SPDX-License-Identifier: Apache-2.0
// oryxctl.cpp - command-line client of the oryxd REST API.
#include <civetweb.h>
#include <getopt.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "json_table.hpp"
#include "tls_compat.hpp"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#ifndef ORYX_VERSION
#define ORYX_VERSION "0.0.0"
#endif

// Ordered: a route's keys are shown in the order its server wrote them.
using json = nlohmann::ordered_json;

namespace {

void usage(FILE* out) {
  std::fprintf(out,
               "Usage: oryxctl [OPTIONS] COMMAND [ARGS]\n"
               "Query and steer a running oryxd through its REST API.\n"
               "\n"
               "Commands:\n"
               "  status                 appliance state, uptime, workers and their load\n"
               "  plugins                loaded plugins: name, version, ABI, state\n"
               "  ports                  ports: driver, link, queues, packet counters\n"
               "  stats [--watch [SEC]]  stage and port counters; --watch redraws every SEC\n"
               "                         seconds (default 1) with rates, until Ctrl-C\n"
               "  graph                  stages and edges of the running graph\n"
               "  config                 the effective configuration (secrets redacted)\n"
               "  connections [--state S] [--proto tcp|udp] [--match TEXT] [--sort COL] [--limit N]\n"
               "                         live TCP and UDP endpoints of the stack (netstat)\n"
               "  applications           the process running under `oryx run` and its sockets\n"
               "                         (asked of the API inside that process)\n"
               "  show ROUTE[/PATH] [KEY=VALUE...]\n"
               "                         any endpoint, a plugin's included, as tables (GET\n"
               "                         /api/v1/ROUTE/PATH?KEY=VALUE&...); e.g. show bridge/fdb\n"
               "  sockmap                = show sockmap (sockets the sockmap services redirect)\n"
               "  bridge [fdb]           = show bridge, show bridge/fdb (eBPF bridge ports, FDB)\n"
               "  share                  = show share (shared ports: attached processes, reclaimed)\n"
               "  log                    loggers and their levels, recent warnings\n"
               "  log LOGGER LEVEL       set a logger's level (\"*\" for all); needs the token\n"
               "  capture points         where packets can be captured (pdump plugin)\n"
               "  capture list           captures, their state and counters\n"
               "  capture start POINT[,POINT...] [--filter EXPR] [--count N] [--bytes N]\n"
               "        [--duration SEC] [--snaplen N] [--file-size-mb N [--files N]] [--name N]\n"
               "                         start a capture (tcpdump filter syntax); needs the token\n"
               "  capture stop ID        stop a capture; needs the token\n"
               "  capture get ID [-o FILE] [--file N]\n"
               "                         download a finished capture's pcapng file\n"
               "  capture delete ID      stop a capture and delete its files; needs the token\n"
               "\n"
               "Options:\n"
               "  -u, --url URL     oryxd address, http:// or https:// (default $ORYX_URL or\n"
               "                    http://127.0.0.1:8080)\n"
               "  -t, --token TOK   bearer token, sent with every request (default $ORYX_TOKEN);\n"
               "                    needed by state-changing calls, and by every call when\n"
               "                    oryxd listens beyond loopback\n"
               "      --cacert FILE certificate (or its CA) an https:// oryxd must present\n"
               "                    (default $ORYX_CACERT); https needs it\n"
               "  -j, --json        print the API's JSON instead of tables\n"
               "  -h, --help        show this help\n"
               "  -V, --version     show the version\n"
               "\n"
               "Exit status: 0 on success, 1 when oryxd answered with an error, 2 on bad\n"
               "usage, 3 when oryxd cannot be reached.\n");
}

struct Endpoint {
  std::string host = "127.0.0.1";
  int port = 8080;
  bool tls = false;
  std::string token;   // sent with every request when set
  std::string cacert;  // verifies an https server's certificate
};

bool parse_url(const std::string& url, Endpoint& ep) {
  std::string rest = url;
  ep.tls = rest.rfind("https://", 0) == 0;
  if (ep.tls) rest = rest.substr(8);
  else if (rest.rfind("http://", 0) == 0) rest = rest.substr(7);
  else if (rest.find("://") != std::string::npos) return false;
  while (!rest.empty() && rest.back() == '/') rest.pop_back();
  size_t colon = rest.rfind(':');
  if (colon == std::string::npos) {
    ep.host = rest;
    ep.port = ep.tls ? 443 : 80;
    return !rest.empty();
  }
  ep.host = rest.substr(0, colon);
  try {
    ep.port = std::stoi(rest.substr(colon + 1));
  } catch (...) {
    return false;
  }
  return !ep.host.empty() && ep.port > 0 && ep.port < 65536;
}

struct Failure {
  int code;
  std::string message;
};

// Sends one request (HTTP/1.0, so the answer ends with the connection) and
// waits for the answer's head; the caller reads the body and closes.
mg_connection* send_request(const Endpoint& ep, const std::string& method, const std::string& path,
                            const std::string& body = "") {
  char err[256] = "";
  mg_client_options opts{};
  opts.host = ep.host.c_str();
  opts.port = ep.port;
  opts.server_cert = ep.cacert.c_str();
  mg_connection* c = ep.tls ? mg_connect_client_secure(&opts, err, sizeof(err))
                            : mg_connect_client(ep.host.c_str(), ep.port, 0, err, sizeof(err));
  std::string where = (ep.tls ? "https://" : "http://") + ep.host + ":" + std::to_string(ep.port);
  if (!c && ep.tls)
    throw Failure{3, "cannot open a TLS connection to oryxd at " + where + " (" + err +
                         "): is it running, and is --cacert the certificate it presents?"};
  if (!c)
    throw Failure{3, "cannot reach oryxd at " + where + " (" + err +
                         "); is it running? (systemctl status oryxd)"};
  std::string auth = ep.token.empty() ? "" : "Authorization: Bearer " + ep.token + "\r\n";
  mg_printf(c,
            "%s %s HTTP/1.0\r\nHost: %s\r\n%sContent-Type: application/json\r\n"
            "Content-Length: %zu\r\n\r\n",
            method.c_str(), path.c_str(), ep.host.c_str(), auth.c_str(), body.size());
  mg_write(c, body.data(), body.size());
  if (mg_get_response(c, err, sizeof(err), 30000) < 0) {
    mg_close_connection(c);
    throw Failure{3, "no answer from oryxd at " + where + " (" + err + ")"};
  }
  return c;
}

json request(const Endpoint& ep, const std::string& method, const std::string& path,
             const std::string& body = "") {
  mg_connection* c = send_request(ep, method, path, body);
  std::string data;
  char buf[8192];
  int n;
  while ((n = mg_read(c, buf, sizeof(buf))) > 0) data.append(buf, n);
  const mg_response_info* ri = mg_get_response_info(c);
  int status = ri ? ri->status_code : 0;
  mg_close_connection(c);
  json j;
  try {
    j = json::parse(data);
  } catch (const std::exception&) {
    throw Failure{1, "oryxd sent a non-JSON answer (HTTP " + std::to_string(status) + ")"};
  }
  if (status >= 400)
    throw Failure{1, "oryxd: " + j.value("error", std::string("HTTP ") + std::to_string(status))};
  return j;
}

// GET path into the file `out`; oryxd's JSON error becomes a Failure.
void download(const Endpoint& ep, const std::string& path, const std::string& out) {
  mg_connection* c = send_request(ep, "GET", path);
  const mg_response_info* ri = mg_get_response_info(c);
  int status = ri ? ri->status_code : 0;
  std::string data;
  char buf[65536];
  int n;
  FILE* f = status == 200 ? std::fopen(out.c_str(), "wb") : nullptr;
  if (status == 200 && !f) {
    mg_close_connection(c);
    throw Failure{1, "cannot write " + out + ": " + std::strerror(errno)};
  }
  uint64_t total = 0;
  while ((n = mg_read(c, buf, sizeof(buf))) > 0) {
    if (f) std::fwrite(buf, 1, size_t(n), f), total += uint64_t(n);
    else data.append(buf, n);
  }
  mg_close_connection(c);
  if (!f) {
    json j = json::parse(data, nullptr, false);
    throw Failure{1, "oryxd: " + (j.is_object() ? j.value("error", std::string("?"))
                                                : "HTTP " + std::to_string(status))};
  }
  bool ok = std::fclose(f) == 0;
  if (!ok) throw Failure{1, "cannot write " + out};
  std::fprintf(stderr, "wrote %llu bytes to %s\n", (unsigned long long)total, out.c_str());
}

std::string human(uint64_t v) {
  char buf[32];
  if (v >= 10000000000ULL) std::snprintf(buf, sizeof(buf), "%.1fG", v / 1e9);
  else if (v >= 10000000ULL) std::snprintf(buf, sizeof(buf), "%.1fM", v / 1e6);
  else if (v >= 100000ULL) std::snprintf(buf, sizeof(buf), "%.1fk", v / 1e3);
  else std::snprintf(buf, sizeof(buf), "%llu", (unsigned long long)v);
  return buf;
}

// Prints rows as left-aligned columns.
void table(const std::vector<std::vector<std::string>>& rows) {
  oryx::kernel::print_text_table(rows, stdout);
}

std::string str(const json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_null()) return "-";
  return v.dump();
}

void print_status(const json& s) {
  std::printf("state      %s\nversion    %s (plugin ABI %s)\npid        %s\nuptime     %.0f s\n"
              "config     %s\nstages     %s, plugins %s, ports %s\n",
              str(s["state"]).c_str(), str(s["version"]).c_str(), str(s["abi"]).c_str(),
              str(s["pid"]).c_str(), s.value("uptime_seconds", 0.0), str(s["config_file"]).c_str(),
              str(s["stages"]).c_str(), str(s["plugins"]).c_str(), str(s["ports"]).c_str());
  if (s.contains("mbufs"))
    std::printf("mbufs      %s in use of %s\n", str(s["mbufs"]["in_use"]).c_str(),
                str(s["mbufs"]["size"]).c_str());
  std::vector<std::vector<std::string>> rows = {{"WORKER", "LCORE", "RUNNING", "BUSY%", "WALKS"}};
  for (const auto& w : s["workers"]) {
    double busy = w["busy_cycles"].get<double>(), idle = w["idle_cycles"].get<double>();
    char pct[16];
    std::snprintf(pct, sizeof(pct), "%.1f", busy + idle > 0 ? 100.0 * busy / (busy + idle) : 0.0);
    rows.push_back({str(w["index"]), str(w["lcore"]), w["running"].get<bool>() ? "yes" : "no", pct,
                    human(w["walks"].get<uint64_t>())});
  }
  std::printf("\n");
  table(rows);
  if (!s["recent_log"].empty()) {
    std::printf("\nrecent warnings and errors:\n");
    for (const auto& l : s["recent_log"]) std::printf("  %s", str(l).c_str());
  }
}

void print_plugins(const json& arr) {
  std::vector<std::vector<std::string>> rows = {{"NAME", "VERSION", "ABI", "STATE", "STAGES", "PATH"}};
  for (const auto& p : arr) {
    std::string stages;
    for (const auto& s : p["stages"]) stages += (stages.empty() ? "" : ",") + str(s);
    rows.push_back({str(p["name"]), str(p["version"]), str(p["abi"]), str(p["state"]), stages,
                    str(p["path"])});
  }
  table(rows);
}

void print_ports(const json& arr) {
  std::vector<std::vector<std::string>> rows = {
      {"PORT", "DRIVER", "LINK", "MTU", "RXQ", "TXQ", "RX-PKTS", "TX-PKTS", "RX-MISSED", "ERRORS"}};
  for (const auto& p : arr) {
    const json& st = p.value("stats", json::object());
    rows.push_back({str(p["name"]), str(p.value("driver", json("-"))),
                    p.contains("link") && p["link"]["up"].get<bool>() ? "up" : "down",
                    str(p.value("mtu", json("-"))), str(p.value("rx_queues", json("-"))),
                    str(p.value("tx_queues", json("-"))),
                    human(st.value("rx_packets", uint64_t(0))),
                    human(st.value("tx_packets", uint64_t(0))),
                    human(st.value("rx_missed", uint64_t(0))),
                    human(st.value("rx_errors", uint64_t(0)) + st.value("tx_errors", uint64_t(0)))});
  }
  table(rows);
  // What plugins add about their ports (a bond: mode, primary, members, LACP).
  for (const auto& p : arr) {
    if (!p.contains("details") || !p["details"].is_object()) continue;
    std::printf("\n%s:", str(p["name"]).c_str());
    for (const auto& [key, value] : p["details"].items())
      if (key != "members") std::printf(" %s %s", key.c_str(), str(value).c_str());
    std::printf("\n");
    for (const auto& m : p["details"].value("members", json::array())) {
      std::printf("  member %s: link %s, %s", str(m["name"]).c_str(),
                  m.value("link_up", false) ? "up" : "down",
                  m.value("active", false) ? "active" : "inactive");
      if (m.contains("lacp"))
        std::printf(", lacp %s, actor %s, partner %s %s", str(m["lacp"]["selection"]).c_str(),
                    str(m["lacp"]["actor_state"]).c_str(), str(m["lacp"]["partner_system"]).c_str(),
                    str(m["lacp"]["partner_state"]).c_str());
      std::printf("\n");
    }
  }
}

void print_stats(const json& s, const json* prev, double seconds) {
  std::vector<std::vector<std::string>> rows = {{"STAGE", "COUNTER", "VALUE", "RATE/s"}};
  for (const auto& [stage, body] : s["stages"].items())
    for (const auto& [name, value] : body["counters"].items()) {
      if (!value.is_number()) continue;
      std::string rate = "";
      if (prev && seconds > 0) {
        uint64_t before = (*prev)["stages"][stage]["counters"].value(name, uint64_t(0));
        rate = human(uint64_t((value.get<uint64_t>() - before) / seconds));
      }
      rows.push_back({stage, name, human(value.get<uint64_t>()), rate});
    }
  table(rows);
  std::printf("\ndrops total: %s\n", human(s.value("drops_total", uint64_t(0))).c_str());
}

void print_applications(const json& j) {
  if (!j.value("embedded", false)) {
    std::printf("%s\n", j.value("note", std::string("no applications")).c_str());
    return;
  }
  for (const auto& a : j["applications"]) {
    std::printf("%s (pid %s): %s\n  threads %s, descriptors %s open, %s on Oryx\n", str(a["name"]).c_str(),
                str(a["pid"]).c_str(), str(a["command"]).c_str(), str(a["threads"]).c_str(),
                str(a["descriptors"]["open"]).c_str(), str(a["descriptors"]["managed_by_oryx"]).c_str());
    std::vector<std::vector<std::string>> rows = {{"FD", "KIND", "LOCAL", "REMOTE"}};
    for (const auto& s : a["oryx_sockets"])
      rows.push_back({str(s["fd"]), str(s["kind"]), s.value("local", std::string("-")),
                      s.value("remote", std::string("-"))});
    table(rows);
    if (!a.contains("threading")) continue;
    const json& t = a["threading"];
    std::printf("\nthreading: %s", str(t["model"]).c_str());
    if (t.contains("spin_us"))
      std::printf(" (spin %s us, keeper grace %s us, %s wake descriptor(s)%s)", str(t["spin_us"]).c_str(),
                  str(t["grace_us"]).c_str(), str(t["wake_fds"]).c_str(),
                  t.value("timer_poll", false) ? ", timer polling" : "");
    std::printf("\n");
    if (!t.contains("threads")) continue;
    std::vector<std::vector<std::string>> threads = {{"TID", "NAME", "ROLE", "POLLS", "PACKETS",
                                                      "PKT/POLL", "SPINS", "SLEEPS", "WAKEUPS",
                                                      "HOLD-US", "SPIN-US"}};
    for (const auto& th : t["threads"]) {
      char ppp[32];
      std::snprintf(ppp, sizeof(ppp), "%.2f", th.value("packets_per_poll", 0.0));
      threads.push_back({str(th["tid"]), str(th["name"]),
                         str(th["role"]) + (th.value("exited", false) ? " (exited)" : ""),
                         str(th["polls"]), str(th["packets"]), ppp, str(th["spins"]),
                         str(th["sleeps"]), str(th["wakeups"]), str(th["hold_us"]),
                         str(th["spin_us"])});
    }
    table(threads);
  }
}

// oryxctl capture ...: returns the exit status.
int capture_command(const Endpoint& ep, bool as_json,
                    const std::vector<std::string>& args) {
  auto print = [&](const json& j) {
    if (as_json) std::printf("%s\n", j.dump(2).c_str());
    else oryx::kernel::print_json_tables(j, stdout);
  };
  auto one = [](const json& c) {
    std::printf("capture %s %s: %s packets, %s bytes written%s\n", str(c["id"]).c_str(),
                str(c["state"]).c_str(), str(c["counters"]["written_packets"]).c_str(),
                str(c["counters"]["written_bytes"]).c_str(),
                c.contains("stop_reason") ? (" (" + str(c["stop_reason"]) + ")").c_str() : "");
  };
  const std::string sub = args.empty() ? "" : args[0];
  if (sub == "points" && args.size() == 1) {
    print(request(ep, "GET", "/api/v1/captures/points"));
  } else if (sub == "list" && args.size() == 1) {
    print(request(ep, "GET", "/api/v1/captures"));
  } else if (sub == "start" && args.size() >= 2) {
    json body = {{"points", json::array()}};
    std::stringstream points(args[1]);
    for (std::string p; std::getline(points, p, ',');) body["points"].push_back(p);
    const std::pair<const char*, const char*> numbers[] = {
        {"--count", "max_packets"}, {"--bytes", "max_bytes"},       {"--duration", "duration_s"},
        {"--snaplen", "snaplen"},   {"--file-size-mb", "file_size_mb"}, {"--files", "files"}};
    for (size_t i = 2; i < args.size(); i += 2) {
      if (i + 1 >= args.size()) {
        std::fprintf(stderr, "oryxctl: %s needs a value\n", args[i].c_str());
        return 2;
      }
      const std::string& value = args[i + 1];
      if (args[i] == "--filter") { body["filter"] = value; continue; }
      if (args[i] == "--name") { body["name"] = value; continue; }
      const char* key = nullptr;
      for (const auto& [flag, k] : numbers)
        if (args[i] == flag) key = k;
      char* end = nullptr;
      unsigned long long v = std::strtoull(value.c_str(), &end, 10);
      if (!key || !end || *end || value.empty()) {
        std::fprintf(stderr, "oryxctl: capture start: bad option %s %s\n", args[i].c_str(),
                     value.c_str());
        return 2;
      }
      body[key] = v;
    }
    json c = request(ep, "POST", "/api/v1/captures", body.dump());
    if (as_json) std::printf("%s\n", c.dump(2).c_str());
    else std::printf("capture %s started on %s\n", str(c["id"]).c_str(), args[1].c_str());
  } else if (sub == "stop" && args.size() == 2) {
    json c = request(ep, "POST", "/api/v1/captures/" + args[1] + "/stop");
    if (as_json) std::printf("%s\n", c.dump(2).c_str());
    else one(c);
  } else if (sub == "delete" && args.size() == 2) {
    json j = request(ep, "DELETE", "/api/v1/captures/" + args[1]);
    if (as_json) std::printf("%s\n", j.dump(2).c_str());
    else std::printf("capture %s deleted\n", args[1].c_str());
  } else if (sub == "get" && args.size() >= 2) {
    std::string out = "capture-" + args[1] + ".pcapng", file;
    for (size_t i = 2; i + 1 < args.size(); i += 2) {
      if (args[i] == "-o") out = args[i + 1];
      else if (args[i] == "--file") file = args[i + 1];
      else {
        std::fprintf(stderr, "oryxctl: capture get: bad option %s\n", args[i].c_str());
        return 2;
      }
    }
    if (args.size() % 2 != 0) {
      std::fprintf(stderr, "oryxctl: capture get ID [-o FILE] [--file N]\n");
      return 2;
    }
    download(ep, "/api/v1/captures/" + args[1] + (file.empty() ? "/file" : "/files/" + file), out);
  } else {
    std::fprintf(stderr, "oryxctl: capture: expected points, list, start, stop, get or delete\n");
    return 2;
  }
  return 0;
}

// Any endpoint's answer, a plugin's included: see json_table.hpp.
void print_tables(const json& j) { oryx::kernel::print_json_tables(j, stdout); }

void print_graph(const json& g) {
  std::vector<std::vector<std::string>> rows = {{"FROM", "EDGE", "TO"}};
  for (const auto& e : g["edges"])
    if (str(e["to"]) != "oryx-drop") rows.push_back({str(e["from"]), str(e["edge"]), str(e["to"])});
  table(rows);
  std::printf("\nevery stage also has edge 0 to oryx-drop (counted drops)\n");
}

std::string url_encoded(const std::string& text) {
  std::string encoded(3 * text.size() + 1, '\0');
  int n = mg_url_encode(text.c_str(), encoded.data(), encoded.size());
  encoded.resize(n > 0 ? size_t(n) : 0);
  return encoded;
}

// connections' options as the endpoint's query string.
std::string connection_query(const std::vector<std::string>& args) {
  static const std::map<std::string, std::string> names = {
      {"--state", "state"}, {"--proto", "proto"}, {"--match", "q"}, {"--sort", "sort"}, {"--limit", "limit"}};
  std::string query;
  for (size_t i = 0; i < args.size(); i += 2) {
    auto it = names.find(args[i]);
    if (it == names.end() || i + 1 >= args.size())
      throw Failure{2, "connections: expected --state, --proto, --match, --sort or --limit with a value"};
    query += (query.empty() ? "?" : "&") + it->second + "=" + url_encoded(args[i + 1]);
  }
  return query;
}

// show ROUTE[/PATH] [KEY=VALUE...]: the endpoint's path and query string.
std::string show_path(const std::vector<std::string>& args) {
  if (args.empty() || args[0].empty() || args[0][0] == '/')
    throw Failure{2, "show: expected ROUTE[/PATH] [KEY=VALUE...], e.g. show bridge/fdb limit=10"};
  std::string path = "/api/v1/" + args[0];
  for (size_t i = 1; i < args.size(); i++) {
    size_t eq = args[i].find('=');
    if (eq == std::string::npos || eq == 0)
      throw Failure{2, "show: query arguments are KEY=VALUE, found \"" + args[i] + "\""};
    path += (i == 1 ? "?" : "&") + url_encoded(args[i].substr(0, eq)) + "=" +
            url_encoded(args[i].substr(eq + 1));
  }
  return path;
}

}  // namespace

int main(int argc, char** argv) {
  const char* env_url = std::getenv("ORYX_URL");
  const char* env_token = std::getenv("ORYX_TOKEN");
  std::string url = env_url ? env_url : "http://127.0.0.1:8080";
  std::string token = env_token ? env_token : "";
  const char* env_cacert = std::getenv("ORYX_CACERT");
  std::string cacert = env_cacert ? env_cacert : "";
  bool as_json = false;

  static const option opts[] = {{"url", required_argument, nullptr, 'u'},
                                {"token", required_argument, nullptr, 't'},
                                {"cacert", required_argument, nullptr, 'C'},
                                {"json", no_argument, nullptr, 'j'},
                                {"help", no_argument, nullptr, 'h'},
                                {"version", no_argument, nullptr, 'V'},
                                {nullptr, 0, nullptr, 0}};
  int opt;
  // "+" stops at the command so its own options (stats --watch) stay put.
  while ((opt = getopt_long(argc, argv, "+u:t:jhV", opts, nullptr)) != -1) {
    switch (opt) {
      case 'u': url = optarg; break;
      case 't': token = optarg; break;
      case 'C': cacert = optarg; break;
      case 'j': as_json = true; break;
      case 'h': usage(stdout); return 0;
      case 'V': std::printf("oryxctl %s\n", ORYX_VERSION); return 0;
      default: usage(stderr); return 2;
    }
  }
  if (optind >= argc) {
    usage(stderr);
    return 2;
  }
  std::string cmd = argv[optind];
  std::vector<std::string> args(argv + optind + 1, argv + argc);
  Endpoint ep;
  if (!parse_url(url, ep)) {
    std::fprintf(stderr, "oryxctl: bad URL '%s' (expected http[s]://HOST:PORT)\n", url.c_str());
    return 2;
  }
  ep.token = token;
  ep.cacert = cacert;
  if (ep.tls && cacert.empty()) {
    std::fprintf(stderr, "oryxctl: %s: https needs --cacert FILE (the certificate oryxd presents, "
                         "or its CA) to verify the server\n", url.c_str());
    return 2;
  }
  if (ep.tls) {
    std::string why = oryx::kernel::prepare_civetweb_tls();
    if (!why.empty() || !(mg_init_library(MG_FEATURES_TLS) & MG_FEATURES_TLS)) {
      std::fprintf(stderr, "oryxctl: cannot initialise TLS: %s\n",
                   why.empty() ? "CivetWeb cannot load libssl.so/libcrypto.so (libssl-dev)" : why.c_str());
      return 3;
    }
  }
  if (!ep.tls) mg_init_library(0);

  try {
    auto show = [&](const json& j, void (*printer)(const json&)) {
      if (as_json) std::printf("%s\n", j.dump(2).c_str());
      else printer(j);
    };
    if (cmd == "status" && args.empty()) show(request(ep, "GET", "/api/v1/status"), print_status);
    else if (cmd == "plugins" && args.empty()) show(request(ep, "GET", "/api/v1/plugins"), print_plugins);
    else if (cmd == "ports" && args.empty()) show(request(ep, "GET", "/api/v1/ports"), print_ports);
    else if (cmd == "graph" && args.empty()) show(request(ep, "GET", "/api/v1/graph"), print_graph);
    else if (cmd == "connections")
      show(request(ep, "GET", "/api/v1/connections" + connection_query(args)), print_tables);
    else if (cmd == "applications" && args.empty())
      show(request(ep, "GET", "/api/v1/applications"), print_applications);
    else if (cmd == "sockmap" && args.empty())
      show(request(ep, "GET", "/api/v1/sockmap"), print_tables);
    else if (cmd == "bridge" && args.empty())
      show(request(ep, "GET", "/api/v1/bridge"), print_tables);
    else if (cmd == "bridge" && args.size() == 1 && args[0] == "fdb")
      show(request(ep, "GET", "/api/v1/bridge/fdb"), print_tables);
    else if (cmd == "share" && args.empty())
      show(request(ep, "GET", "/api/v1/share"), print_tables);
    else if (cmd == "show")
      show(request(ep, "GET", show_path(args)), print_tables);
    else if (cmd == "config" && args.empty()) std::printf("%s\n", request(ep, "GET", "/api/v1/config").dump(2).c_str());
    else if (cmd == "log" && args.empty()) {
      json j = request(ep, "GET", "/api/v1/log");
      if (as_json) {
        std::printf("%s\n", j.dump(2).c_str());
      } else {
        std::vector<std::vector<std::string>> rows = {{"LOGGER", "LEVEL"}};
        for (const auto& l : j["loggers"]) rows.push_back({str(l["logger"]), str(l["level"])});
        table(rows);
      }
    } else if (cmd == "log" && args.size() == 2) {
      json j = request(ep, "POST", "/api/v1/log",
                       json{{"logger", args[0]}, {"level", args[1]}}.dump());
      std::printf("%s\n", as_json ? j.dump(2).c_str()
                                  : ("logger " + str(j["logger"]) + " now at " + str(j["level"])).c_str());
    } else if (cmd == "capture") {
      return capture_command(ep, as_json, args);
    } else if (cmd == "stats" && (args.empty() || args[0] == "--watch")) {
      if (args.empty()) {
        json j = request(ep, "GET", "/api/v1/stats");
        if (as_json) std::printf("%s\n", j.dump(2).c_str());
        else print_stats(j, nullptr, 0);
        return 0;
      }
      double every = args.size() > 1 ? std::atof(args[1].c_str()) : 1.0;
      if (every <= 0 || args.size() > 2) {
        std::fprintf(stderr, "oryxctl: stats --watch takes an interval in seconds > 0\n");
        return 2;
      }
      json prev;
      auto last = std::chrono::steady_clock::now();
      while (true) {
        json j = request(ep, "GET", "/api/v1/stats");
        auto now = std::chrono::steady_clock::now();
        double secs = std::chrono::duration<double>(now - last).count();
        if (as_json) {
          std::printf("%s\n", j.dump().c_str());
        } else {
          std::printf("\033[H\033[2J");
          print_stats(j, prev.is_null() ? nullptr : &prev, secs);
        }
        std::fflush(stdout);
        prev = j;
        last = now;
        std::this_thread::sleep_for(std::chrono::duration<double>(every));
      }
    } else {
      std::fprintf(stderr, "oryxctl: unknown command or arguments: %s\n", cmd.c_str());
      usage(stderr);
      return 2;
    }
  } catch (const Failure& f) {
    std::fprintf(stderr, "oryxctl: %s\n", f.message.c_str());
    return f.code;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "oryxctl: unexpected answer: %s\n", e.what());
    return 1;
  }
  return 0;
}
