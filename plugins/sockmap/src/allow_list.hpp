// SPDX-License-Identifier: Apache-2.0
// allow_list.hpp - the `ports` and `addresses` keys of a sockmap service,
// parsed into what the BPF maps hold.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace oryx::sockmap {

struct PortRange {
  uint16_t first, last;
};

struct Prefix {
  int family;            // 4 or 6
  uint8_t addr[16];      // network order; IPv4 in the first 4 bytes
  uint32_t length;       // prefix length in bits
};

// "6379" or "8000-8099"; throws oryx::sdk::Error naming the key and entry.
std::vector<PortRange> parse_ports(const std::vector<std::string>& entries);
// "127.0.0.0/8", "::1/128", "198.18.0.1" (a host); throws likewise.
std::vector<Prefix> parse_prefixes(const std::vector<std::string>& entries);

}  // namespace oryx::sockmap
