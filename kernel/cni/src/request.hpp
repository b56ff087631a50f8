// SPDX-License-Identifier: Apache-2.0
// request.hpp - one invocation of the plugin as the CNI specification
// defines it: the CNI_* environment and the network configuration on
// stdin, checked, with Oryx's own keys read out.
#pragma once

#include <nlohmann/json.hpp>

#include <string>

namespace oryx::cni {

struct Request {
  std::string command;       // CNI_COMMAND
  std::string container_id;  // CNI_CONTAINERID
  std::string netns;         // CNI_NETNS (a path)
  std::string ifname;        // CNI_IFNAME
  std::string path;          // CNI_PATH
  std::string pod;           // "namespace/name" from CNI_ARGS (K8S_POD_*), or ""
  nlohmann::json config;     // stdin
  std::string version;       // config's cniVersion
  // Oryx's keys.
  std::string oryxd = "http://127.0.0.1:8080";
  std::string token_file;
  std::string bridge = "pods";
  int mtu = 1500;
  bool checksum_offload = true;  // false: pods' kernels checksum what they send
  // The pod opted into Oryx's user-space stack (CNI_ARGS ORYX_STACK=true,
  // or args.cni.oryx_stack): its interface is left without addresses for
  // an application under `oryx run` to take by AF_XDP, with the
  // configuration written to stack_config_dir.
  bool stack = false;
  // Chained after a plugin that made the pod's interface (the
  // configuration has no ipam, ADD gets a prevResult): only the host-side
  // interface that prevResult lists becomes a bridge port.
  bool chained = false;
  // The sockmap service the pod's cgroup joins (runtimeConfig.cgroupPath,
  // with the cgroupPath capability); "" for none.
  std::string sockmap;
  std::string cgroup;  // runtimeConfig.cgroupPath, relative to the cgroup v2 mount
  std::string stack_config_dir = "/run/oryx/pods";
  std::string stack_plugin_dir;  // [plugins] path of that configuration; "" for the installed
};

// Reads and checks what the runtime passed for `command` (the variables
// it needs, the configuration's fields); throws CniError with the
// specification's code for what is wrong.
Request read_request(const std::string& stdin_text);

// The host end's name for an attachment: "ox" and 12 hex digits of a hash
// of the container ID and interface name (interface names hold 15
// characters), and the alias that records the attachment on it.
std::string host_interface(const std::string& container_id, const std::string& ifname);

// The attachment, recorded in the host end's alias for GC and for the
// dashboard's pods view: "oryx-cni CONTAINER IFNAME NETNS ADDRESS POD",
// "-" for what is unknown.
struct Attachment {
  std::string container_id, ifname, netns, address, pod;
};
std::string attachment_alias(const Attachment& a);
// false when `alias` is not one of this plugin's.
bool parse_alias(const std::string& alias, Attachment* a);

}  // namespace oryx::cni
