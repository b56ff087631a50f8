// SPDX-License-Identifier: Apache-2.0
// share_attach.hpp - an application's side of a port share (the
// port-share plugin's service): attach over its Unix socket and get the
// interface to open by AF_XDP.
//
// The protocol: one SOCK_SEQPACKET connection per attachment. The
// application sends one JSON object,
//   {"name": "redis", "rules": ["tcp 6379"], "group": "", "default": false}
// ("rules": the destination ports it takes, "tcp|udp|any PORT[-PORT]";
// "group": processes of one group take their ports together, each new
// connection going to one of them; "default": it also takes ARP
// requests, ICMP and unclaimed ports), and
// gets one back, {"interface": "ox123a0", "mac": ..., "mtu": ..., "slot": 0,
// "service": ...} or {"error": "why"}. The connection stays open while the
// application is attached: closing it, or the process ending however it
// ends, detaches it and has everything reclaimed.
#pragma once

#include <string>
#include <vector>

namespace oryx::io {

struct ShareRequest {
  std::string socket;  // the service's Unix socket
  std::string name;    // shown in oryxd's logs and API
  std::vector<std::string> rules;
  std::string group;  // "" or the name of the processes that share the rules
  bool is_default = false;
};

struct ShareGrant {
  std::string interface, mac, service;
  unsigned slot = 0;
};

// One attachment, held for the life of the object. A child forked by the
// process does not hold it (its copy of the connection is closed in the
// child), so the parent's end still ends the attachment.
class ShareAttachment {
 public:
  ShareAttachment() = default;
  ~ShareAttachment();
  ShareAttachment(const ShareAttachment&) = delete;
  ShareAttachment& operator=(const ShareAttachment&) = delete;
  // Throws oryx::sdk::Error with oryxd's answer when refused, or why the
  // socket could not be reached (within `timeout_ms`).
  ShareGrant attach(const ShareRequest& request, int timeout_ms = 5000);

 private:
  int fd_ = -1;
};

}  // namespace oryx::io
