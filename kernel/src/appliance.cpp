// SPDX-License-Identifier: Apache-2.0
// appliance.cpp - start-up, shutdown and the host API.
#include "appliance.hpp"

#include "eal_args.hpp"
#include "host_config.hpp"
#include "logging.hpp"
#include "packet_pool.hpp"
#include "stage_validation.hpp"

#include <oryx/json_text.hpp>
#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>

#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstring>
#include <set>
#include <stdexcept>

#ifndef ORYX_VERSION
#define ORYX_VERSION "0.0.0"
#endif

namespace oryx::kernel {

namespace {

Appliance* g_current = nullptr;

uint32_t host_worker_count() { return g_current ? g_current->worker_count() : 0; }
uint32_t host_burst_size() { return g_current ? g_current->burst() : 32; }
rte_mempool* host_mbuf_pool(int) { return g_current ? g_current->mbuf_pool() : nullptr; }
int host_port_register(const char* name, uint16_t port_id, const char* kind) {
  if (!g_current || !name) return ORYX_ERR_INVALID;
  return g_current->ports().add(name, port_id, kind ? kind : "") ? ORYX_OK : ORYX_ERR_INVALID;
}
int host_port_lookup(const char* name, uint16_t* port_id) {
  if (!g_current || !name || !port_id) return ORYX_ERR_INVALID;
  return g_current->ports().lookup(name, *port_id) ? ORYX_OK : ORYX_ERR_INVALID;
}

int host_port_details_register(const char* name, char* (*handler)(void*), void* ctx) {
  if (!g_current || !name || !handler) return ORYX_ERR_INVALID;
  return g_current->ports().set_details(name, handler, ctx) ? ORYX_OK : ORYX_ERR_INVALID;
}

int host_endpoint_register(const char* name, const char* help, char* (*handler)(void*),
                           void* ctx) {
  if (!g_current || !name || !handler || !valid_stage_name(name)) return ORYX_ERR_INVALID;
  return g_current->add_endpoint(name, {help ? help : "", handler, ctx}) ? ORYX_OK
                                                                         : ORYX_ERR_INVALID;
}

int host_service_register(const char* name, uint32_t version, const void* iface) {
  if (!g_current || !name || !iface) return ORYX_ERR_INVALID;
  return g_current->add_service(name, version, iface) ? ORYX_OK : ORYX_ERR_INVALID;
}

const void* host_service_lookup(const char* name, uint32_t version) {
  return g_current && name ? g_current->find_service(name, version) : nullptr;
}

const oryx_config* host_kernel_table(const char* name) {
  return g_current && name ? g_current->config().table(name) : nullptr;
}

int host_route_register(const char* name, const char* help, oryx_route_fn handler, void* ctx) {
  if (!g_current || !name || !handler || !valid_stage_name(name)) return ORYX_ERR_INVALID;
  Appliance::PluginEndpoint e{help ? help : "", nullptr, ctx, handler};
  return g_current->add_endpoint(name, std::move(e)) ? ORYX_OK : ORYX_ERR_INVALID;
}

char* host_capture_points() {
  if (!g_current) return nullptr;
  return g_current->with_dataplane([](Dataplane* d) -> char* {
    return d ? oryx::sdk::json_strdup(d->capture_points()) : nullptr;
  });
}

int host_capture_attach(const char* point, oryx_capture_fn fn, void* ctx) {
  if (!g_current || !point) return ORYX_ERR_INVALID;
  return g_current->with_dataplane([&](Dataplane* d) {
    return d ? d->capture_attach(point, fn, ctx) : int(ORYX_ERR_INVALID);
  });
}

int host_capture_detach(const char* point) {
  if (!g_current || !point) return ORYX_ERR_INVALID;
  return g_current->with_dataplane(
      [&](Dataplane* d) { return d ? d->capture_detach(point) : int(ORYX_ERR_INVALID); });
}

HostedWorker* hosted_worker(uint32_t worker) {
  return g_current && worker == 0 ? g_current->hosted_worker() : nullptr;
}
// Known from the configuration before the worker runs (stages ask in start()).
int host_worker_hosted(uint32_t worker) {
  return g_current && worker == 0 && g_current->config().hosted_worker ? 1 : 0;
}
int host_worker_poll(uint32_t worker) {
  HostedWorker* h = hosted_worker(worker);
  return h ? h->poll() : int(ORYX_ERR_UNSUPPORTED);
}
int host_worker_wait(uint32_t worker, const uint32_t* word, uint32_t value, int64_t deadline_ns) {
  if (!word) return ORYX_ERR_INVALID;
  HostedWorker* h = hosted_worker(worker);
  // A worker with a thread of its own: a plain futex wait.
  int rc = h ? h->wait_word(word, value, deadline_ns)
             : HostedWorker::sleep_on_word(word, value, deadline_ns);
  return rc == -ETIMEDOUT ? int(ORYX_ERR_TIMEDOUT) : rc == -EINTR ? int(ORYX_ERR_INTERRUPTED) : ORYX_OK;
}
void host_worker_kick(uint32_t worker) {
  if (HostedWorker* h = hosted_worker(worker)) h->kick();
}

// Designated: a reordered abi.h cannot bind a function to the wrong slot
// (the compiler refuses fields out of declaration order).
const oryx_host_api kHostApi = {
    .struct_size = sizeof(oryx_host_api),
    .abi_major = ORYX_ABI_MAJOR,
    .abi_minor = ORYX_ABI_MINOR,
    .log = logging::abi_log,
    .log_enabled = logging::abi_log_enabled,
    .config_bool = host_config_bool,
    .config_int = host_config_int,
    .config_string = host_config_string,
    .config_list_size = host_config_list_size,
    .config_list_string = host_config_list_string,
    .config_is_set = host_config_is_set,
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

nlohmann::json value_json(const ParamValue& v) {
  return std::visit([](const auto& x) { return nlohmann::json(x); }, v);
}

nlohmann::json table_json(const ValidatedTable& t) {
  nlohmann::json j = nlohmann::json::object();
  for (const auto& [key, value] : t.values) {
    const oryx_param* p = t.find_param(key);
    bool secret = p && (p->flags & ORYX_PARAM_SECRET);
    bool empty = std::holds_alternative<std::string>(value) && std::get<std::string>(value).empty();
    j[key] = (secret && !empty) ? nlohmann::json("<redacted>") : value_json(value);
  }
  return j;
}

// Prometheus label values may not contain quotes, backslashes or newlines;
// stage names cannot, but escape anyway.
std::string label(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

}  // namespace

const oryx_host_api* host_api() { return &kHostApi; }

bool Appliance::add_endpoint(const std::string& name, PluginEndpoint endpoint) {
  std::lock_guard lock(registry_mutex_);
  if (reserved_endpoints_.count(name)) return false;
  return endpoints_.emplace(name, std::move(endpoint)).second;
}

void Appliance::reserve_endpoints(const std::set<std::string>& names) {
  std::lock_guard lock(registry_mutex_);
  for (const auto& name : names)
    if (endpoints_.count(name))
      throw std::runtime_error("a plugin registered /api/v1/" + name +
                               ", which is one of the kernel's own routes");
  reserved_endpoints_.insert(names.begin(), names.end());
}

const Appliance::PluginEndpoint* Appliance::find_endpoint(const std::string& name) const {
  std::lock_guard lock(registry_mutex_);
  auto it = endpoints_.find(name);
  return it == endpoints_.end() ? nullptr : &it->second;  // entries are never removed
}

std::vector<std::pair<std::string, std::string>> Appliance::endpoints() const {
  std::lock_guard lock(registry_mutex_);
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& [name, e] : endpoints_) out.emplace_back(name, e.help);
  return out;
}
bool Appliance::add_service(const std::string& name, uint32_t version, const void* iface) {
  bool valid = !name.empty() && name.size() <= 64 &&
               name.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789_.-") == std::string::npos;
  if (!valid) return false;
  std::lock_guard lock(registry_mutex_);
  return services_.emplace(name, std::make_pair(version, iface)).second;
}

const void* Appliance::find_service(const std::string& name, uint32_t version) const {
  std::lock_guard lock(registry_mutex_);
  auto it = services_.find(name);
  return it != services_.end() && it->second.first == version ? it->second.second : nullptr;
}

Appliance* Appliance::current() { return g_current; }

Appliance::Appliance(std::unique_ptr<ApplianceConfig> config) : config_(std::move(config)) {
  if (g_current) throw std::runtime_error("only one Oryx kernel can run per process");
  g_current = this;
}

Appliance::~Appliance() {
  shutdown();
  g_current = nullptr;
}

void Appliance::check() {
  const auto& p = config_->plugins;
  try {
    loader_.load(p.get_list("path"), p.get_list("load"), p.get_list("disable"));
  } catch (const PluginNotFound& e) {
    unsigned line = p.line;
    if (config_->root.contains("plugins") && config_->root.at("plugins").contains("load"))
      line = unsigned(config_->root.at("plugins").at("load").location().line());
    throw ConfigInvalid({{config_->file, line, "plugins.load", e.what()}});
  }

  auto validated = validate_stages(*config_, loader_, &kHostApi);
  descs_ = std::move(validated.descs);
  plan_ = std::move(validated.plan);
  state_ = "checked";
}

void Appliance::start() {
  auto log = logging::get("oryx");
  // BPF maps and AF_XDP umems count against locked memory on older
  // kernels; lift the limit (as root) so XDP-based ports load their
  // programs, whichever program embeds the kernel.
  rlimit unlimited{RLIM_INFINITY, RLIM_INFINITY};
  if (setrlimit(RLIMIT_MEMLOCK, &unlimited) != 0)
    log->debug("cannot raise RLIMIT_MEMLOCK: {}", strerror(errno));
  try {
    auto args = eal_arguments(*config_, "oryxd");
    std::string cmdline;
    for (const auto& a : args) cmdline += a + " ";
    log->info("starting DPDK EAL: {}", cmdline);
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    int rc = rte_eal_init(int(args.size()), argv.data());
    if (rc < 0)
      throw std::runtime_error(std::string("DPDK EAL initialisation failed: ") +
                               rte_strerror(rte_errno));
    eal_up_ = true;

    const auto& k = config_->kernel;
    bool packed;
    pool_ = create_packet_pool("oryx_mbufs", unsigned(k.get_int("mbufs")),
                               unsigned(k.get_int("mbuf_cache")), int(rte_socket_id()), packed);
    if (!pool_)
      throw std::runtime_error(std::string("cannot create the mbuf pool: ") +
                               rte_strerror(rte_errno));
    if (packed)
      log->info("mbuf pool: {} mbufs in one contiguous zone", pool_->size);
    else
      log->warn("mbuf pool: {} mbufs in {} chunks (no contiguous zone; AF_XDP ports may lose "
                "frames)", pool_->size, pool_->nb_mem_chunks);

    loader_.init_all(&kHostApi);
    plugins_up_ = true;
    create_instances();

    DataplaneOptions opts;
    opts.lcores = config_->worker_lcores;
    opts.burst = burst();
    opts.busy_poll = k.get_string("idle") == "busy-poll";
    opts.idle_sleep_max_us = uint32_t(k.get_int("idle_sleep_max_us"));
    opts.hosted = config_->hosted_worker;
    opts.hosted_options.spin_us = uint32_t(config_->preload.get_int("spin_us"));
    opts.hosted_options.grace_us = uint32_t(config_->preload.get_int("keeper_grace_us"));
    {
      std::lock_guard lock(dataplane_mutex_);
      dataplane_ = std::make_unique<Dataplane>(plan_, stages_, opts);
    }
    dataplane_->set_port_test([this](const std::string& stage) {
      uint16_t id;
      return ports_.lookup(stage, id);
    });
    dataplane_->build();

    for (size_t i = 0; i < stages_.size(); i++) {  // stages_[i] is config_->stages[i]
      auto& s = stages_[i];
      if (!s.desc->start) continue;
      char err[512] = "";
      if (s.desc->start(s.instance, err, sizeof(err)) != ORYX_OK)
        throw std::runtime_error(std::string(config_->stages[i].kind()) + " " + s.name +
                                 ": start failed: " + err);
      s.started = true;
    }
    dataplane_->launch();
    hosted_.store(dataplane_->hosted(), std::memory_order_release);
    started_ = std::chrono::steady_clock::now();
    state_ = "running";
  } catch (...) {
    shutdown();
    state_ = "failed";
    throw;
  }
}

void Appliance::create_instances() {
  const uint32_t workers = worker_count();
  stages_.reserve(config_->stages.size());
  for (size_t i = 0; i < config_->stages.size(); i++) {
    auto& spec = config_->stages[i];
    const LoadedPlugin* owner = nullptr;
    const oryx_stage_desc* d = loader_.find_stage(spec.type, &owner);
    StageRuntime rt;
    rt.name = spec.name;
    rt.type = spec.type;
    rt.desc = d;
    rt.counters = counters_.add(spec.name, spec.type, d->counters, d->counter_count, workers);

    std::vector<const char*> edge_names;
    for (const auto& n : spec.next) edge_names.push_back(n.c_str());
    char err[512] = "";
    oryx_instance_args args{};
    args.struct_size = sizeof(args);
    args.name = spec.name.c_str();
    args.config = spec.config.get();
    args.host = &kHostApi;
    args.logger = logging::handle(owner->name + "." + spec.name);
    args.control_counters = CounterBlock::plugin_part(rt.counters->control_row());
    args.error = err;
    args.error_size = sizeof(err);
    args.edge_count = edge_names.size();
    args.edge_names = edge_names.data();
    int rc = d->instance_create(&args, &rt.instance);
    if (rc != ORYX_OK)
      throw std::runtime_error(std::string(spec.kind()) + " " + spec.name + " (" + spec.type +
                               "): " + (err[0] ? err : "instance_create failed"));
    stages_.push_back(std::move(rt));
    logging::get("oryx")->info("{} {} ({}) created", spec.kind(), spec.name, spec.type);
  }
}

void Appliance::destroy_instances() {
  for (auto it = stages_.rbegin(); it != stages_.rend(); ++it)
    if (it->instance) {
      it->desc->instance_destroy(it->instance);
      it->instance = nullptr;
    }
  stages_.clear();
}

void Appliance::shutdown() {
  auto log = logging::get("oryx");
  bool was_running = state_ == "running";
  if (dataplane_) dataplane_->stop();
  for (auto it = stages_.rbegin(); it != stages_.rend(); ++it)
    if (it->started) {
      it->desc->stop(it->instance);
      it->started = false;
    }
  {
    std::lock_guard lock(dataplane_mutex_);  // no capture call runs on it now
    dataplane_.reset();
  }
  destroy_instances();
  if (plugins_up_) {
    loader_.fini_all();
    plugins_up_ = false;
  }
  if (eal_up_) {
    // Ports a stage created but did not close (a plugin bug) are closed
    // here so no device outlives the kernel.
    uint16_t port;
    RTE_ETH_FOREACH_DEV(port) {
      rte_eth_dev_stop(port);
      rte_eth_dev_close(port);
    }
    if (pool_) rte_mempool_free(pool_);
    pool_ = nullptr;
    std::string runtime_dir = rte_eal_get_runtime_dir();
    rte_eal_cleanup();
    // EAL leaves its (by now empty) runtime directory; rmdir only removes
    // it when empty, so a directory shared with anything else stays.
    if (!runtime_dir.empty()) rmdir(runtime_dir.c_str());
    eal_up_ = false;
  }
  if (was_running) {
    state_ = "stopped";
    log->info("appliance stopped");
  }
}

nlohmann::json Appliance::status_json() const {
  double uptime = state_ == "running"
                      ? std::chrono::duration<double>(std::chrono::steady_clock::now() - started_)
                            .count()
                      : 0.0;
  nlohmann::json j = {{"state", state_},
                      {"version", ORYX_VERSION},
                      {"abi", std::to_string(ORYX_ABI_MAJOR) + "." + std::to_string(ORYX_ABI_MINOR)},
                      {"pid", getpid()},
                      {"config_file", config_->file},
                      {"uptime_seconds", uptime},
                      {"stages", config_->stages.size()},
                      {"plugins", loader_.plugins().size()},
                      {"ports", ports_.entries().size()},
                      {"workers", dataplane_ ? dataplane_->workers_json() : nlohmann::json::array()}};
  if (pool_) {
    j["mbufs"] = {{"size", pool_->size},
                  {"available", rte_mempool_avail_count(pool_)},
                  {"in_use", rte_mempool_in_use_count(pool_)}};
  }
  j["recent_log"] = logging::recent(20);
  return j;
}

nlohmann::json Appliance::applications_json() const {
  if (!application_report_)
    return {{"embedded", false},
            {"applications", nlohmann::json::array()},
            {"note", "this is oryxd: applications reach Oryx by running under `oryx run`, which "
                     "starts their own kernel (and API) in-process"}};
  return {{"embedded", true}, {"applications", nlohmann::json::array({application_report_()})}};
}

nlohmann::json Appliance::plugins_json() const {
  nlohmann::json arr = nlohmann::json::array();
  for (const auto& p : loader_.plugins()) {
    nlohmann::json stages = nlohmann::json::array();
    for (const auto* s : p.stages) stages.push_back(s->name);
    arr.push_back({{"name", p.name},
                   {"version", p.desc->version},
                   {"abi", std::to_string(p.desc->abi_major) + "." + std::to_string(p.desc->abi_minor)},
                   {"description", p.desc->description ? p.desc->description : ""},
                   {"path", p.path},
                   {"state", p.state},
                   {"depends_on", p.depends_on},
                   {"stages", stages}});
  }
  return arr;
}

nlohmann::json Appliance::ports_json() const {
  nlohmann::json arr = nlohmann::json::array();
  if (!eal_up_) return arr;
  bool xstats = config_->stats.get_bool("xstats");
  for (const auto& p : ports_.entries()) arr.push_back(PortRegistry::describe(p, xstats));
  return arr;
}

nlohmann::json Appliance::stats_json() const {
  bool per_worker = config_->stats.get_bool("per_worker");
  nlohmann::json stages = nlohmann::json::object();
  for (const auto& b : counters_.blocks()) {
    nlohmann::json counters = nlohmann::json::object();
    for (size_t i = 0; i < b->defs().size(); i++) {
      counters[b->defs()[i].name] = b->total(i);
      if (per_worker) {
        nlohmann::json w = nlohmann::json::array();
        for (uint32_t k = 0; k < b->workers(); k++) w.push_back(b->per_worker(i, k));
        counters[b->defs()[i].name + "_per_worker"] = w;
      }
    }
    stages[b->stage()] = {{"type", b->type()}, {"counters", counters}};
  }
  nlohmann::json ports = nlohmann::json::object();
  if (eal_up_)
    for (const auto& p : ports_.entries()) {
      auto c = PortRegistry::counters(p.port_id);
      if (!c.is_null()) ports[p.name] = std::move(c);
    }
  return {{"stages", stages},
          {"ports", ports},
          {"nodes", dataplane_ ? dataplane_->node_stats_json() : nlohmann::json::object()},
          {"drops_total", dataplane_ ? dataplane_->total_drops() : 0}};
}

nlohmann::json Appliance::config_json() const {
  nlohmann::json j = {{"file", config_->file},
                      {"kernel", table_json(config_->kernel)},
                      {"plugins", table_json(config_->plugins)},
                      {"log", table_json(config_->log)},
                      {"http", table_json(config_->http)},
                      {"stats", table_json(config_->stats)},
                      {"preload", table_json(config_->preload)}};
  nlohmann::json stages = nlohmann::json::object(), services = nlohmann::json::object();
  for (const auto& s : config_->stages) {
    nlohmann::json t = s.config ? table_json(*s.config) : nlohmann::json::object();
    t["type"] = s.type;
    if (!s.next.empty()) t["next"] = s.next;
    (s.service ? services : stages)[s.name] = t;
  }
  j["stage"] = stages;
  j["service"] = services;
  return j;
}

nlohmann::json Appliance::graph_json() const {
  nlohmann::json nodes = nlohmann::json::array(), edges = nlohmann::json::array();
  for (const auto& n : plan_.nodes) {
    const auto& s = config_->stages[n.stage];
    nodes.push_back({{"name", n.name}, {"stage", s.name}, {"type", s.type},
                     {"source", n.source}, {"active", n.reachable}});
    for (size_t k = 0; k < n.edges.size(); k++)
      edges.push_back({{"from", n.name}, {"to", plan_.nodes[n.edges[k]].name}, {"edge", k + 1}});
    edges.push_back({{"from", n.name}, {"to", "oryx-drop"}, {"edge", 0}});
  }
  nodes.push_back({{"name", "oryx-drop"}, {"stage", ""}, {"type", "kernel"},
                   {"source", false}, {"active", true}});
  return {{"nodes", nodes}, {"edges", edges}};
}

std::string Appliance::metrics_text() const {
  std::string out;
  auto add = [&](const std::string& line) { out += line + "\n"; };
  add("# HELP oryx_up Whether the appliance is running (1) or not (0).");
  add("# TYPE oryx_up gauge");
  add(std::string("oryx_up ") + (state_ == "running" ? "1" : "0"));
  // One metric family per counter name; stage and type are bounded labels.
  std::map<std::string, std::vector<std::string>> families;
  std::map<std::string, std::pair<uint32_t, std::string>> meta;
  for (const auto& b : counters_.blocks())
    for (size_t i = 0; i < b->defs().size(); i++) {
      const auto& d = b->defs()[i];
      std::string metric = "oryx_stage_" + d.name + (d.kind == ORYX_COUNTER ? "_total" : "");
      families[metric].push_back(metric + "{stage=\"" + label(b->stage()) + "\",type=\"" +
                                 label(b->type()) + "\"} " + std::to_string(b->total(i)));
      meta[metric] = {d.kind, d.help};
    }
  for (const auto& [metric, lines] : families) {
    add("# HELP " + metric + " " + meta[metric].second);
    add("# TYPE " + metric + (meta[metric].first == ORYX_COUNTER ? " counter" : " gauge"));
    for (const auto& l : lines) add(l);
  }
  if (eal_up_) {
    static const char* port_fields[][2] = {{"rx_packets", "Packets received by the port."},
                                           {"tx_packets", "Packets sent by the port."},
                                           {"rx_bytes", "Bytes received by the port."},
                                           {"tx_bytes", "Bytes sent by the port."},
                                           {"rx_missed", "Packets the port dropped for lack of room."},
                                           {"rx_errors", "Erroneous packets received."},
                                           {"tx_errors", "Failed transmissions."}};
    std::vector<std::pair<std::string, nlohmann::json>> ports;
    for (const auto& p : ports_.entries()) {
      auto c = PortRegistry::counters(p.port_id);
      if (!c.is_null()) ports.emplace_back(p.name, std::move(c));
    }
    for (const auto& f : port_fields) {
      std::string metric = std::string("oryx_port_") + f[0] + "_total";
      add("# HELP " + metric + " " + f[1]);
      add("# TYPE " + metric + " counter");
      for (const auto& [name, st] : ports)
        add(metric + "{port=\"" + label(name) + "\"} " + std::to_string(st[f[0]].get<uint64_t>()));
    }
  }
  if (pool_) {
    add("# HELP oryx_mbufs_in_use Packet buffers currently taken from the pool.");
    add("# TYPE oryx_mbufs_in_use gauge");
    add("oryx_mbufs_in_use " + std::to_string(rte_mempool_in_use_count(pool_)));
  }
  return out;
}

}  // namespace oryx::kernel
