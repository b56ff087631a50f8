// SPDX-License-Identifier: Apache-2.0
// bridge_plugin.cpp - plugin `ebpf-bridge`: the service type "ebpf_bridge"
// (an L2 learning bridge in eBPF across network interfaces) and
// /api/v1/bridge (ports and their counters), /api/v1/bridge/fdb (the
// forwarding table) and /api/v1/bridge/<service>/ports (ports added and
// removed while it runs).
#include "bridge_service.hpp"
#include "live_services.hpp"

#include <oryx/json_text.hpp>
#include <oryx/query.hpp>
#include <oryx/sdk.hpp>

#include <cstdlib>
#include <cstring>

namespace oryx::bridge {
namespace {

constexpr size_t kDefaultFdbLimit = 10000;

oryx::bpf::LiveServices<BridgeService> g_services;  // for the REST routes

void answer(oryx_http_response* response, int status, nlohmann::ordered_json body) {
  if (status >= 400) body["status"] = status;
  response->status = status;
  response->body = strdup((oryx::sdk::json_text(body, 2) + "\n").c_str());
}

// ?limit=N (1..1000000) or the default.
size_t limit_of(const char* query) {
  auto text = oryx::sdk::query_param(query, "limit");
  if (!text) return kDefaultFdbLimit;
  long n = std::strtol(text->c_str(), nullptr, 10);
  return n >= 1 && n <= 1000000 ? size_t(n) : kDefaultFdbLimit;
}

// POST /api/v1/bridge/<service>/ports {"interface": NAME} adds a port;
// DELETE /api/v1/bridge/<service>/ports/<NAME> removes one added so.
void serve_ports(const std::string& method, const std::string& service, const std::string& rest,
                 const oryx_http_request* request, oryx_http_response* response) {
  int status = 404;
  nlohmann::ordered_json body = {{"error", "no bridge service \"" + service + "\""}};
  auto run = [&](BridgeService& s) {
    if (s.name() != service) return;
    try {
      if (method == "POST" && rest.empty()) {
        auto in = nlohmann::json::parse(std::string(request->body, request->body_size),
                                        nullptr, false);
        if (in.is_discarded() || !in.is_object() || !in.contains("interface") ||
            !in["interface"].is_string() || (in.contains("redirect") && !in["redirect"].is_string())) {
          status = 400;
          body = {{"error", "expected a JSON object {\"interface\": \"<name>\"[, \"redirect\": "
                            "\"auto\"|\"egress\"]}"}};
          return;
        }
        body = s.add_port(in["interface"].get<std::string>(), in.value("redirect", "auto"));
        status = 201;
      } else if (method == "DELETE" && rest.size() > 1) {
        s.remove_port(rest.substr(1));
        body = {{"removed", rest.substr(1)}, {"bridge", service}};
        status = 200;
      } else {
        status = 405;
        body = {{"error", "method " + method + " not allowed here (POST /api/v1/bridge/" +
                              service + "/ports, DELETE /api/v1/bridge/" + service +
                              "/ports/<interface>)"}};
      }
    } catch (const BridgeService::ApiError& e) {
      status = e.status;
      body = {{"error", e.what()}};
    }
  };
  g_services.change_each(run);
  answer(response, status, body);
}

void serve(void*, const oryx_http_request* request, oryx_http_response* response) {
  std::string method = request->method, subpath = request->subpath;
  // /<service>/ports[/<interface>]
  if (size_t ports = subpath.find("/ports"); subpath.size() > 1 && ports != std::string::npos &&
                                             ports > 1 && subpath.find('/', 1) == ports) {
    std::string rest = subpath.substr(ports + 6);
    if (rest.empty() || rest[0] == '/')
      return serve_ports(method, subpath.substr(1, ports - 1), rest, request, response);
  }
  if (method != "GET" && method != "HEAD")
    return answer(response, 405, {{"error", "method " + method + " not allowed here (GET)"}});
  if (subpath.empty() || subpath == "/") {
    nlohmann::ordered_json bridges = nlohmann::ordered_json::array();
    g_services.for_each([&](const BridgeService& s) { bridges.push_back(s.describe()); });
    return answer(response, 200, {{"bridges", bridges}});
  }
  if (subpath == "/fdb") {
    size_t limit = limit_of(request->query);
    nlohmann::ordered_json entries = nlohmann::ordered_json::array();
    bool truncated = false;
    g_services.for_each([&](const BridgeService& s) { s.list_fdb(entries, limit, &truncated); });
    return answer(response, 200, {{"entries", entries}, {"truncated", truncated}});
  }
  answer(response, 404, {{"error", "no such resource: /api/v1/bridge" + subpath +
                                       " (known: /api/v1/bridge, /api/v1/bridge/fdb, "
                                       "/api/v1/bridge/<service>/ports)"}});
}

class BridgeInstance {
 public:
  explicit BridgeInstance(const oryx::sdk::InstanceContext& ctx)
      : host_(ctx.host), service_(ctx) {}
  ~BridgeInstance() { stop(); }
  void start() {
    service_.start();
    g_services.add(&service_, [this] {
      host_.route("bridge",
                  "eBPF bridges: ports with counters; /fdb: the forwarding table (?limit=N); "
                  "POST /<service>/ports {\"interface\"}, DELETE /<service>/ports/<interface>: "
                  "ports added while it runs",
                  &serve, nullptr);
    });
  }
  void stop() {
    g_services.remove(&service_);
    service_.stop();
  }

 private:
  oryx::sdk::Host host_;
  BridgeService service_;
};

constexpr oryx_param kParams[] = {
    oryx::sdk::param_string_list(
        "interfaces", 0, 64, "[]",
        "The bridge's ports: network interfaces of oryxd's namespace (say the host ends of "
        "pods' veths). Each must exist at start; later, one that goes down or away stops "
        "being bridged, and one that comes back under its name is attached again. More "
        "are added while it runs through POST /api/v1/bridge/<service>/ports (64 in all)."),
    oryx::sdk::param_string(
        "attach", "\"auto\"",
        "Where the bridge runs on each port: \"xdp\" (the driver's receive path), \"tc\" (TC "
        "ingress; a veth whose peer is in another namespace is sent to with "
        "bpf_redirect_peer), or \"auto\": tc on veths (measured faster there, see "
        "docs/benchmarks.md), xdp elsewhere.",
        "auto|xdp|tc"),
    oryx::sdk::param_string(
        "xdp_mode", "\"native\"",
        "XDP flavour: \"native\" (driver mode; a veth sending to another veth then needs GRO "
        "or an XDP program on the receiving peer, else the kernel drops what the bridge sends "
        "there, counted in dropped_xmit) or \"generic\" (skb mode, any interface, slower).",
        "native|generic"),
    oryx::sdk::param_int("ageing_s", 1, 1000000, "300",
                         "Seconds after which a station that sent nothing is forgotten (the "
                         "Linux bridge's default ageing time is 300 s)."),
    oryx::sdk::param_int("fdb_size", 16, 1048576, "8192",
                         "Capacity of the forwarding table; when full, the least recently "
                         "used station is forgotten (LRU)."),
    oryx::sdk::param_string("bpffs", "\"/sys/fs/bpf\"",
                            "Mount point of the BPF file system; pins go to "
                            "<bpffs>/oryx/<kernel.file_prefix>/<service name>/. Mounted there "
                            "when it is an empty directory."),
    oryx::sdk::param_end()};

constexpr auto kCounters = oryx::sdk::counter_table({
    {kPortsUp, oryx::sdk::gauge("ports_up", "ports", "Ports present and forwarding")},
    {kFdbEntries, oryx::sdk::gauge("fdb_entries", "stations", "Stations in the forwarding table")},
    {kFramesIn,
     oryx::sdk::counter("frames_in", "frames", "Frames the bridge received on its ports")},
    {kBytesIn, oryx::sdk::counter("bytes_in", "bytes", "Bytes of those frames")},
    {kForwarded,
     oryx::sdk::counter("forwarded", "frames", "Frames sent to the one port of a known station")},
    {kFlooded, oryx::sdk::counter("flooded", "frames",
                                  "Frames sent to every other port: broadcast, multicast, or a "
                                  "destination unknown or aged out")},
    {kDropped,
     oryx::sdk::counter("dropped", "frames", "All drops, the sum of the four dropped_* counters")},
    {kDroppedMalformed,
     oryx::sdk::counter("dropped_malformed", "frames",
                        "Frames shorter than their Ethernet (or 802.1Q) header")},
    {kDroppedSamePort, oryx::sdk::counter("dropped_same_port", "frames",
                                          "Frames for a station behind the port they came from")},
    {kDroppedPortDown,
     oryx::sdk::counter("dropped_port_down", "frames", "Frames received on a port that is down")},
    {kDroppedXmit,
     oryx::sdk::counter("dropped_xmit", "frames",
                        "Frames the kernel could not send out of a port (XDP devmap transmit "
                        "errors, failed TC flood copies)")},
    {kLearned, oryx::sdk::counter("learned", "stations", "Stations learned")},
    {kMoved, oryx::sdk::counter("moved", "stations", "Stations seen on another port than before")},
    {kAged,
     oryx::sdk::counter("aged", "stations", "Stations forgotten after ageing_s without a frame")},
    {kPortEvents, oryx::sdk::counter("port_events", "events",
                                     "Ports that went down, came up, went away or came back")},
});
static_assert(kCounters.size() == kCounterCount);

constexpr oryx_stage_desc kService = oryx::sdk::make_service<BridgeInstance>(
    {"ebpf_bridge",
     "L2 learning bridge in eBPF across network interfaces: forwarding table keyed by MAC "
     "and VLAN with ageing, unicast through a devmap (XDP) or bpf_redirect_peer (TC), "
     "flooding to every other port.",
     kParams, kCounters.data(), kCounterCount});

constexpr const oryx_stage_desc* kStages[] = {&kService, nullptr};
constexpr oryx_plugin_desc kPlugin = oryx::sdk::make_plugin(
    {"ebpf-bridge", "1.0.0", "L2 learning bridge in eBPF (XDP and TC), as a service", nullptr,
     kStages});

}  // namespace
}  // namespace oryx::bridge

ORYX_PLUGIN_EXPORT(oryx::bridge::kPlugin)
