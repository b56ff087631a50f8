// SPDX-License-Identifier: Apache-2.0
// value_formats.cpp - parameter value formats.
#include "value_formats.hpp"

#include <oryx/abi.h>

#include <arpa/inet.h>
#include <net/if.h>

#include <cctype>
#include <cstdint>

namespace oryx::kernel {

namespace {

bool ipv4(const std::string& s) {
  in_addr a;
  return inet_pton(AF_INET, s.c_str(), &a) == 1;
}

bool ipv6(const std::string& s) {
  in6_addr a;
  return inet_pton(AF_INET6, s.c_str(), &a) == 1;
}

bool ipv4_prefix(const std::string& s) {
  size_t slash = s.find('/');
  if (slash == std::string::npos || !ipv4(s.substr(0, slash))) return false;
  std::string len = s.substr(slash + 1);
  if (len.empty() || len.size() > 2) return false;
  for (char c : len)
    if (!std::isdigit(static_cast<unsigned char>(c))) return false;
  return std::stoi(len) <= 32;
}

bool mac(const std::string& s) {
  if (s.size() != 17) return false;
  for (size_t i = 0; i < s.size(); i++) {
    bool colon = i % 3 == 2;
    if (colon ? s[i] != ':' : !std::isxdigit(static_cast<unsigned char>(s[i]))) return false;
  }
  return true;
}

// As the kernel's dev_valid_name(): shorter than IFNAMSIZ, not "." or "..",
// no '/', ':' or white space.
bool ifname(const std::string& s) {
  if (s.empty() || s.size() >= IFNAMSIZ || s == "." || s == "..") return false;
  for (char c : s)
    if (c == '/' || c == ':' || std::isspace(static_cast<unsigned char>(c)) || !std::isprint(static_cast<unsigned char>(c)))
      return false;
  return true;
}

// A name that is safe as one path component (DPDK's runtime directory,
// file prefixes): no separator, no "..", nothing hidden.
bool safe_name(const std::string& s) {
  if (s.empty() || s.size() > 64 || s[0] == '.') return false;
  for (char c : s)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '-' && c != '.') return false;
  return true;
}

struct Format {
  const char* name;
  bool (*valid)(const std::string&);
  const char* description;
};

constexpr Format kFormats[] = {
    {ORYX_FORMAT_IPV4, ipv4, "IPv4 address (198.18.0.1)"},
    {ORYX_FORMAT_IPV4_PREFIX, ipv4_prefix, "IPv4 address with prefix length (198.18.0.2/24)"},
    {ORYX_FORMAT_IPV6, ipv6, "IPv6 address (2001:db8::10)"},
    {ORYX_FORMAT_MAC, mac, "MAC address (02:00:00:00:00:01)"},
    {ORYX_FORMAT_IFNAME, ifname,
     "interface name (1-15 characters, no '/', ':' or white space)"},
    {ORYX_FORMAT_NAME, safe_name,
     "name of 1-64 letters, digits, '_', '-' or '.', not starting with '.'"},
};

const Format* find(const std::string& format) {
  for (const auto& f : kFormats)
    if (format == f.name) return &f;
  return nullptr;
}

}  // namespace

bool known_format(const std::string& format) { return find(format) != nullptr; }

std::string check_format(const std::string& format, const std::string& value) {
  const Format* f = find(format);
  if (!f) return "the schema names an unknown format " + format;
  return f->valid(value) ? "" : "expected " + std::string(f->description);
}

std::string describe_format(const std::string& format) {
  const Format* f = find(format);
  return f ? f->description : "string";
}

}  // namespace oryx::kernel
