// SPDX-License-Identifier: Apache-2.0
// request.cpp - see request.hpp.
#include "request.hpp"

#include "cni_errors.hpp"
#include "cni_versions.hpp"

#include <cstdio>
#include <cstdlib>
#include <set>
#include <sstream>

namespace oryx::cni {

namespace {

std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

// Fields of the configuration this plugin knows: the specification's
// (those a runtime adds included) and Oryx's.
const std::set<std::string> kKnownFields = {
    "cniVersion", "cniVersions", "name", "type", "ipam", "dns", "args", "runtimeConfig",
    "capabilities", "prevResult", "cni.dev/valid-attachments", "cni.dev/attachments",
    "disableCheck", "disableGC", "oryxd", "token_file", "bridge", "mtu", "checksum_offload",
    "stack_config_dir", "stack_plugin_dir", "sockmap"};

void require_env(const std::string& value, const char* name, const std::string& command) {
  if (value.empty())
    throw CniError(kInvalidEnvironment, std::string(name) + " is not set (" + command + " needs it)");
}

// Container IDs: letters, digits, and _ . - after the first (the spec's
// pattern).
bool valid_container_id(const std::string& id) {
  if (id.empty() || !std::isalnum(static_cast<unsigned char>(id[0]))) return false;
  for (char c : id)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '.' && c != '-') return false;
  return true;
}

// Linux interface names: 1..15 bytes, not "." or "..", no '/', ':' or space.
bool valid_ifname(const std::string& n) {
  if (n.empty() || n.size() > 15 || n == "." || n == "..") return false;
  for (char c : n)
    if (c == '/' || c == ':' || std::isspace(static_cast<unsigned char>(c))) return false;
  return true;
}

}  // namespace

Request read_request(const std::string& stdin_text) {
  Request r;
  r.command = env("CNI_COMMAND");
  if (r.command.empty()) throw CniError(kInvalidEnvironment, "CNI_COMMAND is not set");
  static const std::set<std::string> kCommands = {"ADD", "DEL", "CHECK", "STATUS", "GC", "VERSION"};
  if (!kCommands.count(r.command))
    throw CniError(kInvalidEnvironment, "CNI_COMMAND: unknown command \"" + r.command + "\"");
  r.config = nlohmann::json::parse(stdin_text, nullptr, false);
  if (r.config.is_discarded() || !r.config.is_object())
    throw CniError(kDecodeFailure, "the network configuration on stdin is not a JSON object");
  r.version = r.config.value("cniVersion", "");
  if (r.command == "VERSION") return r;
  if (!r.config.contains("cniVersion") || !r.config["cniVersion"].is_string())
    throw CniError(kInvalidConfig, "cniVersion: missing");
  if (!supported(r.version))
    throw CniError(kIncompatibleVersion, "cniVersion " + r.version + " is not supported",
                   "supported: 0.3.0, 0.3.1, 0.4.0, 1.0.0, 1.1.0");
  for (const char* f : {"name", "type"})
    if (!r.config.contains(f) || !r.config[f].is_string() || r.config[f].get<std::string>().empty())
      throw CniError(kInvalidConfig, std::string(f) + ": missing");
  for (const auto& [key, value] : r.config.items())
    if (!kKnownFields.count(key))
      throw CniError(kUnsupportedField, "unknown field \"" + key + "\" in the network configuration",
                     "Oryx's keys: oryxd, token_file, bridge, mtu, checksum_offload, "
                     "stack_config_dir, stack_plugin_dir, sockmap");
  auto string_key = [&](const char* key, std::string& out) {
    if (!r.config.contains(key)) return;
    if (!r.config[key].is_string()) throw CniError(kInvalidConfig, std::string(key) + ": expected a string");
    out = r.config[key].get<std::string>();
  };
  string_key("oryxd", r.oryxd);
  string_key("token_file", r.token_file);
  string_key("bridge", r.bridge);
  string_key("stack_config_dir", r.stack_config_dir);
  string_key("stack_plugin_dir", r.stack_plugin_dir);
  string_key("sockmap", r.sockmap);
  if (r.config.contains("runtimeConfig") && r.config["runtimeConfig"].is_object() &&
      r.config["runtimeConfig"].contains("cgroupPath") && r.config["runtimeConfig"]["cgroupPath"].is_string()) {
    // Runtimes give it from the cgroup root ("/kubepods.slice/..."): made
    // relative to the cgroup v2 mount, unless it names the mount itself.
    r.cgroup = r.config["runtimeConfig"]["cgroupPath"].get<std::string>();
    if (r.cgroup.rfind("/sys/fs/cgroup", 0) != 0)
      while (!r.cgroup.empty() && r.cgroup[0] == '/') r.cgroup.erase(0, 1);
  }
  if (r.config.contains("checksum_offload")) {
    if (!r.config["checksum_offload"].is_boolean())
      throw CniError(kInvalidConfig, "checksum_offload: expected true or false");
    r.checksum_offload = r.config["checksum_offload"].get<bool>();
  }
  // args.cni.oryx_stack (the conventions' per-attachment arguments).
  if (r.config.contains("args") && r.config["args"].is_object() &&
      r.config["args"].contains("cni") && r.config["args"]["cni"].is_object())
    r.stack = r.config["args"]["cni"].value("oryx_stack", false);
  if (r.config.contains("mtu")) {
    if (!r.config["mtu"].is_number_integer() || r.config["mtu"].get<int>() < 68 ||
        r.config["mtu"].get<int>() > 9000)
      throw CniError(kInvalidConfig, "mtu: expected 68..9000");
    r.mtu = r.config["mtu"].get<int>();
  }
  r.path = env("CNI_PATH");
  if (r.command == "STATUS" || r.command == "GC") {
    require_env(r.path, "CNI_PATH", r.command);
    return r;
  }
  // CNI_ARGS: "K1=V1;K2=V2"; Kubernetes runtimes pass the pod's name.
  std::string ns, name;
  std::istringstream args(env("CNI_ARGS"));
  for (std::string kv; std::getline(args, kv, ';');) {
    if (kv.rfind("K8S_POD_NAMESPACE=", 0) == 0) ns = kv.substr(18);
    if (kv.rfind("K8S_POD_NAME=", 0) == 0) name = kv.substr(13);
    if (kv == "ORYX_STACK=true" || kv == "ORYX_STACK=1") r.stack = true;
  }
  if (!name.empty() && name.find(' ') == std::string::npos && ns.find(' ') == std::string::npos)
    r.pod = (ns.empty() ? "" : ns + "/") + name;
  r.container_id = env("CNI_CONTAINERID");
  r.netns = env("CNI_NETNS");
  r.ifname = env("CNI_IFNAME");
  require_env(r.container_id, "CNI_CONTAINERID", r.command);
  require_env(r.ifname, "CNI_IFNAME", r.command);
  require_env(r.path, "CNI_PATH", r.command);
  if (r.command != "DEL") require_env(r.netns, "CNI_NETNS", r.command);
  if (!valid_container_id(r.container_id))
    throw CniError(kInvalidEnvironment, "CNI_CONTAINERID: \"" + r.container_id +
                                            "\" is not a container ID (letters, digits, _ . -)");
  if (!valid_ifname(r.ifname))
    throw CniError(kInvalidEnvironment, "CNI_IFNAME: \"" + r.ifname + "\" is not an interface name");
  r.chained = !r.config.contains("ipam");
  if (r.chained && r.command == "ADD" && !r.config.contains("prevResult"))
    throw CniError(kInvalidConfig, "ipam: missing (an IPAM plugin gives the pod its addresses, "
                                   "e.g. {\"type\": \"host-local\", \"subnet\": ...}; or chain "
                                   "oryx-cni after a plugin that makes the interface)");
  if (!r.chained && (!r.config["ipam"].is_object() || !r.config["ipam"].contains("type")))
    throw CniError(kInvalidConfig, "ipam: expected an object with a type");
  if (r.command == "CHECK" && !r.config.contains("prevResult"))
    throw CniError(kInvalidConfig, "prevResult: missing (CHECK compares with ADD's result)");
  return r;
}

std::string host_interface(const std::string& container_id, const std::string& ifname) {
  // FNV-1a, 64 bits: stable across builds, unlike std::hash.
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : container_id + "/" + ifname) h = (h ^ c) * 1099511628211ull;
  char name[16];
  std::snprintf(name, sizeof(name), "ox%012llx", static_cast<unsigned long long>(h >> 16));
  return name;
}

std::string attachment_alias(const Attachment& a) {
  auto field = [](const std::string& s) { return s.empty() ? std::string("-") : s; };
  return "oryx-cni " + field(a.container_id) + " " + field(a.ifname) + " " + field(a.netns) + " " +
         field(a.address) + " " + field(a.pod);
}

bool parse_alias(const std::string& alias, Attachment* a) {
  std::istringstream in(alias);
  std::string tag;
  in >> tag >> a->container_id >> a->ifname >> a->netns >> a->address >> a->pod;
  if (tag != "oryx-cni" || a->container_id.empty() || a->ifname.empty()) return false;
  for (std::string* s : {&a->netns, &a->address, &a->pod})
    if (*s == "-") s->clear();
  return true;
}

}  // namespace oryx::cni
