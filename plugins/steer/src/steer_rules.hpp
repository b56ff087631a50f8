// SPDX-License-Identifier: Apache-2.0
// steer_rules.hpp - the steer stage's rules: which edge a TCP or UDP
// destination port goes to. A rule is "PROTO PORT[-PORT] EDGE[|EDGE...]",
// PROTO one of tcp, udp or any; several edges share the port's flows (the
// processes of one server, each with its own link).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace oryx::steer {

struct Rule {
  bool tcp = false, udp = false;
  uint16_t first = 0, last = 0;
  std::vector<std::string> edges;
};

// One rule from its text; throws std::invalid_argument saying what is
// wrong with it.
Rule parse_rule(const std::string& text);
// A rule without edges, "PROTO PORT[-PORT]" (what an application
// attaching to a port_share service claims); throws as parse_rule.
Rule parse_match(const std::string& text);

// The edges of each protocol and destination port: a port maps to a
// group (0: no rule), a group to one or more edge numbers.
class RuleTable {
 public:
  // `edge_of` maps a rule's edge name to its edge number. Throws
  // std::invalid_argument when two rules claim the same port.
  RuleTable(const std::vector<Rule>& rules, uint16_t (*edge_of)(const std::string&, void*), void* ctx);
  uint16_t tcp(uint16_t port) const { return tcp_[port]; }
  uint16_t udp(uint16_t port) const { return udp_[port]; }
  const std::vector<uint16_t>& group(uint16_t g) const { return groups_[g - 1]; }

 private:
  std::vector<uint16_t> tcp_, udp_;
  std::vector<std::vector<uint16_t>> groups_;  // one per rule
};

}  // namespace oryx::steer
