// SPDX-License-Identifier: Apache-2.0
// fake_host.cpp - the test kit's host table: oryxd's own configuration
// reads and logging, in-memory registries for ports, services and routes,
// one worker, and capture taps on the harness's stages.
#include "harness_state.hpp"

#include "host_config.hpp"
#include "logging.hpp"

#include <rte_mempool.h>

#include <linux/futex.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <cerrno>
#include <cstring>

namespace oryx::testing {

Harness::State* g_harness = nullptr;

namespace {

using kernel::valid_stage_name;

void host_log(oryx_logger* logger, int level, const char* msg) {
  if (g_harness) {
    std::lock_guard lock(g_harness->log_mutex);
    auto it = g_harness->logger_names.find(logger);
    g_harness->log.push_back({it == g_harness->logger_names.end() ? "" : it->second, level,
                              msg ? msg : ""});
  }
  kernel::logging::abi_log(logger, level, msg);
}

// Every line is recorded, whatever the level printed.
int host_log_enabled(oryx_logger*, int) { return 1; }

uint32_t host_worker_count() { return 1; }
uint32_t host_burst_size() { return g_harness ? g_harness->options.burst : 32; }
rte_mempool* host_mbuf_pool(int) { return g_harness ? g_harness->pool : nullptr; }

int host_port_register(const char* name, uint16_t port_id, const char* kind) {
  if (!g_harness || !name) return ORYX_ERR_INVALID;
  return g_harness->ports.emplace(name, port_id).second ? ORYX_OK : ORYX_ERR_INVALID;
}
int host_port_lookup(const char* name, uint16_t* port_id) {
  if (!g_harness || !name || !port_id) return ORYX_ERR_INVALID;
  auto it = g_harness->ports.find(name);
  if (it == g_harness->ports.end()) return ORYX_ERR_INVALID;
  *port_id = it->second;
  return ORYX_OK;
}
int host_port_details_register(const char* name, char* (*handler)(void*), void*) {
  if (!g_harness || !name || !handler) return ORYX_ERR_INVALID;
  return g_harness->ports.count(name) ? ORYX_OK : ORYX_ERR_INVALID;
}

int add_route(const char* name, Route route) {
  if (!g_harness || !name || !valid_stage_name(name)) return ORYX_ERR_INVALID;
  return g_harness->routes.emplace(name, std::move(route)).second ? ORYX_OK : ORYX_ERR_INVALID;
}
int host_endpoint_register(const char* name, const char* help, char* (*handler)(void*),
                           void* ctx) {
  if (!handler) return ORYX_ERR_INVALID;
  return add_route(name, {help ? help : "", handler, nullptr, ctx});
}
int host_route_register(const char* name, const char* help, oryx_route_fn handler, void* ctx) {
  if (!handler) return ORYX_ERR_INVALID;
  return add_route(name, {help ? help : "", nullptr, handler, ctx});
}

int host_service_register(const char* name, uint32_t version, const void* iface) {
  if (!g_harness || !name || !iface || !kernel::valid_service_name(name)) return ORYX_ERR_INVALID;
  return g_harness->services.emplace(name, std::make_pair(version, iface)).second
             ? ORYX_OK
             : ORYX_ERR_INVALID;
}
const void* host_service_lookup(const char* name, uint32_t version) {
  if (!g_harness || !name) return nullptr;
  auto it = g_harness->services.find(name);
  return it != g_harness->services.end() && it->second.first == version ? it->second.second
                                                                        : nullptr;
}

const oryx_config* host_kernel_table(const char* name) {
  return g_harness && name ? g_harness->config->table(name) : nullptr;
}

// The points oryxd's graph would offer for these stages (dataplane.cpp).
struct Point {
  std::string name;
  Harness::StageSlot* stage;
  bool after;
  std::string where;
};
std::vector<Point> points() {
  std::vector<Point> out;
  if (!g_harness) return out;
  for (auto& s : g_harness->stages) {
    if (s.desc->flags & ORYX_STAGE_SERVICE) continue;
    bool port = g_harness->ports.count(s.name) > 0;
    if (s.source()) out.push_back({s.name + ".rx", &s, true, port ? "received" : "emitted"});
    if (!s.desc->process) continue;
    out.push_back({s.name + ".in", &s, false, "before"});
    if (port) out.push_back({s.name + ".tx", &s, false, "before"});
    if (!(s.desc->flags & ORYX_STAGE_SINK)) out.push_back({s.name + ".out", &s, true, "after"});
  }
  return out;
}

char* host_capture_points() {
  if (!g_harness) return nullptr;
  nlohmann::ordered_json arr = nlohmann::ordered_json::array();
  for (const auto& p : points()) {
    bool port = g_harness->ports.count(p.stage->name) > 0;
    arr.push_back({{"point", p.name},
                   {"stage", p.stage->name},
                   {"type", p.stage->type},
                   {"where", p.where},
                   {"direction", !port ? "" : p.where == "received" ? "in" : "out"},
                   {"help", p.where + " " + p.stage->name}});
  }
  return strdup(arr.dump().c_str());
}

Tap* tap_slot(const char* point) {
  for (auto& p : points())
    if (p.name == point) return p.after ? &p.stage->after : &p.stage->before;
  return nullptr;
}
int host_capture_attach(const char* point, oryx_capture_fn fn, void* ctx) {
  Tap* t = point && fn ? tap_slot(point) : nullptr;
  if (!t) return ORYX_ERR_INVALID;
  if (t->fn) return ORYX_ERR_UNSUPPORTED;
  *t = {fn, ctx};
  return ORYX_OK;
}
// The kit walks stages on the test's own thread: nothing to wait for.
int host_capture_detach(const char* point) {
  Tap* t = point ? tap_slot(point) : nullptr;
  if (!t) return ORYX_ERR_INVALID;
  *t = {};
  return ORYX_OK;
}

// No hosted worker: stages see oryxd's separate-thread model.
int host_worker_hosted(uint32_t) { return 0; }
int host_worker_poll(uint32_t) { return ORYX_ERR_UNSUPPORTED; }
int host_worker_wait(uint32_t, const uint32_t* word, uint32_t value, int64_t deadline_ns) {
  for (;;) {
    if (__atomic_load_n(word, __ATOMIC_ACQUIRE) != value) return ORYX_OK;
    timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    int64_t now_ns = int64_t(now.tv_sec) * 1000000000 + now.tv_nsec;
    if (deadline_ns && now_ns >= deadline_ns) return ORYX_ERR_TIMEDOUT;
    int64_t wait_ns = deadline_ns ? std::min<int64_t>(deadline_ns - now_ns, 1000000) : 1000000;
    timespec rel{0, long(wait_ns)};
    if (syscall(SYS_futex, word, FUTEX_WAIT_PRIVATE, value, &rel, nullptr, 0) != 0 &&
        errno == EINTR)
      return ORYX_ERR_INTERRUPTED;
  }
}
void host_worker_kick(uint32_t) {
  if (g_harness) g_harness->kicks++;
}

const oryx_host_api kFakeHost = {
    .struct_size = sizeof(oryx_host_api),
    .abi_major = ORYX_ABI_MAJOR,
    .abi_minor = ORYX_ABI_MINOR,
    .log = host_log,
    .log_enabled = host_log_enabled,
    .config_bool = kernel::host_config_bool,
    .config_int = kernel::host_config_int,
    .config_string = kernel::host_config_string,
    .config_list_size = kernel::host_config_list_size,
    .config_list_string = kernel::host_config_list_string,
    .config_is_set = kernel::host_config_is_set,
    .worker_count = host_worker_count,
    .burst_size = host_burst_size,
    .mbuf_pool = host_mbuf_pool,
    .port_register = host_port_register,
    .port_lookup = host_port_lookup,
    .endpoint_register = host_endpoint_register,
    .service_register = host_service_register,
    .service_lookup = host_service_lookup,
    .port_details_register = host_port_details_register,
    .kernel_table = host_kernel_table,
    .route_register = host_route_register,
    .capture_points = host_capture_points,
    .capture_attach = host_capture_attach,
    .capture_detach = host_capture_detach,
    .worker_hosted = host_worker_hosted,
    .worker_poll = host_worker_poll,
    .worker_wait = host_worker_wait,
    .worker_kick = host_worker_kick,
};

}  // namespace

const oryx_host_api* fake_host() { return &kFakeHost; }

oryx_logger* logger_for(Harness::State& state, const std::string& name) {
  oryx_logger* h = kernel::logging::handle(name);
  std::lock_guard lock(state.log_mutex);
  state.logger_names[h] = name;
  return h;
}

}  // namespace oryx::testing
