// SPDX-License-Identifier: Apache-2.0
// allow_list.cpp - parsing of `ports` and `addresses`.
#include "allow_list.hpp"

#include <oryx/sdk.hpp>

#include <arpa/inet.h>

#include <charconv>

namespace oryx::sockmap {
namespace {

bool parse_u32(const std::string& s, uint32_t max, uint32_t& out) {
  if (s.empty()) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size() && out <= max;
}

}  // namespace

std::vector<PortRange> parse_ports(const std::vector<std::string>& entries) {
  std::vector<PortRange> out;
  for (const auto& e : entries) {
    size_t dash = e.find('-');
    uint32_t a = 0, b = 0;
    bool ok = dash == std::string::npos
                  ? parse_u32(e, 65535, a) && (b = a, true)
                  : parse_u32(e.substr(0, dash), 65535, a) && parse_u32(e.substr(dash + 1), 65535, b);
    if (!ok || a == 0 || a > b)
      throw oryx::sdk::Error("ports: expected a port 1..65535 or a range like \"8000-8099\", found \"" +
                             e + "\"");
    out.push_back({uint16_t(a), uint16_t(b)});
  }
  return out;
}

std::vector<Prefix> parse_prefixes(const std::vector<std::string>& entries) {
  std::vector<Prefix> out;
  for (const auto& e : entries) {
    size_t slash = e.find('/');
    std::string addr = e.substr(0, slash);
    Prefix p{};
    if (inet_pton(AF_INET, addr.c_str(), p.addr) == 1) {
      p.family = 4;
      p.length = 32;
    } else if (inet_pton(AF_INET6, addr.c_str(), p.addr) == 1) {
      p.family = 6;
      p.length = 128;
    } else {
      throw oryx::sdk::Error("addresses: expected an IPv4 or IPv6 prefix like \"127.0.0.0/8\", "
                             "found \"" + e + "\"");
    }
    if (slash != std::string::npos) {
      uint32_t len = 0;
      if (!parse_u32(e.substr(slash + 1), p.length, len))
        throw oryx::sdk::Error("addresses: bad prefix length in \"" + e + "\" (at most " +
                               std::to_string(p.length) + ")");
      p.length = len;
    }
    out.push_back(p);
  }
  return out;
}

}  // namespace oryx::sockmap
