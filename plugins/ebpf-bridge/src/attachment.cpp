// SPDX-License-Identifier: Apache-2.0
// attachment.cpp - XDP and TC attach/detach with libbpf's netlink calls.
#include "attachment.hpp"

#include "bpf_support.hpp"
#include "tc_filter.hpp"

#include <oryx/sdk.hpp>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/if_link.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace oryx::bridge {
using oryx::sdk::Error;

namespace {

// The bridge's TC filter: ingress, its own handle and priority.
constexpr oryx::bpf::TcFilter kTcFilter{0x0b1d, 0x0b1d, kTcProgName, "the bridge"};

using oryx::bpf::prog_name;

Error foreign(const std::string& ifname, const char* hook, uint32_t id) {
  return Error("interface " + ifname + " already has " + hook + " program \"" + prog_name(id) +
                   "\" (id " + std::to_string(id) + "); the bridge replaces only what its own "
                   "killed predecessor left (another bridge on this interface?)",
               ORYX_ERR_UNSUPPORTED);
}

}  // namespace

const char* hook_name(Hook hook) { return hook == Hook::xdp ? "xdp" : "tc"; }

void attach_xdp(uint32_t ifindex, const std::string& ifname, int prog_fd, bool generic,
                bool take_over) {
  bpf_xdp_query_opts query{};
  query.sz = sizeof(query);
  if (bpf_xdp_query(int(ifindex), 0, &query) == 0 && query.prog_id != 0) {
    if (!take_over || prog_name(query.prog_id) != kXdpProgName)
      throw foreign(ifname, "an XDP", query.prog_id);
    detach_xdp(ifindex);  // ours, left by a killed oryxd (maybe in the other mode)
  }
  __u32 flags = XDP_FLAGS_UPDATE_IF_NOEXIST | (generic ? XDP_FLAGS_SKB_MODE : XDP_FLAGS_DRV_MODE);
  int rc = bpf_xdp_attach(int(ifindex), prog_fd, flags, nullptr);
  if (rc != 0)
    throw Error(oryx::bpf::failure(std::string("cannot attach the ") +
                                       (generic ? "generic" : "native") + " XDP program to " +
                                       ifname,
                                   rc),
                ORYX_ERR_IO);
}

bool detach_xdp(uint32_t ifindex) {
  bpf_xdp_query_opts query{};
  query.sz = sizeof(query);
  if (bpf_xdp_query(int(ifindex), 0, &query) != 0 || query.prog_id == 0 ||
      prog_name(query.prog_id) != kXdpProgName)
    return false;
  __u32 mode = query.attach_mode == XDP_ATTACHED_SKB ? XDP_FLAGS_SKB_MODE : XDP_FLAGS_DRV_MODE;
  return bpf_xdp_detach(int(ifindex), mode, nullptr) == 0;
}

bool attach_tc(uint32_t ifindex, const std::string& ifname, int prog_fd, bool take_over) {
  return oryx::bpf::attach_tc(kTcFilter, ifindex, ifname, prog_fd, take_over);
}

bool detach_tc(uint32_t ifindex, bool remove_qdisc) {
  return oryx::bpf::detach_tc(kTcFilter, ifindex, remove_qdisc);
}

}  // namespace oryx::bridge
