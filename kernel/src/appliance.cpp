// SPDX-License-Identifier: Apache-2.0
// appliance.cpp - one Appliance's life: check, start-up, shutdown, and the
// registries plugins fill through the host table (host_api.cpp).
#include "appliance.hpp"

#include "eal_args.hpp"
#include "logging.hpp"
#include "packet_pool.hpp"
#include "stage_instance.hpp"
#include "stage_validation.hpp"

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

}  // namespace

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
  if (!valid_service_name(name)) return false;
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

  auto validated = validate_stages(*config_, loader_, host_api());
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
                               unsigned(k.get_int("mbuf_cache")),
                               uint16_t(k.get_int("mbuf_data_room")), int(rte_socket_id()), packed);
    if (!pool_)
      throw std::runtime_error(std::string("cannot create the mbuf pool: ") +
                               rte_strerror(rte_errno));
    if (packed)
      log->info("mbuf pool: {} mbufs in one contiguous zone", pool_->size);
    else
      log->warn("mbuf pool: {} mbufs in {} chunks (no contiguous zone; AF_XDP ports may lose "
                "frames)", pool_->size, pool_->nb_mem_chunks);

    loader_.init_all(host_api());
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

    rt.instance = create_instance(spec, *d, host_api(), logging::handle(owner->name + "." + spec.name),
                                  CounterBlock::plugin_part(rt.counters->control_row()));
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

}  // namespace oryx::kernel
