// SPDX-License-Identifier: Apache-2.0
// tc_filter.hpp - one BPF program at an interface's TC ingress hook, at a
// handle and priority of its own, with libbpf's netlink calls. The
// attachment outlives a killed oryxd (the data path keeps running), so a
// later one recognises its predecessor's filter by program name, replaces
// it, and refuses to touch anyone else's.
#pragma once

#include <cstdint>
#include <string>

namespace oryx::bpf {

struct TcFilter {
  uint32_t handle;
  uint32_t priority;
  const char* prog_name;  // the BPF program's name: how "ours" is told apart
  const char* owner;      // for errors: "the bridge", "the port share"
};

// The name of the BPF program with this id, "" if it cannot be read.
std::string prog_name(uint32_t id);

// Attaches `prog_fd` at TC ingress of `ifindex` (creating the clsact
// qdisc if needed). A filter already at the handle and priority is
// replaced only with take_over and only if its program has
// filter.prog_name; otherwise throws oryx::sdk::Error naming the
// interface and the program. Returns whether it created the qdisc.
bool attach_tc(const TcFilter& filter, uint32_t ifindex, const std::string& ifname, int prog_fd,
               bool take_over);
// Removes the filter if its program is ours (by name), and the clsact
// qdisc if remove_qdisc. True if the filter was removed.
bool detach_tc(const TcFilter& filter, uint32_t ifindex, bool remove_qdisc);

}  // namespace oryx::bpf
