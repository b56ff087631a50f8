// SPDX-License-Identifier: Apache-2.0
// logging.cpp - spdlog setup owned by the kernel.
#include "logging.hpp"

#include <rte_log.h>
#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/ringbuffer_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>

#include <cstdio>
#include <map>
#include <mutex>

struct oryx_logger {
  std::shared_ptr<spdlog::logger> logger;
};

namespace oryx::kernel::logging {

namespace {

struct State {
  std::mutex mutex;
  std::vector<spdlog::sink_ptr> sinks;
  std::shared_ptr<spdlog::sinks::ringbuffer_sink_mt> recent;
  spdlog::level::level_enum default_level = spdlog::level::info;
  std::map<std::string, spdlog::level::level_enum> overrides;
  std::map<std::string, std::unique_ptr<oryx_logger>> handles;
};

State& state() {
  static State* s = new State();  // never destroyed: loggers outlive static teardown
  return *s;
}

bool parse_level(const std::string& name, spdlog::level::level_enum& out) {
  static const std::map<std::string, spdlog::level::level_enum> levels = {
      {"trace", spdlog::level::trace}, {"debug", spdlog::level::debug},
      {"info", spdlog::level::info},   {"warn", spdlog::level::warn},
      {"error", spdlog::level::err},   {"critical", spdlog::level::critical}};
  auto it = levels.find(name);
  if (it == levels.end()) return false;
  out = it->second;
  return true;
}

void ensure_sinks(State& s) {
  if (!s.sinks.empty()) return;
  s.sinks.push_back(std::make_shared<spdlog::sinks::stderr_color_sink_mt>());
  s.recent = std::make_shared<spdlog::sinks::ringbuffer_sink_mt>(200);
  s.recent->set_level(spdlog::level::warn);
  s.sinks.push_back(s.recent);
}

ssize_t dpdk_write(void*, const char* buf, size_t size) {
  std::string line(buf, size);
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.pop_back();
  if (line.empty()) return ssize_t(size);
  auto level = spdlog::level::info;
  switch (rte_log_cur_msg_loglevel()) {
    case RTE_LOG_EMERG: case RTE_LOG_ALERT: case RTE_LOG_CRIT: level = spdlog::level::critical; break;
    case RTE_LOG_ERR: level = spdlog::level::err; break;
    case RTE_LOG_WARNING: level = spdlog::level::warn; break;
    case RTE_LOG_DEBUG: level = spdlog::level::debug; break;
    default: break;
  }
  get("dpdk")->log(level, "{}", line);
  return ssize_t(size);
}

}  // namespace

void init(const std::string& level, const std::vector<std::string>& overrides,
          const std::string& file) {
  State& s = state();
  std::unique_lock lock(s.mutex);
  s.sinks.clear();
  if (file.empty())
    s.sinks.push_back(std::make_shared<spdlog::sinks::stderr_color_sink_mt>());
  else
    s.sinks.push_back(std::make_shared<spdlog::sinks::basic_file_sink_mt>(file));
  s.recent = std::make_shared<spdlog::sinks::ringbuffer_sink_mt>(200);
  s.recent->set_level(spdlog::level::warn);
  s.sinks.push_back(s.recent);
  parse_level(level, s.default_level);
  s.overrides.clear();
  for (const auto& o : overrides) {
    size_t eq = o.find('=');
    spdlog::level::level_enum l;
    if (eq != std::string::npos && parse_level(o.substr(eq + 1), l)) s.overrides[o.substr(0, eq)] = l;
  }
  spdlog::drop_all();
  std::vector<std::string> handed_out;
  for (auto& [name, h] : s.handles) handed_out.push_back(name);
  lock.unlock();
  // Handles already given to plugins stay valid and pick up the new sinks.
  for (const auto& name : handed_out) handle(name);
  capture_bpf_log();
}

std::shared_ptr<spdlog::logger> get(const std::string& name) {
  if (auto existing = spdlog::get(name)) return existing;
  State& s = state();
  std::lock_guard lock(s.mutex);
  if (auto existing = spdlog::get(name)) return existing;
  ensure_sinks(s);
  auto logger = std::make_shared<spdlog::logger>(name, s.sinks.begin(), s.sinks.end());
  auto it = s.overrides.find(name);
  // "plugin.instance" inherits an override given for "plugin".
  if (it == s.overrides.end() && name.find('.') != std::string::npos)
    it = s.overrides.find(name.substr(0, name.find('.')));
  logger->set_level(it != s.overrides.end() ? it->second : s.default_level);
  logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%-5l%$ [%n] %v");
  // Lifecycle lines (info) reach a log file at once, even if the process
  // is then killed; debug and trace volume stays buffered.
  logger->flush_on(spdlog::level::info);
  spdlog::register_logger(logger);
  return logger;
}

SetLevel set_level(const std::string& name, const std::string& level) {
  spdlog::level::level_enum l;
  if (!parse_level(level, l)) return SetLevel::kUnknownLevel;
  if (name == "*") {
    state().default_level = l;
    spdlog::apply_all([l](std::shared_ptr<spdlog::logger> lg) { lg->set_level(l); });
    return SetLevel::kDone;
  }
  // "plugin" also names its instances' loggers ("plugin.instance"), as in
  // the configured overrides. Only loggers in the registry: a request must
  // not grow it.
  bool found = false;
  spdlog::apply_all([&](std::shared_ptr<spdlog::logger> lg) {
    const std::string& n = lg->name();
    if (n == name || (n.size() > name.size() && n.compare(0, name.size(), name) == 0 &&
                      n[name.size()] == '.')) {
      lg->set_level(l);
      found = true;
    }
  });
  return found ? SetLevel::kDone : SetLevel::kUnknownLogger;
}

std::vector<LoggerInfo> list() {
  std::vector<LoggerInfo> out;
  spdlog::apply_all([&](std::shared_ptr<spdlog::logger> lg) {
    auto sv = spdlog::level::to_string_view(lg->level());
    std::string level(sv.data(), sv.size());
    if (level == "warning") level = "warn";
    out.push_back({lg->name(), level});
  });
  std::sort(out.begin(), out.end(), [](auto& a, auto& b) { return a.name < b.name; });
  return out;
}

std::vector<std::string> recent(size_t limit) {
  State& s = state();
  std::shared_ptr<spdlog::sinks::ringbuffer_sink_mt> ring;
  {
    std::lock_guard lock(s.mutex);
    ring = s.recent;
  }
  if (!ring) return {};
  return ring->last_formatted(limit);
}

void capture_dpdk_log() {
  static cookie_io_functions_t io = {nullptr, dpdk_write, nullptr, nullptr};
  FILE* stream = fopencookie(nullptr, "w", io);
  if (stream) {
    setvbuf(stream, nullptr, _IOLBF, 0);
    rte_openlog_stream(stream);
  }
}

oryx_logger* handle(const std::string& name) {
  auto logger = get(name);
  State& s = state();
  std::lock_guard lock(s.mutex);
  auto& h = s.handles[name];
  if (!h) h = std::make_unique<oryx_logger>();
  h->logger = logger;
  return h.get();
}

void abi_log(oryx_logger* logger, int level, const char* msg) {
  if (!logger || !logger->logger || !msg) return;
  int l = std::clamp(level, int(ORYX_LOG_TRACE), int(ORYX_LOG_CRITICAL));
  // ORYX_LOG_* and spdlog's enum agree from trace (0) to critical (5).
  logger->logger->log(static_cast<spdlog::level::level_enum>(l), "{}", msg);
}

int abi_log_enabled(oryx_logger* logger, int level) {
  if (!logger || !logger->logger) return 0;
  return logger->logger->should_log(static_cast<spdlog::level::level_enum>(level)) ? 1 : 0;
}

}  // namespace oryx::kernel::logging
