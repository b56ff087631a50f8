// SPDX-License-Identifier: Apache-2.0
// tc_filter.cpp - see tc_filter.hpp.
#include "tc_filter.hpp"

#include "bpf_support.hpp"

#include <oryx/sdk.hpp>

#include <unistd.h>

#include <cerrno>

namespace oryx::bpf {
using oryx::sdk::Error;

namespace {

bpf_tc_hook ingress_hook(uint32_t ifindex) {
  bpf_tc_hook hook{};
  hook.sz = sizeof(hook);
  hook.ifindex = int(ifindex);
  hook.attach_point = BPF_TC_INGRESS;
  return hook;
}

bpf_tc_opts filter_opts(const TcFilter& filter) {
  bpf_tc_opts opts{};
  opts.sz = sizeof(opts);
  opts.handle = filter.handle;
  opts.priority = filter.priority;
  return opts;
}

// The program id of the filter at our handle and priority, 0 if none.
uint32_t tc_prog_id(const TcFilter& filter, uint32_t ifindex) {
  bpf_tc_hook hook = ingress_hook(ifindex);
  bpf_tc_opts opts = filter_opts(filter);
  return bpf_tc_query(&hook, &opts) == 0 ? opts.prog_id : 0;
}

}  // namespace

std::string prog_name(uint32_t id) {
  int fd = bpf_prog_get_fd_by_id(id);
  if (fd < 0) return "";
  bpf_prog_info info{};
  __u32 len = sizeof(info);
  std::string name = bpf_obj_get_info_by_fd(fd, &info, &len) == 0 ? info.name : "";
  ::close(fd);
  return name;
}

bool attach_tc(const TcFilter& filter, uint32_t ifindex, const std::string& ifname, int prog_fd,
               bool take_over) {
  bpf_tc_hook hook = ingress_hook(ifindex);
  int rc = bpf_tc_hook_create(&hook);
  bool created = rc == 0;
  if (rc != 0 && rc != -EEXIST)
    throw Error(failure("cannot add a clsact qdisc to " + ifname, rc), ORYX_ERR_IO);
  bpf_tc_opts opts = filter_opts(filter);
  if (uint32_t id = tc_prog_id(filter, ifindex); id != 0) {
    if (!take_over || prog_name(id) != filter.prog_name)
      throw Error("interface " + ifname + " already has a TC ingress program \"" + prog_name(id) +
                      "\" (id " + std::to_string(id) + "); " + filter.owner +
                      " replaces only what its own killed predecessor left",
                  ORYX_ERR_UNSUPPORTED);
    opts.flags = BPF_TC_F_REPLACE;
  }
  opts.prog_fd = prog_fd;
  rc = bpf_tc_attach(&hook, &opts);
  if (rc != 0) {
    if (created) {
      hook.attach_point = bpf_tc_attach_point(BPF_TC_INGRESS | BPF_TC_EGRESS);
      bpf_tc_hook_destroy(&hook);
    }
    throw Error(failure("cannot attach the TC program to " + ifname, rc), ORYX_ERR_IO);
  }
  return created;
}

bool detach_tc(const TcFilter& filter, uint32_t ifindex, bool remove_qdisc) {
  uint32_t id = tc_prog_id(filter, ifindex);
  if (id == 0 || prog_name(id) != filter.prog_name) return false;
  bpf_tc_hook hook = ingress_hook(ifindex);
  bpf_tc_opts opts = filter_opts(filter);
  bool removed = bpf_tc_detach(&hook, &opts) == 0;
  if (remove_qdisc) {
    // Destroying the clsact qdisc needs both attach points named.
    hook.attach_point = bpf_tc_attach_point(BPF_TC_INGRESS | BPF_TC_EGRESS);
    bpf_tc_hook_destroy(&hook);
  }
  return removed;
}

}  // namespace oryx::bpf
