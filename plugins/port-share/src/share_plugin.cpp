// SPDX-License-Identifier: Apache-2.0
// share_plugin.cpp - plugin `port-share`: the service type "port_share"
// (one network interface shared by several applications, steered by port
// in the kernel) and GET /api/v1/share (the attached applications).
#include "live_services.hpp"
#include "share_service.hpp"

#include <oryx/json_text.hpp>
#include <oryx/sdk.hpp>

#include <cstring>

namespace oryx::share {
namespace {

oryx::bpf::LiveServices<ShareService> g_services;  // for the REST route

void answer(oryx_http_response* response, int status, const nlohmann::ordered_json& body) {
  response->status = status;
  response->body = strdup((oryx::sdk::json_text(body, 2) + "\n").c_str());
}

void serve(void*, const oryx_http_request* request, oryx_http_response* response) {
  std::string method = request->method, subpath = request->subpath;
  if (method != "GET" && method != "HEAD")
    return answer(response, 405, {{"error", "method " + method + " not allowed here (GET)"},
                                  {"status", 405}});
  if (!subpath.empty() && subpath != "/")
    return answer(response, 404, {{"error", "no such resource: /api/v1/share" + subpath},
                                  {"status", 404}});
  nlohmann::ordered_json shares = nlohmann::ordered_json::array();
  g_services.for_each([&](const ShareService& s) { shares.push_back(s.describe()); });
  answer(response, 200, {{"shares", shares}});
}

class ShareInstance {
 public:
  explicit ShareInstance(const oryx::sdk::InstanceContext& ctx) : host_(ctx.host), service_(ctx) {}
  ~ShareInstance() { stop(); }
  void start() {
    service_.start();
    g_services.add(&service_, [this] {
      host_.route("share",
                  "Port shares: the uplink, the applications attached (process, interface, "
                  "claimed ports, frames each way) and the last reclamations",
                  &serve, nullptr);
    });
  }
  void stop() {
    g_services.remove(&service_);
    service_.stop();
  }

 private:
  oryx::sdk::Host host_;
  ShareService service_;
};

constexpr oryx_param kParams[] = {
    oryx::sdk::param_string("uplink", nullptr,
                            "The shared network interface (a NIC the kernel drives, or a veth). "
                            "Its TC ingress hook gets the share's program; it must exist at "
                            "start.",
                            ORYX_FORMAT_IFNAME),
    oryx::sdk::param_string("socket", "\"\"",
                            "Unix socket where applications attach (an io port with `attach`); "
                            "default /run/oryx/share-<service name>.sock. Mode 0660: root and "
                            "the socket's group may attach."),
    oryx::sdk::param_int("flows", 1024, 4194304, "65536",
                         "Capacity of the table of connections (and UDP flows) applications "
                         "opened, whose answers go back to them; when full, the least recently "
                         "used is forgotten."),
    oryx::sdk::param_end()};

constexpr auto kCounters = oryx::sdk::counter_table({
    {kAppsAttached, oryx::sdk::gauge("apps_attached", "applications", "Applications attached now")},
    {kAttaches, oryx::sdk::counter("attaches", "applications", "Applications that attached")},
    {kReclaims, oryx::sdk::counter("reclaims", "applications",
                                   "Applications that went away (exited, killed, detached) and "
                                   "whose link, port rules and flows were reclaimed")},
    {kRefused, oryx::sdk::counter("refused", "requests",
                                  "Attach requests refused: a port claimed twice, a second "
                                  "default application, a malformed rule or request, no free slot")},
    {kUplinkFrames, oryx::sdk::counter("uplink_frames", "frames", "Frames received on the uplink")},
    {kByRule, oryx::sdk::counter("by_rule", "frames",
                                 "Frames sent to the application that claimed their destination port")},
    {kByFlow, oryx::sdk::counter("by_flow", "frames",
                                 "Frames sent to the application that opened their connection")},
    {kToDefault, oryx::sdk::counter("to_default", "frames",
                                    "Frames sent to the default application: ARP requests, ICMP, "
                                    "fragments, unclaimed ports")},
    {kCopies, oryx::sdk::counter("copies", "frames",
                                 "Copies of ARP replies and IPv6 neighbour and router "
                                 "advertisements, one per application")},
    {kFromApps, oryx::sdk::counter("from_apps", "frames",
                                   "Frames the applications sent out of the uplink")},
    {kFlowsLearned, oryx::sdk::counter("flows_learned", "flows",
                                       "Connections and UDP flows the applications opened")},
    {kDropped, oryx::sdk::counter("dropped", "frames", "All drops, the sum of the drop_* counters")},
    {kDropNoApp, oryx::sdk::counter("drop_no_app", "frames",
                                    "Frames for nobody: no rule, no flow, no default application "
                                    "(or one that just went away)")},
    {kDropMalformed, oryx::sdk::counter("drop_malformed", "frames",
                                        "Frames shorter than their headers")},
    {kDropFlowTaken, oryx::sdk::counter("drop_flow_taken", "frames",
                                        "Frames an application sent to open a connection (or UDP "
                                        "flow) whose addresses and ports another one holds")},
    {kDropCopy, oryx::sdk::counter("drop_copy", "frames", "Copies the kernel could not send")},
});
static_assert(kCounters.size() == kCounterCount);

constexpr oryx_stage_desc kService = oryx::sdk::make_service<ShareInstance>(
    {"port_share",
     "One network interface shared by several applications under `oryx run`: each attaches "
     "over a Unix socket and gets a veth pair with the uplink's MAC for its AF_XDP port; "
     "frames are steered in the kernel (TC) by destination port and by the connections each "
     "opened; everything is reclaimed when the application goes away.",
     kParams, kCounters.data(), kCounterCount});

constexpr const oryx_stage_desc* kStages[] = {&kService, nullptr};
constexpr oryx_plugin_desc kPlugin = oryx::sdk::make_plugin(
    {"port-share", "1.0.0", "One port, several applications: kernel steering and attachment",
     nullptr, kStages});

}  // namespace
}  // namespace oryx::share

ORYX_PLUGIN_EXPORT(oryx::share::kPlugin)
