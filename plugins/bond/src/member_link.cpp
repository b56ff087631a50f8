// SPDX-License-Identifier: Apache-2.0
// member_link.cpp - see member_link.hpp.
#include "member_link.hpp"

#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <rte_ethdev.h>

#include <cstring>

namespace oryx::bond {

namespace {

bool kernel_carrier(const std::string& ifname) {
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  ifreq ifr{};
  std::strncpy(ifr.ifr_name, ifname.c_str(), IFNAMSIZ - 1);
  bool up = ioctl(fd, SIOCGIFFLAGS, &ifr) == 0 && (ifr.ifr_flags & IFF_UP) &&
            (ifr.ifr_flags & IFF_RUNNING);
  close(fd);
  return up;  // a vanished interface is a lost link
}

}  // namespace

bool member_link_up(const Member& member) {
  if (member.kernel_backed) return kernel_carrier(member.name);
  rte_eth_link link{};
  return rte_eth_link_get_nowait(member.port_id, &link) == 0 &&
         link.link_status == RTE_ETH_LINK_UP;
}

}  // namespace oryx::bond
