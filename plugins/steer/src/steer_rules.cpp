// SPDX-License-Identifier: Apache-2.0
// steer_rules.cpp - see steer_rules.hpp.
#include "steer_rules.hpp"

#include <cstdlib>
#include <sstream>
#include <stdexcept>

namespace oryx::steer {

namespace {

uint16_t parse_port(const std::string& text, const std::string& rule) {
  char* end = nullptr;
  unsigned long v = std::strtoul(text.c_str(), &end, 10);
  if (text.empty() || *end || v == 0 || v > 65535)
    throw std::invalid_argument("rule \"" + rule + "\": \"" + text + "\" is not a port (1-65535)");
  return uint16_t(v);
}

// "PROTO PORT[-PORT]" of `text` into `r`.
void parse_ports(const std::string& text, const std::string& proto, const std::string& ports, Rule& r) {
  if (proto == "tcp" || proto == "any") r.tcp = true;
  if (proto == "udp" || proto == "any") r.udp = true;
  if (!r.tcp && !r.udp)
    throw std::invalid_argument("rule \"" + text + "\": protocol \"" + proto + "\" is not tcp, udp or any");
  size_t dash = ports.find('-');
  r.first = parse_port(ports.substr(0, dash), text);
  r.last = dash == std::string::npos ? r.first : parse_port(ports.substr(dash + 1), text);
  if (r.last < r.first)
    throw std::invalid_argument("rule \"" + text + "\": the range " + ports + " ends before it starts");
}

}  // namespace

Rule parse_match(const std::string& text) {
  std::istringstream in(text);
  std::string proto, ports, extra;
  if (!(in >> proto >> ports) || (in >> extra))
    throw std::invalid_argument("rule \"" + text + "\": expected \"tcp|udp|any PORT[-PORT]\"");
  Rule r;
  parse_ports(text, proto, ports, r);
  return r;
}

Rule parse_rule(const std::string& text) {
  std::istringstream in(text);
  std::string proto, ports, edge, extra;
  if (!(in >> proto >> ports >> edge) || (in >> extra))
    throw std::invalid_argument("rule \"" + text + "\": expected \"tcp|udp|any PORT[-PORT] EDGE[|EDGE...]\"");
  Rule r;
  parse_ports(text, proto, ports, r);
  for (size_t start = 0;;) {
    size_t bar = edge.find('|', start);
    std::string one = edge.substr(start, bar == std::string::npos ? std::string::npos : bar - start);
    if (one.empty()) throw std::invalid_argument("rule \"" + text + "\": an empty edge name");
    r.edges.push_back(one);
    if (bar == std::string::npos) break;
    start = bar + 1;
  }
  return r;
}

RuleTable::RuleTable(const std::vector<Rule>& rules, uint16_t (*edge_of)(const std::string&, void*),
                     void* ctx)
    : tcp_(65536, 0), udp_(65536, 0) {
  for (const Rule& r : rules) {
    std::vector<uint16_t> edges;
    for (const std::string& name : r.edges) edges.push_back(edge_of(name, ctx));
    groups_.push_back(edges);
    const uint16_t group = uint16_t(groups_.size());
    auto claim = [&](std::vector<uint16_t>& table, const char* name) {
      for (uint32_t p = r.first; p <= r.last; p++) {
        if (table[p] && groups_[table[p] - 1] != edges)
          throw std::invalid_argument(std::string(name) + " port " + std::to_string(p) +
                                      " has rules for two edges");
        if (!table[p]) table[p] = group;
      }
    };
    if (r.tcp) claim(tcp_, "tcp");
    if (r.udp) claim(udp_, "udp");
  }
}

}  // namespace oryx::steer
