// SPDX-License-Identifier: Apache-2.0
// app_link.hpp - the veth pair an attached application gets: the host
// end (where the port share's TC program sends the application's frames
// on to the uplink) and the application end (whose XDP hook its stack
// takes by AF_XDP), both in oryxd's namespace, created and deleted with
// libnl-route.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace oryx::share {

struct AppLinkSpec {
  std::string host, app;  // interface names
  std::string alias;      // the host end's alias: how leftovers are found
  std::string mac;        // the application end's MAC: the uplink's
  unsigned mtu = 1500;
};

// Creates the pair, up, IPv6 off on both ends (the kernel must not speak
// on them: its router solicitations would leave by the uplink). Returns
// the two ifindexes {host, app}. Throws oryx::sdk::Error on failure (and
// leaves nothing behind).
std::pair<uint32_t, uint32_t> create_app_link(const AppLinkSpec& spec);

// Deletes a link (its veth peer goes with it); false if absent.
bool delete_link(const std::string& name);

// Links of this namespace whose alias is `alias` (a killed oryxd's).
std::vector<std::string> links_with_alias(const std::string& alias);

}  // namespace oryx::share
