// SPDX-License-Identifier: Apache-2.0
// interfaces.cpp - interface facts from /sys/class/net and ETHTOOL_GDRVINFO.
#include "interfaces.hpp"

#include <linux/ethtool.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>

namespace oryx::bpf {
namespace {

std::string read_line(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  return line;
}

long read_number(const std::string& path, int base = 10) {
  std::string text = read_line(path);
  return text.empty() ? -1 : std::strtol(text.c_str(), nullptr, base);
}

std::string driver_of(const std::string& name) {
  int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return "";
  ethtool_drvinfo info{};
  info.cmd = ETHTOOL_GDRVINFO;
  ifreq req{};
  std::strncpy(req.ifr_name, name.c_str(), IFNAMSIZ - 1);
  req.ifr_data = reinterpret_cast<char*>(&info);
  bool ok = ::ioctl(fd, SIOCETHTOOL, &req) == 0;
  ::close(fd);
  return ok ? std::string(info.driver) : "";
}

// A veth's iflink is its peer's ifindex. The peer is in this namespace
// when an interface here has that ifindex and points back at us.
bool peer_in_other_netns(const std::string& name, uint32_t ifindex) {
  long peer = read_number("/sys/class/net/" + name + "/iflink");
  if (peer <= 0 || uint32_t(peer) == ifindex) return false;
  std::error_code ec;
  for (const auto& dir : std::filesystem::directory_iterator("/sys/class/net", ec)) {
    std::string base = dir.path().string();
    if (read_number(base + "/ifindex") == peer && read_number(base + "/iflink") == long(ifindex))
      return false;
  }
  return true;
}

}  // namespace

InterfaceFacts interface_state(const std::string& name) {
  InterfaceFacts facts;
  facts.ifindex = if_nametoindex(name.c_str());
  if (facts.ifindex == 0) return facts;
  const std::string base = "/sys/class/net/" + name;
  std::string oper = read_line(base + "/operstate");
  long flags = read_number(base + "/flags", 16);
  facts.up = oper == "up" || (oper == "unknown" && flags > 0 && (flags & IFF_UP));
  return facts;
}

InterfaceFacts inspect_interface(const std::string& name) {
  InterfaceFacts facts = interface_state(name);
  if (facts.ifindex == 0) return facts;
  facts.driver = driver_of(name);
  facts.peer_elsewhere = facts.driver == "veth" && peer_in_other_netns(name, facts.ifindex);
  return facts;
}

}  // namespace oryx::bpf
