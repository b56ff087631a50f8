// SPDX-License-Identifier: Apache-2.0
// attachment.hpp - putting the bridge's program on an interface's XDP or
// TC ingress hook and taking it off again. Attachments are netlink ones:
// they outlive a killed oryxd (the bridge keeps forwarding), and a later
// oryxd recognises them by program name, replaces its own and refuses to
// touch anyone else's.
#pragma once

#include <cstdint>
#include <string>

namespace oryx::bridge {

enum class Hook { xdp, tc };
const char* hook_name(Hook hook);

// The names the BPF object gives its programs.
inline constexpr const char* kXdpProgName = "oryx_br_xdp";
inline constexpr const char* kTcProgName = "oryx_br_tc";

// Attaches at XDP (generic: skb mode, else native). With take_over, a
// bridge program already there (left by this instance's killed
// predecessor) is replaced; any other program, or a bridge program
// without take_over (another bridge's), makes it throw oryx::sdk::Error
// naming the interface and the program.
void attach_xdp(uint32_t ifindex, const std::string& ifname, int prog_fd, bool generic,
                bool take_over);
// Removes the XDP program if it is ours (by name). True if one was removed.
bool detach_xdp(uint32_t ifindex);

// Attaches at TC ingress (creating the clsact qdisc if needed) at the
// bridge's handle and priority, replacing a bridge filter there only with
// take_over. Returns whether it created the qdisc. Throws as attach_xdp.
bool attach_tc(uint32_t ifindex, const std::string& ifname, int prog_fd, bool take_over);
// Removes the filter if it is ours, and the clsact qdisc if remove_qdisc.
bool detach_tc(uint32_t ifindex, bool remove_qdisc);

}  // namespace oryx::bridge
