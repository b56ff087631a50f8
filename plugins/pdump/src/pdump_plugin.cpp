// SPDX-License-Identifier: Apache-2.0
// pdump_plugin.cpp - plugin `pdump`: packet capture at any point of the
// graph, controlled over REST (/api/v1/captures) and `oryxctl capture`.
// It has no stage: it taps the kernel's capture points (ABI 1.4).
#include "captures_api.hpp"

#include <oryx/sdk.hpp>

#include <memory>

namespace oryx::pdump {
namespace {

std::unique_ptr<CapturesApi> g_api;  // one per process, like the kernel

int init(const oryx_plugin_init_args* args) {
  const oryx_host_api* host = args->host;
  oryx::sdk::Logger log(host, args->logger);
  const oryx_config* table = host->kernel_table("capture");
  if (!table) {  // a host without the kernel's tables (a conformance check)
    log.warn("no [capture] table: captures are unavailable");
    return ORYX_OK;
  }
  oryx::sdk::Config cfg(host, table);
  CaptureEnv env{host, cfg.get_string("dir"), uint32_t(cfg.get_int("ring_size")),
                 uint32_t(cfg.get_int("copy_mbufs"))};
  g_api = std::make_unique<CapturesApi>(env, uint32_t(cfg.get_int("max_captures")));
  int rc = oryx::sdk::detail::barrier(args->error, args->error_size, [&] {
    oryx::sdk::Host(host).route(
        "captures", "Packet captures: list, start (POST), stop, delete, download (pdump plugin)",
        &CapturesApi::serve, g_api.get());
  });
  if (rc != ORYX_OK) {
    g_api.reset();
    return rc;
  }
  log.debug("captures go to ", env.dir);
  return ORYX_OK;
}

// The route stays registered for the life of the process, but the kernel
// stops serving HTTP before it finalizes plugins.
void fini() { g_api.reset(); }

constexpr const oryx_stage_desc* kStages[] = {nullptr};
constexpr oryx_plugin_desc kPlugin = oryx::sdk::make_plugin(
    {"pdump", "1.0.0",
     "Packet capture at any point of the graph: pcapng files, tcpdump filters, REST control",
     nullptr, kStages},
    init, fini);

}  // namespace
}  // namespace oryx::pdump

ORYX_PLUGIN_EXPORT(oryx::pdump::kPlugin)
