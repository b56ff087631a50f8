// SPDX-License-Identifier: Apache-2.0
// sockmap_plugin.cpp - plugin `sockmap`: the service type "sockmap" (eBPF
// sockops + sk_msg redirect between local TCP sockets of chosen cgroups)
// and GET /api/v1/sockmap, the tracked sockets by connection.
#include "allow_list.hpp"
#include "live_services.hpp"
#include "sockmap_service.hpp"

#include <oryx/json_text.hpp>
#include <oryx/query.hpp>
#include <oryx/sdk.hpp>

#include <cstdlib>
#include <cstring>

namespace oryx::sockmap {
namespace {

oryx::bpf::LiveServices<SockmapService> g_services;  // for the REST listing

void serve(void*, const oryx_http_request* request, oryx_http_response* response);

class SockmapInstance {
 public:
  // What instance creation would refuse, found by --check-config too (and
  // reported at the key's line).
  static void check(const oryx::sdk::Config& cfg, const oryx::sdk::Edges&) {
    parse_ports(cfg.get_string_list("ports"));
    parse_prefixes(cfg.get_string_list("addresses"));
  }

  explicit SockmapInstance(const oryx::sdk::InstanceContext& ctx)
      : host_(ctx.host), service_(ctx) {}
  ~SockmapInstance() { stop(); }
  void start() {
    service_.start();
    g_services.add(&service_, [this] {
      host_.route("sockmap",
                  "Sockets tracked by the sockmap services, paired by connection; POST "
                  "/<service>/cgroups {\"cgroup\"}, DELETE /<service>/cgroups?cgroup=PATH: "
                  "cgroups attached while it runs",
                  &serve, nullptr);
    });
  }
  void stop() {
    g_services.remove(&service_);
    service_.stop();
  }

 private:
  oryx::sdk::Host host_;
  SockmapService service_;
};

void answer(oryx_http_response* response, int status, nlohmann::ordered_json body) {
  if (status >= 400) body["status"] = status;
  response->status = status;
  response->body = oryx::sdk::json_strdup(body);
}

// GET: every service's sockets. POST /<service>/cgroups {"cgroup": PATH}
// attaches a cgroup (a pod's); DELETE /<service>/cgroups?cgroup=PATH
// detaches one attached so.
void serve(void*, const oryx_http_request* request, oryx_http_response* response) {
  const std::string method = request->method, subpath = request->subpath;
  if (subpath.empty() || subpath == "/") {
    if (method != "GET" && method != "HEAD")
      return answer(response, 405, {{"error", "method " + method + " not allowed here (GET)"}});
    nlohmann::ordered_json out = nlohmann::ordered_json::array();
    g_services.for_each([&](const SockmapService& s) { out.push_back(s.describe(20000)); });
    return answer(response, 200, {{"services", out}});
  }
  size_t slash = subpath.find('/', 1);
  if (slash == std::string::npos || subpath.substr(slash) != "/cgroups")
    return answer(response, 404, {{"error", "no such resource: /api/v1/sockmap" + subpath +
                                               " (known: /api/v1/sockmap, /api/v1/sockmap/<service>/cgroups)"}});
  const std::string service = subpath.substr(1, slash - 1);
  int status = 404;
  nlohmann::ordered_json body = {{"error", "no sockmap service \"" + service + "\""}};
  g_services.change_each([&](SockmapService& s) {
    if (s.name() != service) return;
    try {
      if (method == "POST") {
        auto in = nlohmann::json::parse(std::string(request->body, request->body_size), nullptr, false);
        if (in.is_discarded() || !in.is_object() || !in.contains("cgroup") || !in["cgroup"].is_string()) {
          status = 400;
          body = {{"error", "expected a JSON object {\"cgroup\": \"<path>\"}"}};
          return;
        }
        body = {{"service", service}, {"cgroup", s.add_cgroup(in["cgroup"].get<std::string>())}};
        status = 201;
      } else if (method == "DELETE") {
        auto path = oryx::sdk::query_param(request->query, "cgroup");
        if (!path || path->empty()) {
          status = 400;
          body = {{"error", "expected ?cgroup=<path>"}};
          return;
        }
        s.remove_cgroup(*path);
        body = {{"service", service}, {"removed", *path}};
        status = 200;
      } else {
        status = 405;
        body = {{"error", "method " + method + " not allowed here (POST, DELETE)"}};
      }
    } catch (const SockmapService::ApiError& e) {
      status = e.status;
      body = {{"error", e.what()}};
    }
  });
  answer(response, status, body);
}

constexpr oryx_param kParams[] = {
    oryx::sdk::param_string_list(
        "cgroups", 0, 64, nullptr,
        "cgroup v2 directories whose TCP sockets are tracked (and their descendants'): an "
        "absolute path, or one relative to the cgroup v2 mount (/sys/fs/cgroup or "
        "/sys/fs/cgroup/unified). Prefer a narrow cgroup: every send of a tracked socket runs "
        "the sk_msg program. More are attached while it runs through POST "
        "/api/v1/sockmap/<service>/cgroups (a pod's, by oryx-cni); [] for only those."),
    oryx::sdk::param_string_list(
        "ports", 0, 256, "[]",
        "Only connections with a local or remote port listed here are tracked: \"6379\" or "
        "\"8000-8099\". Empty: every port."),
    oryx::sdk::param_string_list(
        "addresses", 0, 256, "[]",
        "Only connections with a local or remote address in one of these IPv4/IPv6 prefixes "
        "are tracked (\"127.0.0.0/8\", \"::1/128\"). Empty: every address."),
    oryx::sdk::param_int("max_sockets", 16, 4194304, "65536",
                         "Capacity of the sockhash; a socket that finds it full takes the "
                         "normal path and is counted in insert_failures."),
    oryx::sdk::param_int("drain_ms", 0, 10000, "100",
                         "On stop, how long readers get to take data already redirected to "
                         "them before the sockhash goes (the kernel discards what is left)."),
    oryx::sdk::param_string("bpffs", "\"/sys/fs/bpf\"",
                            "Mount point of the BPF file system; pins go to "
                            "<bpffs>/oryx/<kernel.file_prefix>/<service name>/. Mounted there "
                            "when it is an empty directory."),
    oryx::sdk::param_end()};

constexpr auto kCounters = oryx::sdk::counter_table({
    {kSocketsTracked,
     oryx::sdk::gauge("sockets_tracked", "sockets", "TCP sockets in the sockhash now")},
    {kSocketsAdded,
     oryx::sdk::counter("sockets_added", "sockets", "Established sockets put into the sockhash")},
    {kSocketsRemoved,
     oryx::sdk::counter("sockets_removed", "sockets", "Tracked sockets that closed")},
    {kSocketsSkipped,
     oryx::sdk::counter("sockets_skipped", "sockets",
                        "Established sockets of the cgroups outside the ports/addresses lists")},
    {kInsertFailures,
     oryx::sdk::counter("insert_failures", "sockets",
                        "Sockets that could not be tracked and use the normal path: a ULP "
                        "already on the socket (MPTCP subflows, kTLS), or a full sockhash")},
    {kMsgsRedirected,
     oryx::sdk::counter("msgs_redirected", "sends",
                        "Sends handed straight to the peer socket's receive queue")},
    {kBytesRedirected, oryx::sdk::counter("bytes_redirected", "bytes", "Bytes of those sends")},
    {kMsgsPassed,
     oryx::sdk::counter("msgs_passed", "sends",
                        "Sends of tracked sockets whose peer is not tracked (remote, or outside "
                        "the cgroups): the normal TCP path")},
    {kBytesPassed, oryx::sdk::counter("bytes_passed", "bytes", "Bytes of those sends")},
    {kBacklogFallbacks,
     oryx::sdk::counter("backlog_fallbacks", "sockets",
                        "Senders moved to the normal path for good because their peer's unread "
                        "redirected bytes reached its SO_RCVBUF (back-pressure)")},
    {kCgroupsAttached,
     oryx::sdk::gauge("cgroups_attached", "cgroups", "cgroups with the sockops program attached")},
});
static_assert(kCounters.size() == kCounterCount);

constexpr oryx_stage_desc kService = oryx::sdk::make_service<SockmapInstance>(
    {"sockmap",
     "Kernel fast path for local TCP: sockets of the given cgroups go into an eBPF sockhash, "
     "and each send to a local peer socket skips the TCP/IP stack (sk_msg redirect).",
     kParams, kCounters.data(), kCounterCount});

constexpr const oryx_stage_desc* kStages[] = {&kService, nullptr};
constexpr oryx_plugin_desc kPlugin = oryx::sdk::make_plugin(
    {"sockmap", "1.0.0",
     "eBPF sockmap redirect between local TCP sockets (sockops + sk_msg), as a service",
     nullptr, kStages});

}  // namespace
}  // namespace oryx::sockmap

ORYX_PLUGIN_EXPORT(oryx::sockmap::kPlugin)
