// SPDX-License-Identifier: Apache-2.0
// host_api.cpp - the host function table plugins call (abi.h): each entry
// forwards to the running Appliance. The table has no context pointer, so
// the one Appliance of the process is found through Appliance::current().
#include "appliance.hpp"
#include "host_config.hpp"
#include "logging.hpp"

#include <oryx/json_text.hpp>

#include <cerrno>

namespace oryx::kernel {

namespace {

Appliance* current() { return Appliance::current(); }

uint32_t host_worker_count() { return current() ? current()->worker_count() : 0; }
uint32_t host_burst_size() { return current() ? current()->burst() : 32; }
rte_mempool* host_mbuf_pool(int) { return current() ? current()->mbuf_pool() : nullptr; }
int host_port_register(const char* name, uint16_t port_id, const char* kind) {
  if (!current() || !name) return ORYX_ERR_INVALID;
  return current()->ports().add(name, port_id, kind ? kind : "") ? ORYX_OK : ORYX_ERR_INVALID;
}
int host_port_lookup(const char* name, uint16_t* port_id) {
  if (!current() || !name || !port_id) return ORYX_ERR_INVALID;
  return current()->ports().lookup(name, *port_id) ? ORYX_OK : ORYX_ERR_INVALID;
}

int host_port_details_register(const char* name, char* (*handler)(void*), void* ctx) {
  if (!current() || !name || !handler) return ORYX_ERR_INVALID;
  return current()->ports().set_details(name, handler, ctx) ? ORYX_OK : ORYX_ERR_INVALID;
}

int host_endpoint_register(const char* name, const char* help, char* (*handler)(void*),
                           void* ctx) {
  if (!current() || !name || !handler || !valid_stage_name(name)) return ORYX_ERR_INVALID;
  return current()->add_endpoint(name, {help ? help : "", handler, ctx}) ? ORYX_OK
                                                                         : ORYX_ERR_INVALID;
}

int host_service_register(const char* name, uint32_t version, const void* iface) {
  if (!current() || !name || !iface) return ORYX_ERR_INVALID;
  return current()->add_service(name, version, iface) ? ORYX_OK : ORYX_ERR_INVALID;
}

const void* host_service_lookup(const char* name, uint32_t version) {
  return current() && name ? current()->find_service(name, version) : nullptr;
}

const oryx_config* host_kernel_table(const char* name) {
  return current() && name ? current()->config().table(name) : nullptr;
}

int host_route_register(const char* name, const char* help, oryx_route_fn handler, void* ctx) {
  if (!current() || !name || !handler || !valid_stage_name(name)) return ORYX_ERR_INVALID;
  Appliance::PluginEndpoint e{help ? help : "", nullptr, ctx, handler};
  return current()->add_endpoint(name, std::move(e)) ? ORYX_OK : ORYX_ERR_INVALID;
}

char* host_capture_points() {
  if (!current()) return nullptr;
  return current()->with_dataplane([](Dataplane* d) -> char* {
    return d ? oryx::sdk::json_strdup(d->capture_points()) : nullptr;
  });
}

int host_capture_attach(const char* point, oryx_capture_fn fn, void* ctx) {
  if (!current() || !point) return ORYX_ERR_INVALID;
  return current()->with_dataplane([&](Dataplane* d) {
    return d ? d->capture_attach(point, fn, ctx) : int(ORYX_ERR_INVALID);
  });
}

int host_capture_detach(const char* point) {
  if (!current() || !point) return ORYX_ERR_INVALID;
  return current()->with_dataplane(
      [&](Dataplane* d) { return d ? d->capture_detach(point) : int(ORYX_ERR_INVALID); });
}

HostedWorker* hosted_worker(uint32_t worker) {
  return current() && worker == 0 ? current()->hosted_worker() : nullptr;
}
// Known from the configuration before the worker runs (stages ask in start()).
int host_worker_hosted(uint32_t worker) {
  return current() && worker == 0 && current()->config().hosted_worker ? 1 : 0;
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

}  // namespace

const oryx_host_api* host_api() { return &kHostApi; }

}  // namespace oryx::kernel
