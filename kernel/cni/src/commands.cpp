// SPDX-License-Identifier: Apache-2.0
// commands.cpp - see commands.hpp. An attachment is a veth pair (host end
// named from the container ID and interface, the attachment recorded in
// its alias), addresses from the delegated IPAM plugin, and the host end
// as a port of oryxd's ebpf_bridge service, added through its REST API.
#include "commands.hpp"

#include "cni_errors.hpp"
#include "cni_versions.hpp"
#include "ipam.hpp"
#include "netlink_ops.hpp"
#include "oryxd_client.hpp"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>

namespace oryx::cni {

namespace {

using json = nlohmann::json;

std::string ports_path(const Request& r) { return "/api/v1/bridge/" + r.bridge + "/ports"; }

// Where an opted-in pod's `oryx run` configuration goes.
std::string stack_config_path(const Request& r) {
  return r.stack_config_dir + "/" + r.container_id + "-" + r.ifname + ".toml";
}

// The `oryx run` configuration of a pod on the user-space stack: an
// AF_XDP port on its interface and a stack at its address.
void write_stack_config(const Request& r, const Address& a) {
  std::error_code ec;
  std::filesystem::create_directories(r.stack_config_dir, ec);
  const std::string path = stack_config_path(r);
  std::ofstream out(path, std::ios::trunc);
  out << "# `oryx run` configuration of " << (r.pod.empty() ? "container " + r.container_id : "pod " + r.pod)
      << ", made by oryx-cni: run the pod's\n# application as `oryx run --config " << path
      << " -- APP`.\n";
  if (!r.stack_plugin_dir.empty()) out << "[plugins]\npath = [\"" << r.stack_plugin_dir << "\"]\n";
  out << "[kernel]\nhugepages = false\nfile_prefix = \"pod-" << host_interface(r.container_id, r.ifname)
      << "\"\n[http]\nenabled = false\n[stage.wire]\ntype = \"port\"\ndriver = \"af_xdp\"\niface = \""
      << r.ifname << "\"\nnext = \"ip\"\n[stage.ip]\ntype = \"stack\"\naddress = \"" << a.cidr << "\"\n";
  if (!a.gateway.empty()) out << "gateway = \"" << a.gateway << "\"\n";
  out << "next = \"wire\"\n";
  if (!out.flush())
    throw CniError(kIoFailure, "cannot write " + path + " (stack_config_dir)");
}

// The bridge service's entry in GET /api/v1/bridge (null if none).
json find_bridge(OryxdClient& oryxd, const Request& r) {
  Answer a = oryxd.call("GET", "/api/v1/bridge");
  if (a.status != 200 || !a.body.is_object())
    throw CniError(kNotAvailable, "oryxd's bridge API answered HTTP " + std::to_string(a.status),
                   "is the ebpf-bridge plugin loaded?");
  for (const auto& b : a.body.value("bridges", json::array()))
    if (b.value("name", "") == r.bridge) return b;
  return nullptr;
}

void add_port(OryxdClient& oryxd, const Request& r, const std::string& host) {
  // A pod on its own stack takes frames by AF_XDP, at its interface's
  // XDP hook: the bridge must send through the veth, not into the pod.
  json body = {{"interface", host}, {"redirect", r.stack ? "egress" : "auto"}};
  Answer a = oryxd.call("POST", ports_path(r), body.dump());
  if (a.status != 201) {
    std::string why = a.body.is_object() ? a.body.value("error", "") : "";
    throw CniError(a.status == 404 && why.find("no bridge") != std::string::npos ? kNotAvailable
                                                                                 : kOryxdRefused,
                   "oryxd did not add " + host + " to bridge " + r.bridge + " (HTTP " +
                       std::to_string(a.status) + "): " + why);
  }
}

// The pod's cgroup joins the sockmap service (its TCP then goes socket to
// socket with the node's other tracked sockets).
void add_cgroup(OryxdClient& oryxd, const Request& r) {
  if (r.sockmap.empty() || r.cgroup.empty()) return;
  Answer a = oryxd.call("POST", "/api/v1/sockmap/" + r.sockmap + "/cgroups",
                        json{{"cgroup", r.cgroup}}.dump());
  if (a.status != 201 && a.status != 409)  // 409: attached already (a parent's or a retry)
    throw CniError(kOryxdRefused, "oryxd did not attach cgroup " + r.cgroup + " to sockmap " +
                                      r.sockmap + " (HTTP " + std::to_string(a.status) + "): " +
                                      (a.body.is_object() ? a.body.value("error", "") : ""));
}

// Removes the port (not one: fine) and the veth; best effort, as DEL must
// finish when parts are already gone. Returns what it could not do.
std::string remove_attachment(OryxdClient* oryxd, const Request& r, const std::string& host) {
  std::string problems;
  if (oryxd && !r.sockmap.empty() && !r.cgroup.empty()) {
    try {
      Answer a = oryxd->call("DELETE", "/api/v1/sockmap/" + r.sockmap + "/cgroups?cgroup=" +
                                           OryxdClient::url_encoded(r.cgroup));
      if (a.status != 200 && a.status != 404)
        problems += "oryxd answered HTTP " + std::to_string(a.status) + " to detaching cgroup " +
                    r.cgroup + "; ";
    } catch (const CniError&) {
      // oryxd down: its bpf_links went with it
    }
  }
  if (oryxd) {
    try {
      Answer a = oryxd->call("DELETE", ports_path(r) + "/" + host);
      if (a.status != 200 && a.status != 404)
        problems += "oryxd answered HTTP " + std::to_string(a.status) + " to removing " + host + "; ";
    } catch (const CniError&) {
      // oryxd down: deleting the veth takes the program with it, and the
      // next oryxd does not adopt a port whose interface is gone.
    }
  }
  delete_link(host);
  std::error_code ec;
  std::filesystem::remove(stack_config_path(r), ec);
  return problems;
}

// A result's addresses and routes, for the pod's interface.
void read_ipam_result(const json& res, std::vector<Address>& addrs, std::vector<Route>& routes) {
  for (const auto& ip : res.value("ips", json::array()))
    addrs.push_back({ip.value("address", ""), ip.value("gateway", "")});
  for (const auto& rt : res.value("routes", json::array()))
    routes.push_back({rt.value("dst", ""), rt.value("gw", "")});
  if (addrs.empty()) throw CniError(kInvalidConfig, "the IPAM plugin gave no address");
}

// Chained: the host-side interface prevResult lists (no sandbox).
std::string chained_host(const Request& r) {
  for (const auto& i : r.config.value("prevResult", json::object()).value("interfaces", json::array()))
    if (!i.contains("sandbox") && !i.value("name", "").empty()) return i.value("name", "");
  return "";
}

// Chained ADD: the interface the previous plugin made on the host joins
// the bridge; the result passes through.
json chained_add(const Request& r) {
  const std::string host = chained_host(r);
  if (host.empty())
    throw CniError(kInvalidConfig, "prevResult lists no host-side interface for oryx-cni to bridge",
                   "chain oryx-cni after a plugin that makes a veth pair (ptp, for one)");
  OryxdClient oryxd(r.oryxd, r.token_file);
  if (find_bridge(oryxd, r).is_null())
    throw CniError(kNotAvailable, "oryxd runs no bridge service \"" + r.bridge + "\"");
  add_port(oryxd, r, host);
  json result = r.config["prevResult"];
  result["cniVersion"] = r.version;
  return result;
}

}  // namespace

json cmd_version(const Request& r) {
  json versions = json::array();
  for (const char* v : kSupportedVersions) versions.push_back(v);
  return {{"cniVersion", r.version.empty() || !supported(r.version) ? "1.1.0" : r.version},
          {"supportedVersions", versions}};
}

json cmd_add(const Request& r) {
  if (r.chained) return chained_add(r);
  OryxdClient oryxd(r.oryxd, r.token_file);
  json bridge = find_bridge(oryxd, r);  // before anything is made: a missing bridge is no pod
  if (bridge.is_null())
    throw CniError(kNotAvailable, "oryxd runs no bridge service \"" + r.bridge + "\"",
                   "add [service." + r.bridge + "] type = \"ebpf_bridge\" to appliance.toml");
  const std::string host = host_interface(r.container_id, r.ifname);
  // A second ADD must fail before the IPAM plugin runs: undoing its ADD
  // would release the first one's addresses.
  if (link_exists(host))
    throw CniError(kAlreadyExists, "container " + r.container_id + " has an attachment on " +
                                       r.ifname + " already (host interface " + host + ")",
                   "DEL it first");
  json ipam = run_ipam("ADD", r.config, r.path);
  auto undo_ipam = [&] {
    try {
      run_ipam("DEL", r.config, r.path);
    } catch (const CniError&) {
    }
  };
  std::vector<Address> addrs;
  std::vector<Route> routes;
  VethEnds ends;
  try {
    read_ipam_result(ipam, addrs, routes);
    ends = create_veth(host,
                       attachment_alias({r.container_id, r.ifname, r.netns,
                                         addrs.empty() ? "" : addrs[0].cidr, r.pod}),
                       r.ifname, r.netns, r.mtu);
  } catch (...) {
    undo_ipam();
    throw;
  }
  try {
    if (r.stack) {
      // The pod's kernel keeps no address: its application's stack answers.
      configure_pod(r.netns, r.ifname, {}, {});
      write_stack_config(r, addrs[0]);
    } else {
      configure_pod(r.netns, r.ifname, addrs, routes);
    }
    if (!r.checksum_offload) disable_tx_checksum(r.netns, r.ifname);
    add_port(oryxd, r, host);
    add_cgroup(oryxd, r);
  } catch (...) {
    remove_attachment(&oryxd, r, host);
    undo_ipam();
    throw;
  }
  const bool old = r.version.rfind("0.", 0) == 0;  // 0.3.x/0.4.0: ips carry "version"
  json ips = json::array();
  for (auto ip : ipam.value("ips", json::array())) {
    ip["interface"] = 1;
    if (old) ip["version"] = ip.value("address", "").find(':') == std::string::npos ? "4" : "6";
    ips.push_back(ip);
  }
  json result = {{"cniVersion", r.version},
                 {"interfaces", json::array({{{"name", host}, {"mac", ends.host_mac}},
                                             {{"name", r.ifname},
                                              {"mac", ends.pod_mac},
                                              {"sandbox", r.netns}}})},
                 {"ips", ips},
                 {"routes", ipam.value("routes", json::array())},
                 {"dns", ipam.value("dns", json::object())}};
  return result;
}

json cmd_del(const Request& r) {
  std::unique_ptr<OryxdClient> oryxd;
  if (r.chained) {
    // Only the port is ours: the previous plugin removes its interface.
    const std::string host = chained_host(r);
    if (host.empty()) return nullptr;  // nothing was bridged (or no prevResult: nothing known)
    try {
      OryxdClient client(r.oryxd, r.token_file);
      Answer a = client.call("DELETE", ports_path(r) + "/" + host);
      if (a.status != 200 && a.status != 404)
        throw CniError(kOryxdRefused, "oryxd answered HTTP " + std::to_string(a.status) +
                                          " to removing " + host);
    } catch (const CniError& e) {
      if (e.code == kOryxdRefused) throw;  // oryxd down: the interface's deletion detaches it
    }
    return nullptr;
  }
  const std::string host = host_interface(r.container_id, r.ifname);
  try {
    oryxd = std::make_unique<OryxdClient>(r.oryxd, r.token_file);
  } catch (const CniError&) {
  }
  std::string problems = remove_attachment(oryxd.get(), r, host);
  if (r.config.contains("ipam") && r.config["ipam"].is_object()) run_ipam("DEL", r.config, r.path);
  if (!problems.empty()) throw CniError(kOryxdRefused, problems);
  return nullptr;
}

json cmd_check(const Request& r) {
  const std::string host = r.chained ? chained_host(r) : host_interface(r.container_id, r.ifname);
  if (!link_exists(host)) throw CniError(kCheckFailed, "the host interface " + host + " is gone");
  if (!link_exists(r.ifname, r.netns))
    throw CniError(kCheckFailed, "the pod's interface " + r.ifname + " is gone from " + r.netns);
  // A pod on its own stack holds its addresses there (its configuration
  // file), not in its kernel.
  std::vector<std::string> have = link_addresses(r.ifname, r.netns);
  std::ifstream stack_conf(stack_config_path(r));
  for (std::string line; std::getline(stack_conf, line);)
    if (line.rfind("address = \"", 0) == 0) have.push_back(line.substr(11, line.size() - 12));
  std::set<std::string> present(have.begin(), have.end());
  for (const auto& ip : r.config["prevResult"].value("ips", json::array())) {
    std::string want = ip.value("address", "");
    if (!present.count(want))
      throw CniError(kCheckFailed, r.ifname + " lacks its address " + want);
  }
  OryxdClient oryxd(r.oryxd, r.token_file);
  json bridge = find_bridge(oryxd, r);
  bool bridged = false;
  if (bridge.is_object())
    for (const auto& p : bridge.value("ports", json::array()))
      bridged |= p.value("name", "") == host && p.value("present", false) && p.value("up", false);
  if (!bridged)
    throw CniError(kCheckFailed, host + " is not a forwarding port of bridge " + r.bridge);
  if (!r.chained) run_ipam("CHECK", r.config, r.path);
  return nullptr;
}

json cmd_status(const Request& r) {
  try {
    OryxdClient oryxd(r.oryxd, r.token_file);
    json bridge = find_bridge(oryxd, r);
    if (bridge.is_null())
      throw CniError(kNotAvailable, "oryxd runs no bridge service \"" + r.bridge + "\"");
    if (bridge.value("state", "") != "forwarding")
      throw CniError(kNotAvailable, "bridge " + r.bridge + " is " + bridge.value("state", "?"));
  } catch (const CniError& e) {
    if (e.code == kNotAvailable) throw;
    throw CniError(kNotAvailable, e.what(), e.details);
  }
  return nullptr;
}

json cmd_gc(const Request& r) {
  std::set<std::string> valid;
  for (const auto& a : r.config.value("cni.dev/valid-attachments", json::array()))
    valid.insert(host_interface(a.value("containerID", ""), a.value("ifname", "")));
  OryxdClient oryxd(r.oryxd, r.token_file);
  json bridge = find_bridge(oryxd, r);
  if (bridge.is_null()) return nullptr;
  for (const auto& p : bridge.value("ports", json::array())) {
    const std::string host = p.value("name", "");
    Attachment a;
    if (!p.value("added", false) || !parse_alias(link_alias(host), &a) || valid.count(host)) continue;
    Request stale = r;
    stale.container_id = a.container_id;
    stale.ifname = a.ifname;
    remove_attachment(&oryxd, stale, host);
    if (r.config.contains("ipam") && r.config["ipam"].is_object()) {
      setenv("CNI_CONTAINERID", stale.container_id.c_str(), 1);
      setenv("CNI_IFNAME", stale.ifname.c_str(), 1);
      json cfg = r.config;
      cfg.erase("cni.dev/valid-attachments");
      run_ipam("DEL", cfg, r.path);
    }
  }
  return nullptr;
}

}  // namespace oryx::cni
