// SPDX-License-Identifier: Apache-2.0
// sdk.hpp - header-only C++ wrapper over the frozen C ABI in abi.h.
//
// A plugin writes ordinary C++ classes; this header turns them into the C
// descriptors the kernel loads, with an exception barrier at every entry
// so no exception ever crosses the ABI. It depends on nothing but the
// standard library and abi.h, so out-of-tree plugins need only Oryx::sdk.
#pragma once

#include <oryx/abi.h>

#include <array>
#include <cstdio>
#include <cstring>
#include <exception>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace oryx::sdk {

// Thrown by plugin code on the control plane; the trampolines turn it into
// an ORYX_ERR_* code plus the message shown to the operator.
class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& what, int status = ORYX_ERR_INVALID)
      : std::runtime_error(what), status_(status) {}
  int status() const noexcept { return status_; }

 private:
  int status_;
};

// A kernel-owned logger; messages are assembled from any streamable parts.
class Logger {
 public:
  Logger() = default;
  Logger(const oryx_host_api* host, oryx_logger* logger) : host_(host), logger_(logger) {}

  template <typename... Parts>
  void log(int level, const Parts&... parts) const {
    if (!host_ || !host_->log_enabled(logger_, level)) return;
    std::ostringstream out;
    (out << ... << parts);
    host_->log(logger_, level, out.str().c_str());
  }
  template <typename... P> void trace(const P&... p) const { log(ORYX_LOG_TRACE, p...); }
  template <typename... P> void debug(const P&... p) const { log(ORYX_LOG_DEBUG, p...); }
  template <typename... P> void info(const P&... p) const { log(ORYX_LOG_INFO, p...); }
  template <typename... P> void warn(const P&... p) const { log(ORYX_LOG_WARN, p...); }
  template <typename... P> void error(const P&... p) const { log(ORYX_LOG_ERROR, p...); }

 private:
  const oryx_host_api* host_ = nullptr;
  oryx_logger* logger_ = nullptr;
};

// Typed view of a validated stage table. The kernel checked every key
// against the schema, so a failure here means the plugin asked for a key
// its own schema does not declare: a bug, reported as an Error.
class Config {
 public:
  Config(const oryx_host_api* host, const oryx_config* cfg) : host_(host), cfg_(cfg) {}

  bool get_bool(const char* key) const {
    int v = 0;
    check(host_->config_bool(cfg_, key, &v), key);
    return v != 0;
  }
  int64_t get_int(const char* key) const {
    int64_t v = 0;
    check(host_->config_int(cfg_, key, &v), key);
    return v;
  }
  std::string get_string(const char* key) const {
    const char* v = nullptr;
    check(host_->config_string(cfg_, key, &v), key);
    return v ? v : "";
  }
  std::vector<std::string> get_string_list(const char* key) const {
    size_t n = 0;
    check(host_->config_list_size(cfg_, key, &n), key);
    std::vector<std::string> out;
    out.reserve(n);
    for (size_t i = 0; i < n; i++) {
      const char* v = nullptr;
      check(host_->config_list_string(cfg_, key, i, &v), key);
      out.emplace_back(v ? v : "");
    }
    return out;
  }
  bool is_set(const char* key) const { return host_->config_is_set(cfg_, key) == 1; }

 private:
  static void check(int rc, const char* key) {
    if (rc != ORYX_OK) throw Error(std::string("key '") + key + "' is not in the stage schema",
                                   ORYX_ERR_INTERNAL);
  }
  const oryx_host_api* host_;
  const oryx_config* cfg_;
};

// The host function table, typed: control-plane calls throw Error on
// failure with a message naming what failed, instead of returning a status
// each caller checks (or forgets to). `->` still reaches the raw table,
// for the data-path calls (worker_kick, capture taps) a plugin makes per
// burst.
class Host {
 public:
  Host(const oryx_host_api* api) : api_(api) {}  // NOLINT: implicit, as the raw pointer
  operator const oryx_host_api*() const { return api_; }
  const oryx_host_api* operator->() const { return api_; }

  uint32_t worker_count() const { return api_->worker_count(); }
  uint32_t burst_size() const { return api_->burst_size(); }
  // The kernel's mbuf pool for a NUMA socket (-1: any).
  rte_mempool* mbuf_pool(int socket_id = -1) const {
    rte_mempool* pool = api_->mbuf_pool(socket_id);
    if (!pool) throw Error("the kernel has no mbuf pool yet", ORYX_ERR_INTERNAL);
    return pool;
  }

  // Ports: a stage that owns an ethdev registers it under its name.
  void register_port(const std::string& name, uint16_t port_id, const std::string& kind) const {
    if (api_->port_register(name.c_str(), port_id, kind.c_str()) != ORYX_OK)
      throw Error("port name '" + name + "' is already registered");
  }
  // The ethdev registered as `name`, or nothing.
  std::optional<uint16_t> find_port(const std::string& name) const {
    uint16_t id = 0;
    if (api_->port_lookup(name.c_str(), &id) != ORYX_OK) return std::nullopt;
    return id;
  }
  uint16_t port(const std::string& name) const {
    auto id = find_port(name);
    if (!id) throw Error("'" + name + "' is not a registered port");
    return *id;
  }
  void port_details(const std::string& name, char* (*handler)(void*), void* ctx) const {
    if (api_->port_details_register(name.c_str(), handler, ctx) != ORYX_OK)
      throw Error("cannot add details to port '" + name + "': unknown port, or it has some");
  }

  // Services: C interfaces (structs of function pointers or data starting
  // with uint32_t struct_size) published by name and version.
  template <typename T>
  void publish(const std::string& name, uint32_t version, const T* iface) const {
    static_assert(requires { iface->struct_size; }, "a service starts with struct_size");
    if (api_->service_register(name.c_str(), version, iface) != ORYX_OK)
      throw Error("cannot publish service '" + name + "': the name is taken");
  }
  // The service `name` at exactly `version`, or nullptr. One smaller than
  // T (built against an older header) is an error, not a silent overrun.
  template <typename T>
  const T* find(const std::string& name, uint32_t version) const {
    static_assert(requires(const T* t) { t->struct_size; }, "a service starts with struct_size");
    auto* iface = static_cast<const T*>(api_->service_lookup(name.c_str(), version));
    if (iface && iface->struct_size < sizeof(T))
      throw Error("service '" + name + "' is " + std::to_string(iface->struct_size) +
                  " bytes, this plugin needs " + std::to_string(sizeof(T)));
    return iface;
  }

  // REST: /api/v1/<name> and below, every method (ABI 1.4).
  void route(const std::string& name, const std::string& help, oryx_route_fn handler,
             void* ctx) const {
    if (api_->route_register(name.c_str(), help.c_str(), handler, ctx) != ORYX_OK)
      throw Error("cannot register the REST endpoint '" + name +
                  "': another stage or the kernel took the name");
  }
  // REST: GET /api/v1/<name> answered with handler's JSON text (ABI 1.1).
  void endpoint(const std::string& name, const std::string& help, char* (*handler)(void*),
                void* ctx) const {
    if (api_->endpoint_register(name.c_str(), help.c_str(), handler, ctx) != ORYX_OK)
      throw Error("cannot register the REST endpoint '" + name +
                  "': another stage or the kernel took the name");
  }

  // A kernel table of appliance.toml ("kernel", "capture", ...).
  Config kernel_table(const std::string& name) const;

 private:
  const oryx_host_api* api_;
};

// The stages an instance's `next` names, in order (edge k+1 leads to [k]).
using Edges = std::vector<std::string>;

inline Config Host::kernel_table(const std::string& name) const {
  const oryx_config* table = api_->kernel_table(name.c_str());
  if (!table) throw Error("the kernel has no table [" + name + "]", ORYX_ERR_INTERNAL);
  return Config(api_, table);
}

// What a stage constructor receives.
struct InstanceContext {
  std::string name;
  Host host;
  Config config;
  Logger log;
  uint64_t* control_counters;
  Edges edges;  // edge k+1 leads to edges[k]

  explicit InstanceContext(const oryx_instance_args* a)
      : name(a->name),
        host(a->host),
        config(a->host, a->config),
        log(a->host, a->logger),
        control_counters(a->control_counters) {
    for (size_t i = 0; i < a->edge_count; i++) edges.emplace_back(a->edge_names[i]);
  }
  // Edge number (1-based) of the edge leading to `stage`, or 0 if none.
  uint16_t edge_to(std::string_view stage) const {
    for (size_t i = 0; i < edges.size(); i++)
      if (edges[i] == stage) return static_cast<uint16_t>(i + 1);
    return 0;
  }
};

namespace detail {

inline void write_error(char* buf, size_t size, const char* msg) {
  if (buf && size) std::snprintf(buf, size, "%s", msg);
}

// Runs fn, converting any exception to a status code and message.
template <typename Fn>
int barrier(char* err, size_t err_size, Fn&& fn) noexcept {
  try {
    fn();
    return ORYX_OK;
  } catch (const Error& e) {
    write_error(err, err_size, e.what());
    return e.status();
  } catch (const std::bad_alloc&) {
    write_error(err, err_size, "out of memory");
    return ORYX_ERR_NOMEM;
  } catch (const std::exception& e) {
    write_error(err, err_size, e.what());
    return ORYX_ERR_INTERNAL;
  } catch (...) {
    write_error(err, err_size, "unknown exception");
    return ORYX_ERR_INTERNAL;
  }
}

template <typename T>
int create(const oryx_instance_args* args, void** out) noexcept {
  return barrier(args->error, args->error_size, [&] {
    InstanceContext ctx(args);
    *out = new T(ctx);
  });
}

template <typename T>
void destroy(void* inst) noexcept {
  try {
    delete static_cast<T*>(inst);
  } catch (...) {
  }
}

template <typename T>
int start(void* inst, char* err, size_t err_size) noexcept {
  return barrier(err, err_size, [&] {
    if constexpr (requires(T& t) { t.start(); }) static_cast<T*>(inst)->start();
  });
}

// ABI 1.7: T may have `static void check(const Config&, const Edges&)`,
// throwing Error with "key: why" for a table that start-up would refuse.
template <typename T>
int check(const oryx_host_api* host, const oryx_config* cfg, size_t edge_count,
          const char* const* edge_names, char* err, size_t err_size) noexcept {
  return barrier(err, err_size, [&] {
    Edges edges(edge_names, edge_names + edge_count);
    T::check(Config(host, cfg), edges);
  });
}

template <typename T>
void stop(void* inst) noexcept {
  try {
    if constexpr (requires(T& t) { t.stop(); }) static_cast<T*>(inst)->stop();
  } catch (...) {
  }
}

template <typename T>
int worker_init(void* inst, uint32_t worker) noexcept {
  return barrier(nullptr, 0, [&] {
    if constexpr (requires(T& t) { t.worker_init(worker); })
      static_cast<T*>(inst)->worker_init(worker);
  });
}

template <typename T>
void worker_fini(void* inst, uint32_t worker) noexcept {
  try {
    if constexpr (requires(T& t) { t.worker_fini(worker); })
      static_cast<T*>(inst)->worker_fini(worker);
  } catch (...) {
  }
}

// Data path: plugins must not throw here; if one does, the burst is
// dropped rather than letting the exception unwind through the kernel.
template <typename T>
uint16_t poll(void* inst, oryx_burst* b) noexcept {
  try {
    return static_cast<T*>(inst)->poll(*b);
  } catch (...) {
    return 0;
  }
}

template <typename T>
int wake_fds(void* inst, uint32_t worker, int* fds, uint32_t max) noexcept {
  try {
    return static_cast<T*>(inst)->wake_fds(worker, fds, max);
  } catch (...) {
    return 0;
  }
}

template <typename T>
void process(void* inst, oryx_burst* b) noexcept {
  try {
    static_cast<T*>(inst)->process(*b);
  } catch (...) {
    for (uint16_t i = 0; i < b->count; i++) b->next[i] = ORYX_EDGE_DROP;
  }
}

}  // namespace detail

// Static description of a stage type; T is the instance class.
struct StageInfo {
  const char* name;
  const char* help;
  const oryx_param* params;
  const oryx_counter_desc* counters;
  uint32_t counter_count;
  uint32_t flags = 0;  // ORYX_STAGE_SINK; SOURCE is derived from poll()
};

namespace detail {
// What stages and services share: names, schema, counters, life cycle.
template <typename T>
constexpr oryx_stage_desc control_desc(const StageInfo& info, uint32_t flags) {
  oryx_stage_desc d{};
  d.struct_size = sizeof(oryx_stage_desc);
  d.flags = info.flags | flags;
  d.name = info.name;
  d.help = info.help;
  d.params = info.params;
  d.counters = info.counters;
  d.counter_count = info.counter_count;
  d.instance_create = &create<T>;
  d.instance_destroy = &destroy<T>;
  d.start = &start<T>;
  d.stop = &stop<T>;
  if constexpr (requires(const Config& c, const Edges& e) { T::check(c, e); }) d.check = &check<T>;
  return d;
}
}  // namespace detail

template <typename T>
constexpr oryx_stage_desc make_stage(const StageInfo& info) {
  constexpr bool has_poll = requires(T& t, oryx_burst& b) { t.poll(b); };
  constexpr bool has_process = requires(T& t, oryx_burst& b) { t.process(b); };
  static_assert(has_poll || has_process, "a stage needs poll() or process()");
  oryx_stage_desc d =
      detail::control_desc<T>(info, has_poll ? uint32_t(ORYX_STAGE_SOURCE) : 0u);
  d.worker_init = &detail::worker_init<T>;
  d.worker_fini = &detail::worker_fini<T>;
  if constexpr (has_poll) d.poll = &detail::poll<T>;
  if constexpr (has_process) d.process = &detail::process<T>;
  // ABI 1.6: a source that can tell a sleeping thread when it has packets.
  if constexpr (requires(T& t, int* fds) { t.wake_fds(0u, fds, 0u); })
    d.wake_fds = &detail::wake_fds<T>;
  return d;
}

// A service type ([service.<name>]): T has start()/stop() and no data path.
template <typename T>
constexpr oryx_stage_desc make_service(const StageInfo& info) {
  static_assert(!requires(T& t, oryx_burst& b) { t.poll(b); } &&
                    !requires(T& t, oryx_burst& b) { t.process(b); },
                "a service has neither poll() nor process()");
  return detail::control_desc<T>(info, ORYX_STAGE_SERVICE);
}

// Schema helpers, usable in constant initialisers.
constexpr oryx_param param_bool(const char* name, const char* def, const char* help) {
  return {name, ORYX_PARAM_BOOL, 0, 0, 1, def, nullptr, help};
}
constexpr oryx_param param_int(const char* name, int64_t min, int64_t max, const char* def,
                               const char* help) {
  return {name, ORYX_PARAM_INT, def ? 0u : unsigned(ORYX_PARAM_REQUIRED), min, max, def, nullptr,
          help};
}
constexpr oryx_param param_string(const char* name, const char* def, const char* help,
                                  const char* choices = nullptr, uint32_t flags = 0) {
  return {name, ORYX_PARAM_STRING, flags | (def ? 0u : unsigned(ORYX_PARAM_REQUIRED)), 0, 0, def,
          choices, help};
}
constexpr oryx_param param_string_list(const char* name, int64_t min_len, int64_t max_len,
                                       const char* def, const char* help) {
  return {name, ORYX_PARAM_STRING_LIST, def ? 0u : unsigned(ORYX_PARAM_REQUIRED), min_len, max_len,
          def, nullptr, help};
}
constexpr oryx_param param_end() { return {nullptr, 0, 0, 0, 0, nullptr, nullptr, nullptr}; }

constexpr oryx_counter_desc counter(const char* name, const char* unit, const char* help) {
  return {name, ORYX_COUNTER, 0, unit, help};
}
constexpr oryx_counter_desc gauge(const char* name, const char* unit, const char* help) {
  return {name, ORYX_GAUGE, 0, unit, help};
}

// A counter declared next to the index the stage counts it under.
struct IndexedCounter {
  size_t index;
  oryx_counter_desc desc;
};
// counter_table({{kRxPackets, counter("rx_packets", ...)}, ...}): the
// descriptors in index order, from one list. It does not compile unless
// entry i is index i: a swapped, missing or extra line would otherwise
// report one counter's value under another's name.
template <size_t N>
consteval std::array<oryx_counter_desc, N> counter_table(const IndexedCounter (&entries)[N]) {
  std::array<oryx_counter_desc, N> out{};
  for (size_t i = 0; i < N; i++) {
    if (entries[i].index != i) throw std::logic_error("counter_table: entry i is not index i");
    out[i] = entries[i].desc;
  }
  return out;
}

// Plugin-wide state the SDK keeps for the plugin's own init hook.
struct PluginInfo {
  const char* name;
  const char* version;
  const char* description;
  const char* depends_on;
  const oryx_stage_desc* const* stages;
};

constexpr oryx_plugin_desc make_plugin(const PluginInfo& info,
                                       int (*init)(const oryx_plugin_init_args*) = nullptr,
                                       void (*fini)() = nullptr) {
  oryx_plugin_desc d{};
  d.struct_size = sizeof(oryx_plugin_desc);
  d.abi_major = ORYX_ABI_MAJOR;
  d.abi_minor = ORYX_ABI_MINOR;
  d.name = info.name;
  d.version = info.version;
  d.description = info.description;
  d.depends_on = info.depends_on;
  d.init = init;
  d.fini = fini;
  d.stages = info.stages;
  return d;
}

}  // namespace oryx::sdk

// Exports the plugin's single entry point returning `desc`, which must be a
// constant-initialised oryx_plugin_desc (no global constructors in plugins).
#define ORYX_PLUGIN_EXPORT(desc)                                                \
  extern "C" ORYX_EXPORT const struct oryx_plugin_desc* oryx_plugin_entry(void) { \
    return &(desc);                                                             \
  }
