// SPDX-License-Identifier: Apache-2.0
#include "http_access.hpp"

#include <arpa/inet.h>

namespace oryx::kernel {

bool listens_beyond_loopback(const std::string& listen) {
  size_t colon = listen.rfind(':');
  if (colon == std::string::npos) return true;  // a bare port: every address
  std::string host = listen.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    in6_addr a6{};
    return !(inet_pton(AF_INET6, host.substr(1, host.size() - 2).c_str(), &a6) == 1 &&
             IN6_IS_ADDR_LOOPBACK(&a6));
  }
  in_addr a4{};
  if (inet_pton(AF_INET, host.c_str(), &a4) != 1) return host != "localhost";
  return (ntohl(a4.s_addr) >> 24) != 127;
}

bool constant_time_equal(const std::string& a, const std::string& b) {
  if (a.size() != b.size()) return false;
  unsigned char diff = 0;
  for (size_t i = 0; i < a.size(); i++) diff |= static_cast<unsigned char>(a[i] ^ b[i]);
  return diff == 0;
}

}  // namespace oryx::kernel
