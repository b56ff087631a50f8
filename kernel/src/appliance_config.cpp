// SPDX-License-Identifier: Apache-2.0
// appliance_config.cpp - parsing appliance.toml and the kernel tables.
#include "appliance_config.hpp"

#include "http_access.hpp"
#include "toml_guard.hpp"
#include "oryx/install_paths.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstring>
#include <fstream>
#include <sstream>

namespace oryx::kernel {

namespace {

constexpr oryx_param P(const char* name, uint32_t type, int64_t min, int64_t max,
                       const char* def, const char* help, const char* choices = nullptr,
                       uint32_t flags = 0) {
  return {name, type, flags, min, max, def, choices, help};
}
constexpr oryx_param END{nullptr, 0, 0, 0, 0, nullptr, nullptr, nullptr};

const oryx_param kKernel[] = {
    P("main_lcore", ORYX_PARAM_INT, 0, 1023, "0",
      "CPU that runs the control thread (REST, statistics). It may be one of "
      "worker_lcores (two workers on a two-CPU machine): the thread then shares that "
      "worker's CPU."),
    P("worker_lcores", ORYX_PARAM_STRING, 0, 0, "\"1\"",
      "Comma-separated CPUs, one worker thread pinned to each; ranges like 2-5 allowed."),
    P("hugepages", ORYX_PARAM_BOOL, 0, 1, "true",
      "Back packet memory with hugepages; false runs DPDK with --no-huge (small tests only)."),
    P("hugepage_dir", ORYX_PARAM_STRING, 0, 0, "\"\"",
      "hugetlbfs mount to use; empty lets DPDK find one."),
    P("memory_mb", ORYX_PARAM_INT, 16, 65536, "256", "Memory DPDK reserves at start, in MiB."),
    P("file_prefix", ORYX_PARAM_STRING, 0, 0, "\"oryx\"",
      "DPDK runtime file prefix; give each instance on a host its own.", ORYX_FORMAT_NAME),
    P("mbufs", ORYX_PARAM_INT, 1023, 4194303, "8191", "Packet buffers in the kernel's pool."),
    P("mbuf_cache", ORYX_PARAM_INT, 0, 512, "256", "Per-core mbuf cache size."),
    P("mbuf_data_room", ORYX_PARAM_INT, 1152, 16384, "2176",
      "Bytes of each packet buffer (DPDK's data room, 128 of headroom included). A frame "
      "longer than one buffer is chained over several, which AF_XDP ports can neither send "
      "nor receive: 3840 (a buffer per 4 KiB page) lets an AF_XDP port take frames of 3,456 "
      "bytes (an MTU up to 3,442; a veth with XDP carries at most 3,506). On ports that take "
      "chains (memif), a buffer that holds a whole jumbo frame is still faster (a stack logs "
      "the size at start): 9152 for an MTU of 9,000."),
    P("burst", ORYX_PARAM_INT, 1, 256, "32", "Packets per burst on every stage."),
    P("idle", ORYX_PARAM_STRING, 0, 0, "\"adaptive\"",
      "What a worker does when a walk of the graph found no packets.", "adaptive|busy-poll"),
    P("idle_sleep_max_us", ORYX_PARAM_INT, 1, 100000, "200",
      "Longest sleep of an idle worker in adaptive mode, in microseconds."),
    P("pci_allow", ORYX_PARAM_STRING_LIST, 0, 64, "[]",
      "PCI addresses DPDK may take over (e.g. \"0000:03:00.0\"); empty probes no PCI device."),
    P("eal_args", ORYX_PARAM_STRING_LIST, 0, 64, "[]",
      "Extra DPDK EAL arguments appended verbatim (experts only)."),
    END};

const oryx_param kPlugins[] = {
    P("path", ORYX_PARAM_STRING_LIST, 1, 16, "[\"" ORYX_DEFAULT_PLUGIN_DIR "\"]",
      "Directories searched for <plugin>.so; each must not be world-writable."),
    P("load", ORYX_PARAM_STRING_LIST, 0, 256, "[]",
      "Plugins to load by name; empty loads every plugin found in path."),
    P("disable", ORYX_PARAM_STRING_LIST, 0, 256, "[]",
      "Plugins never to load (never even opened), even when found in path."),
    END};

const oryx_param kLog[] = {
    P("level", ORYX_PARAM_STRING, 0, 0, "\"info\"", "Default level of every logger.",
      "trace|debug|info|warn|error|critical"),
    P("loggers", ORYX_PARAM_STRING_LIST, 0, 256, "[]",
      "Per-logger levels as \"name=level\", e.g. \"io=debug\"."),
    P("file", ORYX_PARAM_STRING, 0, 0, "\"\"", "Log file; empty logs to standard error."),
    END};

const oryx_param kHttp[] = {
    P("enabled", ORYX_PARAM_BOOL, 0, 1, "true", "Serve the REST API and dashboard."),
    P("listen", ORYX_PARAM_STRING, 0, 0, "\"127.0.0.1:8080\"",
      "Address and port to listen on (\"[::1]:8080\" for IPv6; a bare port listens on every "
      "address); port 0 picks a free port (see port_file). Any address other than loopback "
      "needs a token."),
    P("token", ORYX_PARAM_STRING, 0, 0, "\"\"",
      "Bearer token (\"Authorization: Bearer TOKEN\"). Required by every state-changing call "
      "(POST, DELETE); when listen is not a loopback address, required by every API and "
      "/metrics request too, and must be set. Empty disables state-changing calls.", nullptr,
      ORYX_PARAM_SECRET),
    P("tls_certificate", ORYX_PARAM_STRING, 0, 0, "\"\"",
      "PEM file holding the server's certificate (chain) and private key; when set the "
      "server speaks only HTTPS (TLS 1.2 or newer, OpenSSL through CivetWeb)."),
    P("webui_dir", ORYX_PARAM_STRING, 0, 0, "\"" ORYX_DEFAULT_WEBUI_DIR "\"",
      "Directory of the dashboard's static files."),
    P("threads", ORYX_PARAM_INT, 1, 64, "16",
      "HTTP worker threads: requests served at once. A thread blocked on a slow client is "
      "freed by request_timeout_ms."),
    P("request_timeout_ms", ORYX_PARAM_INT, 100, 60000, "2000",
      "Time a client has to send a request's line and headers, counted from its first byte "
      "(and the longest wait for each piece of a body). A client that trickles its request "
      "holds a thread no longer than this."),
    P("port_file", ORYX_PARAM_STRING, 0, 0, "\"\"",
      "If set, the bound \"address:port\" is written here once listening."),
    END};

const oryx_param kStats[] = {
    P("per_worker", ORYX_PARAM_BOOL, 0, 1, "false",
      "Include each worker's share of every counter in /api/v1/stats."),
    P("xstats", ORYX_PARAM_BOOL, 0, 1, "true", "Report driver extended statistics of ports."),
    END};

const oryx_param kPreload[] = {
    P("wildcard", ORYX_PARAM_STRING, 0, 0, "\"oryx\"",
      "Under oryx run: where a socket bound to 0.0.0.0 or ::, or listening without a bind, "
      "goes.", "oryx|kernel"),
    P("connect", ORYX_PARAM_STRING, 0, 0, "\"subnet\"",
      "Under oryx run: which connect() calls of an unbound socket go to Oryx: \"subnet\" "
      "when the destination is on a stack interface's subnet, \"kernel\" never.",
      "subnet|kernel"),
    P("threading", ORYX_PARAM_STRING, 0, 0, "\"shared\"",
      "Under oryx run: how application threads reach the stack. \"shared\": the "
      "application's own threads poll the port and run the stack while they wait for the "
      "network (no worker thread; [kernel] worker_lcores is not used). "
      "\"separate-thread\": calls are handed to a worker thread on worker_lcores. "
      "\"run-to-completion\": threads run the stack's code themselves, a worker polls the "
      "port. See docs/compatibility.md.", "shared|separate-thread|run-to-completion"),
    P("spin_us", ORYX_PARAM_INT, 0, 100000, "100",
      "Under oryx run, shared model: how long a thread that waits for the network polls the "
      "port before it sleeps (0: sleep at once). One thread spins at a time."),
    P("keeper_grace_us", ORYX_PARAM_INT, 100, 1000000, "10000",
      "Under oryx run, shared model: when no application thread polled the port for this "
      "long (it computes, say), the keeper thread polls it, so ARP, handshakes and ACKs are "
      "answered within about this time."),
    END};

const oryx_param kCapture[] = {
    P("dir", ORYX_PARAM_STRING, 0, 0, "\"" ORYX_DEFAULT_CAPTURE_DIR "\"",
      "Directory packet captures (pdump plugin) are written to; created if missing."),
    P("ring_size", ORYX_PARAM_INT, 64, 1048576, "4096",
      "Packet copies one capture may queue for its writer (rounded up to a power of two); "
      "a full ring drops copies, never traffic."),
    P("copy_mbufs", ORYX_PARAM_INT, 255, 1048575, "8191",
      "Buffers of one capture's copy pool (each holds up to 2 KiB of a packet)."),
    P("max_captures", ORYX_PARAM_INT, 1, 64, "8", "Captures that may run at the same time."),
    END};

const std::set<std::string> kStageKernelKeys = {"type", "next"};

bool parse_lcores(const std::string& text, std::vector<unsigned>& out) {
  std::stringstream in(text);
  std::string part;
  while (std::getline(in, part, ',')) {
    part.erase(std::remove(part.begin(), part.end(), ' '), part.end());
    if (part.empty()) return false;
    size_t dash = part.find('-');
    try {
      size_t used = 0;
      unsigned lo = std::stoul(part.substr(0, dash), &used);
      if (used != (dash == std::string::npos ? part.size() : dash)) return false;
      unsigned hi = lo;
      if (dash != std::string::npos) {
        std::string rest = part.substr(dash + 1);
        hi = std::stoul(rest, &used);
        if (used != rest.size()) return false;
      }
      if (hi < lo || hi > 1023) return false;
      for (unsigned c = lo; c <= hi; c++) out.push_back(c);
    } catch (const std::exception&) {
      return false;
    }
  }
  std::sort(out.begin(), out.end());
  return !out.empty() && std::adjacent_find(out.begin(), out.end()) == out.end();
}

void parse_stage_structure(const std::string& file, const std::string& name,
                           const toml::value& table, StageSpec& spec,
                           std::vector<ConfigError>& errors) {
  spec.name = name;
  std::string path = spec.path();
  spec.raw = table;
  spec.line = table.location().line();
  if (!valid_stage_name(name))
    errors.push_back({file, spec.line, path,
                      "expected a stage name of 1..48 characters from [a-z0-9_-], found \"" +
                          name + "\""});
  if (!table.is_table()) {
    errors.push_back({file, spec.line, path, "expected table, found " + toml::format(table)});
    return;
  }
  const auto& t = table.as_table();
  auto type = t.find("type");
  if (type == t.end())
    errors.push_back({file, spec.line, path + ".type", "missing required key (expected string)"});
  else if (!type->second.is_string())
    errors.push_back({file, unsigned(type->second.location().line()), path + ".type",
                      "expected string, found " + toml::format(type->second)});
  else
    spec.type = type->second.as_string().str;

  auto next = t.find("next");
  if (next == t.end()) return;
  spec.next_line = next->second.location().line();
  if (spec.service) {
    errors.push_back({file, spec.next_line, path + ".next",
                      "a service has no edges (it neither receives nor sends packets)"});
    return;
  }
  if (next->second.is_string()) {
    spec.next.push_back(next->second.as_string().str);
  } else if (next->second.is_array()) {
    for (const auto& v : next->second.as_array()) {
      if (!v.is_string()) {
        errors.push_back({file, spec.next_line, path + ".next",
                          "expected stage name or list of stage names, found " + toml::format(v)});
        return;
      }
      spec.next.push_back(v.as_string().str);
    }
  } else {
    errors.push_back({file, spec.next_line, path + ".next",
                      "expected stage name or list of stage names, found " +
                          toml::format(next->second)});
  }
}

// An API reachable from other hosts must not be open: a token is required
// there; a certificate that cannot be read is an error now, not at start.
void check_http_access(const oryx_config& http, const toml::value& table,
                       const std::string& file, std::vector<ConfigError>& errors) {
  auto line_of = [&](const char* key) {
    return table.contains(key) ? unsigned(table.at(key).location().line()) : http.line;
  };
  std::string listen = http.get_string("listen");
  if (http.get_bool("enabled") && listens_beyond_loopback(listen) && http.get_string("token").empty())
    errors.push_back({file, line_of("listen"), "http.listen",
                      "\"" + listen + "\" is reachable beyond loopback: set http.token (every "
                      "request will need it), or listen on 127.0.0.1"});
  std::string cert = http.get_string("tls_certificate");
  if (!cert.empty() && access(cert.c_str(), R_OK) != 0)
    errors.push_back({file, line_of("tls_certificate"), "http.tls_certificate",
                      "cannot read \"" + cert + "\": " + std::strerror(errno)});
}

}  // namespace

const oryx_param* kernel_table_schema() { return kKernel; }
const oryx_param* plugins_table_schema() { return kPlugins; }
const oryx_param* log_table_schema() { return kLog; }
const oryx_param* http_table_schema() { return kHttp; }
const oryx_param* stats_table_schema() { return kStats; }
const oryx_param* preload_table_schema() { return kPreload; }
const oryx_param* capture_table_schema() { return kCapture; }

const std::vector<KernelTableSchema>& kernel_tables() {
  static const std::vector<KernelTableSchema> tables = {
      {"kernel", "Data plane: DPDK memory, worker threads, polling.", kKernel},
      {"plugins", "Where plugins are found and which are loaded.", kPlugins},
      {"log", "Logging.", kLog},
      {"http", "REST API, Prometheus endpoint and dashboard.", kHttp},
      {"stats", "Counter reporting.", kStats},
      {"preload", "Applications run by oryx run (liboryx-preload.so): which sockets go to Oryx.",
       kPreload},
      {"capture", "Packet capture (the pdump plugin): where capture files go, and its buffers.",
       kCapture},
  };
  return tables;
}

bool valid_stage_name(const std::string& name) {
  if (name.empty() || name.size() > 48) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
  });
}

bool valid_stage_type(const std::string& name) {
  return !name.empty() && name.size() <= 48 && name[0] >= 'a' && name[0] <= 'z' &&
         name.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789_") == std::string::npos;
}

bool valid_service_name(const std::string& name) {
  return !name.empty() && name.size() <= 64 &&
         name.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789_.-") == std::string::npos;
}

const oryx_config* ApplianceConfig::table(const std::string& name) const {
  const oryx_config* tables[] = {&kernel, &plugins, &log, &http, &stats, &preload, &capture};
  static_assert(std::size(tables) == 7);
  for (size_t i = 0; i < kernel_tables().size(); i++)
    if (name == kernel_tables()[i].name) return tables[i];
  return nullptr;
}

const StageSpec* ApplianceConfig::find_stage(const std::string& name) const {
  for (const auto& s : stages)
    if (s.name == name) return &s;
  return nullptr;
}

std::unique_ptr<ApplianceConfig> load_config(const std::string& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw ConfigInvalid({{file, 0, "(file)", "cannot open the file for reading"}});
  std::stringstream text;
  text << in.rdbuf();
  return parse_config(text.str(), file);
}

std::unique_ptr<ApplianceConfig> parse_config(const std::string& text, const std::string& file) {
  auto cfg = std::make_unique<ApplianceConfig>();
  cfg->file = file;
  TomlGuardError guard;
  if (!toml_within_limits(text, guard)) throw ConfigInvalid({{file, guard.line, "(syntax)", guard.message}});
  try {
    std::istringstream in(text);
    cfg->root = toml::parse(in, file);
  } catch (const toml::syntax_error& e) {
    // toml11's message spans several lines with the offending excerpt;
    // keep its first line of explanation and our uniform prefix.
    std::string what = e.what();
    size_t nl = what.find('\n');
    std::string first = what.substr(0, nl);
    const std::string tag = "[error] ";
    if (first.rfind(tag, 0) == 0) first = first.substr(tag.size());
    throw ConfigInvalid({{file, unsigned(e.location().line()), "(syntax)", first}});
  }

  std::vector<ConfigError> errors;
  std::vector<std::string> top_names;
  for (const auto& t : kernel_tables()) top_names.emplace_back(t.name);
  top_names.emplace_back("stage");
  top_names.emplace_back("service");

  const auto& root = cfg->root.as_table();
  for (const auto& [key, value] : root) {
    if (std::find(top_names.begin(), top_names.end(), key) != top_names.end()) {
      if (!value.is_table())
        errors.push_back({file, unsigned(value.location().line()), key,
                          "expected table, found " + toml::format(value)});
      continue;
    }
    std::string msg = "unknown table";
    std::string close = did_you_mean(key, top_names);
    if (!close.empty()) msg += " (did you mean '" + close + "'?)";
    errors.push_back({file, unsigned(value.location().line()), key, msg});
  }

  auto table_or_empty = [&](const char* name) {
    auto it = root.find(name);
    return (it != root.end() && it->second.is_table()) ? it->second : toml::value(toml::table{});
  };
  ValidatedTable* targets[] = {&cfg->kernel, &cfg->plugins, &cfg->log,    &cfg->http,
                               &cfg->stats,  &cfg->preload, &cfg->capture};
  static_assert(std::size(targets) == 7);
  for (size_t i = 0; i < kernel_tables().size(); i++) {
    const auto& t = kernel_tables()[i];
    *targets[i] = validate_table(table_or_empty(t.name), file, t.name, t.schema, {}, errors);
  }

  if (cfg->kernel.values.count("worker_lcores") &&
      !parse_lcores(cfg->kernel.get_string("worker_lcores"), cfg->worker_lcores)) {
    const auto& v = toml::find(table_or_empty("kernel"), "worker_lcores");
    errors.push_back({file, unsigned(v.location().line()), "kernel.worker_lcores",
                      "expected a list of distinct CPUs like \"1\" or \"1,3-4\", found \"" +
                          cfg->kernel.get_string("worker_lcores") + "\""});
  }
  if (cfg->log.values.count("loggers")) {
    for (const auto& entry : cfg->log.get_list("loggers")) {
      size_t eq = entry.find('=');
      static const std::vector<std::string> levels = {"trace", "debug", "info",
                                                      "warn",  "error", "critical"};
      if (eq == std::string::npos || eq == 0 ||
          std::find(levels.begin(), levels.end(), entry.substr(eq + 1)) == levels.end())
        errors.push_back({file, cfg->log.line, "log.loggers",
                          "expected \"name=level\" with level trace|debug|info|warn|error|"
                          "critical, found \"" + entry + "\""});
    }
  }

  check_http_access(cfg->http, table_or_empty("http"), file, errors);

  for (const char* kind : {"stage", "service"}) {
    auto it = root.find(kind);
    if (it == root.end() || !it->second.is_table()) continue;
    for (const auto& [name, table] : it->second.as_table()) {
      StageSpec spec;
      spec.service = std::string(kind) == "service";
      parse_stage_structure(file, name, table, spec, errors);
      cfg->stages.push_back(std::move(spec));
    }
  }
  std::sort(cfg->stages.begin(), cfg->stages.end(),
            [](const StageSpec& a, const StageSpec& b) { return a.line < b.line; });
  // Stages and services share one namespace: counters and logs name them.
  for (size_t i = 0; i < cfg->stages.size(); i++)
    for (size_t j = 0; j < i; j++)
      if (cfg->stages[i].name == cfg->stages[j].name)
        errors.push_back({file, cfg->stages[i].line, cfg->stages[i].path(),
                          "name already used by [" + cfg->stages[j].path() + "]"});

  std::sort(errors.begin(), errors.end(),
            [](const ConfigError& a, const ConfigError& b) { return a.line < b.line; });
  if (!errors.empty()) throw ConfigInvalid(std::move(errors));
  return cfg;
}

void check_stage(const StageSpec& stage, const std::string& file, const oryx_stage_desc& desc,
                 const oryx_host_api* host, std::vector<ConfigError>& errors) {
  bool has_check = desc.struct_size >= offsetof(oryx_stage_desc, check) + sizeof(desc.check) &&
                   desc.check;
  if (!has_check) return;
  char why[512] = "";
  std::vector<const char*> edges;
  for (const auto& e : stage.next) edges.push_back(e.c_str());
  if (desc.check(host, stage.config.get(), edges.size(), edges.data(), why, sizeof(why)) == ORYX_OK)
    return;
  // "key: why" names one of the stage's keys: report that key's line.
  std::string message = why[0] ? why : "refused by the plugin (no reason given)";
  std::string key = stage.path();
  unsigned line = stage.line;
  size_t colon = message.find(": ");
  std::string named = colon == std::string::npos ? "" : message.substr(0, colon);
  bool in_schema = false;
  for (const oryx_param* p = desc.params; p && p->name && !named.empty(); p++)
    in_schema = in_schema || named == p->name;
  if (in_schema) {
    key += "." + named;
    message = message.substr(colon + 2);
    // The key's own line when the user wrote it, else the stage's.
    if (stage.raw.is_table())
      if (auto it = stage.raw.as_table().find(named); it != stage.raw.as_table().end())
        line = unsigned(it->second.location().line());
  }
  errors.push_back({file, line, key, message});
}

void validate_stage(StageSpec& stage, const std::string& file, const oryx_param* schema,
                    std::vector<ConfigError>& errors) {
  auto table = validate_table(stage.raw, file, stage.path(), schema, kStageKernelKeys, errors);
  stage.config = std::make_unique<oryx_config>();
  static_cast<ValidatedTable&>(*stage.config) = std::move(table);
}

}  // namespace oryx::kernel
