// SPDX-License-Identifier: Apache-2.0
// main.cpp - oryx-cni, a CNI 1.1.0 plugin: pods get a veth whose host end
// is a port of oryxd's eBPF bridge, addresses from a standard IPAM plugin.
// Driven by a container runtime through CNI_* variables and a JSON
// configuration on stdin; answers on stdout (a result, or an error with
// the specification's code) and by its exit status.
#include "cni_errors.hpp"
#include "commands.hpp"
#include "request.hpp"

#include <cstdio>
#include <cstring>
#include <iostream>
#include <iterator>
#include <string>

namespace {

const char* kUsage =
    "oryx-cni - CNI plugin (spec 1.1.0): pods on oryxd's eBPF bridge\n"
    "\n"
    "A container runtime runs it with CNI_COMMAND (ADD, DEL, CHECK, STATUS, GC,\n"
    "VERSION), CNI_CONTAINERID, CNI_NETNS, CNI_IFNAME, CNI_PATH and CNI_ARGS in\n"
    "the environment and the network configuration on stdin, for example:\n"
    "\n"
    "  {\"cniVersion\": \"1.1.0\", \"name\": \"pods\", \"type\": \"oryx-cni\",\n"
    "   \"oryxd\": \"http://127.0.0.1:8080\", \"token_file\": \"/etc/oryx/api-token\",\n"
    "   \"bridge\": \"pods\", \"mtu\": 1500,\n"
    "   \"ipam\": {\"type\": \"host-local\", \"subnet\": \"198.18.30.0/24\"}}\n"
    "\n"
    "The result (or an error: code, msg, details) goes to stdout.\n"
    "docs/kubernetes.md tells the whole story; --version prints the versions spoken.\n";

void print(const nlohmann::json& j) {
  if (!j.is_null()) std::cout << j.dump(2) << "\n";
}

}  // namespace

int main(int argc, char** argv) {
  using namespace oryx::cni;
  if (argc > 1 && (std::strcmp(argv[1], "--help") == 0 || std::strcmp(argv[1], "-h") == 0)) {
    std::fputs(kUsage, stdout);
    return 0;
  }
  if (argc > 1 && std::strcmp(argv[1], "--version") == 0) {
    print(cmd_version(Request{}));
    return 0;
  }
  std::string input(std::istreambuf_iterator<char>(std::cin), {});
  std::string version = "1.1.0";
  try {
    Request r = read_request(input);
    if (!r.version.empty()) version = r.version;
    if (r.command == "VERSION") print(cmd_version(r));
    else if (r.command == "ADD") print(cmd_add(r));
    else if (r.command == "DEL") print(cmd_del(r));
    else if (r.command == "CHECK") print(cmd_check(r));
    else if (r.command == "STATUS") print(cmd_status(r));
    else print(cmd_gc(r));
    return 0;
  } catch (const CniError& e) {
    nlohmann::json err = {{"cniVersion", version}, {"code", e.code}, {"msg", e.what()}};
    if (!e.details.empty()) err["details"] = e.details;
    print(err);
  } catch (const std::exception& e) {
    print({{"cniVersion", version}, {"code", int(kIoFailure)}, {"msg", e.what()}});
  }
  return 1;
}
