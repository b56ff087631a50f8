// SPDX-License-Identifier: Apache-2.0
// appliance.hpp - one running Oryx kernel: configuration, plugins, DPDK,
// stage instances, the graph and its workers, in start-up order, and the
// read-only views the REST API serves.
#pragma once

#include "appliance_config.hpp"
#include "counters.hpp"
#include "dataplane.hpp"
#include "graph_plan.hpp"
#include "plugin_loader.hpp"
#include "port_registry.hpp"

#include <nlohmann/json.hpp>

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

struct rte_mempool;

namespace oryx::kernel {

class Appliance {
 public:
  explicit Appliance(std::unique_ptr<ApplianceConfig> config);
  ~Appliance();
  Appliance(const Appliance&) = delete;
  Appliance& operator=(const Appliance&) = delete;

  // Loads plugins and validates every stage table and the graph; nothing
  // runs yet. Throws ConfigInvalid or PluginError.
  void check();
  // Brings up DPDK, plugins, stages and workers. Throws on failure after
  // undoing what it did.
  void start();
  // Stops workers, stages, ports, plugins and DPDK, in that order.
  void shutdown();

  const ApplianceConfig& config() const { return *config_; }
  PortRegistry& ports() { return ports_; }
  rte_mempool* mbuf_pool() const { return pool_; }
  uint32_t worker_count() const {
    return config_->hosted_worker ? 1 : uint32_t(config_->worker_lcores.size());
  }
  // The hosted worker while the kernel runs in the shared-thread model,
  // else nullptr. Never freed once created (see Dataplane).
  HostedWorker* hosted_worker() const { return hosted_.load(std::memory_order_acquire); }
  uint16_t burst() const { return uint16_t(config_->kernel.get_int("burst")); }

  nlohmann::json status_json() const;
  nlohmann::json plugins_json() const;
  // The dashboard panel file of loaded plugin `name`, or "".
  std::string plugin_panel(const std::string& name) const;
  nlohmann::json ports_json() const;
  nlohmann::json stats_json() const;
  nlohmann::json config_json() const;  // effective, secrets redacted
  nlohmann::json graph_json() const;
  // The processes this kernel serves: set by a program that embeds it
  // (the preload library under `oryx run`); oryxd serves none.
  void set_application_report(std::function<nlohmann::json()> report) {
    application_report_ = std::move(report);
  }
  nlohmann::json applications_json() const;
  std::string metrics_text() const;

  // JSON endpoints plugins registered (GET /api/v1/<name>).
  // Either a JSON endpoint (handler, GET only) or a route (every method
  // on the name and below it, ABI 1.4).
  struct PluginEndpoint {
    std::string help;
    char* (*handler)(void* ctx);
    void* ctx;
    oryx_route_fn route = nullptr;
  };
  // False if the name is taken, by a plugin or by the REST server's own
  // routes (reserved when it starts).
  bool add_endpoint(const std::string& name, PluginEndpoint endpoint);
  // The REST server's own /api/v1/<name> routes; throws if a plugin
  // already registered one of them (a clash is a start-up error).
  void reserve_endpoints(const std::set<std::string>& names);
  const PluginEndpoint* find_endpoint(const std::string& name) const;
  std::vector<std::pair<std::string, std::string>> endpoints() const;  // name, help

  // C interfaces plugins published (ABI 1.2 service registry); an
  // embedding program finds the stack's socket layer here.
  bool add_service(const std::string& name, uint32_t version, const void* iface);
  const void* find_service(const std::string& name, uint32_t version) const;

  // Runs fn with the running graph (capture points), or nullptr before
  // start and after shutdown; shutdown waits until no fn runs.
  template <typename F>
  auto with_dataplane(F&& fn) {
    std::lock_guard lock(dataplane_mutex_);
    return fn(dataplane_.get());
  }

  // The process-wide kernel the host API serves (one per process).
  static Appliance* current();

 private:
  void create_instances();
  void destroy_instances();

  std::unique_ptr<ApplianceConfig> config_;
  PluginLoader loader_;
  CounterRegistry counters_;
  PortRegistry ports_;
  std::vector<const oryx_stage_desc*> descs_;
  std::vector<StageRuntime> stages_;
  GraphPlan plan_;
  std::unique_ptr<Dataplane> dataplane_;
  std::mutex dataplane_mutex_;  // dataplane_'s lifetime against with_dataplane
  std::atomic<HostedWorker*> hosted_{nullptr};
  rte_mempool* pool_ = nullptr;
  bool eal_up_ = false;
  bool plugins_up_ = false;
  std::chrono::steady_clock::time_point started_;
  mutable std::mutex registry_mutex_;  // endpoints_ and services_
  std::map<std::string, PluginEndpoint> endpoints_;
  std::set<std::string> reserved_endpoints_;  // the kernel's own
  std::map<std::string, std::pair<uint32_t, const void*>> services_;  // name -> version, iface
  std::string state_ = "configured";
  std::function<nlohmann::json()> application_report_;
};

// The host function table handed to every plugin.
const oryx_host_api* host_api();

}  // namespace oryx::kernel
