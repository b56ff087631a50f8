// SPDX-License-Identifier: Apache-2.0
// bond_details.hpp - a bond's members, their links and LACP state as the
// JSON object /api/v1/ports shows under the bond's "details".
#pragma once

#include "member_link.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace oryx::bond {

struct BondView {
  uint16_t port_id;
  std::string mode;
  std::string xmit_hash_policy;
  uint32_t link_monitoring_ms;
  std::vector<Member> members;
};

// Reads the bonding driver's state now; never stops a worker.
std::string describe_bond(const BondView& bond);

// The member whose ethdev is port_id, or "" if none.
std::string member_name(const BondView& bond, int port_id);

}  // namespace oryx::bond
