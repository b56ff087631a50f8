// SPDX-License-Identifier: Apache-2.0
// attachment.cpp - XDP and TC attach/detach with libbpf's netlink calls.
#include "attachment.hpp"

#include "bpf_support.hpp"

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
constexpr uint32_t kTcHandle = 0x0b1d;
constexpr uint32_t kTcPriority = 0x0b1d;

std::string prog_name(uint32_t id) {
  int fd = bpf_prog_get_fd_by_id(id);
  if (fd < 0) return "";
  bpf_prog_info info{};
  __u32 len = sizeof(info);
  std::string name = bpf_obj_get_info_by_fd(fd, &info, &len) == 0 ? info.name : "";
  ::close(fd);
  return name;
}

Error foreign(const std::string& ifname, const char* hook, uint32_t id) {
  return Error("interface " + ifname + " already has " + hook + " program \"" + prog_name(id) +
                   "\" (id " + std::to_string(id) + "); the bridge replaces only what its own "
                   "killed predecessor left (another bridge on this interface?)",
               ORYX_ERR_UNSUPPORTED);
}

bpf_tc_hook ingress_hook(uint32_t ifindex) {
  bpf_tc_hook hook{};
  hook.sz = sizeof(hook);
  hook.ifindex = int(ifindex);
  hook.attach_point = BPF_TC_INGRESS;
  return hook;
}

bpf_tc_opts filter_opts() {
  bpf_tc_opts opts{};
  opts.sz = sizeof(opts);
  opts.handle = kTcHandle;
  opts.priority = kTcPriority;
  return opts;
}

// Our filter's program id, 0 if no filter is at our handle and priority.
uint32_t tc_prog_id(uint32_t ifindex) {
  bpf_tc_hook hook = ingress_hook(ifindex);
  bpf_tc_opts opts = filter_opts();
  return bpf_tc_query(&hook, &opts) == 0 ? opts.prog_id : 0;
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
  bpf_tc_hook hook = ingress_hook(ifindex);
  int rc = bpf_tc_hook_create(&hook);
  bool created = rc == 0;
  if (rc != 0 && rc != -EEXIST)
    throw Error(oryx::bpf::failure("cannot add a clsact qdisc to " + ifname, rc), ORYX_ERR_IO);
  bpf_tc_opts opts = filter_opts();
  if (uint32_t id = tc_prog_id(ifindex); id != 0) {
    if (!take_over || prog_name(id) != kTcProgName) throw foreign(ifname, "a TC ingress", id);
    opts.flags = BPF_TC_F_REPLACE;
  }
  opts.prog_fd = prog_fd;
  rc = bpf_tc_attach(&hook, &opts);
  if (rc != 0) {
    if (created) {
      hook.attach_point = bpf_tc_attach_point(BPF_TC_INGRESS | BPF_TC_EGRESS);
      bpf_tc_hook_destroy(&hook);
    }
    throw Error(oryx::bpf::failure("cannot attach the TC program to " + ifname, rc), ORYX_ERR_IO);
  }
  return created;
}

bool detach_tc(uint32_t ifindex, bool remove_qdisc) {
  uint32_t id = tc_prog_id(ifindex);
  if (id == 0 || prog_name(id) != kTcProgName) return false;
  bpf_tc_hook hook = ingress_hook(ifindex);
  bpf_tc_opts opts = filter_opts();
  bool removed = bpf_tc_detach(&hook, &opts) == 0;
  if (remove_qdisc) {
    // Destroying the clsact qdisc needs both attach points named.
    hook.attach_point = bpf_tc_attach_point(BPF_TC_INGRESS | BPF_TC_EGRESS);
    bpf_tc_hook_destroy(&hook);
  }
  return removed;
}

}  // namespace oryx::bridge
