// SPDX-License-Identifier: Apache-2.0
// query.hpp - one variable of a REST route's query string (what follows
// '?', as oryx_http_request.query holds it), URL-decoded. Header-only, so
// a plugin needs no HTTP library for it.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace oryx::sdk {

namespace detail {
inline int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}
}  // namespace detail

// "%41+b" -> "A b". A '%' not followed by two hex digits stays as it is.
inline std::string url_decode(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); i++) {
    char c = text[i];
    if (c == '+') {
      out += ' ';
    } else if (c == '%' && i + 2 < text.size() && detail::hex_digit(text[i + 1]) >= 0 &&
               detail::hex_digit(text[i + 2]) >= 0) {
      out += char(detail::hex_digit(text[i + 1]) * 16 + detail::hex_digit(text[i + 2]));
      i += 2;
    } else {
      out += c;
    }
  }
  return out;
}

// The decoded value of the first `name=value` of `query`, or nothing when
// the query does not name it ("a=1&b=&c": b is "", c is "").
inline std::optional<std::string> query_param(std::string_view query, std::string_view name) {
  while (!query.empty()) {
    size_t amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    size_t eq = pair.find('=');
    if (url_decode(pair.substr(0, eq)) == name)
      return eq == std::string_view::npos ? std::string() : url_decode(pair.substr(eq + 1));
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  return std::nullopt;
}

}  // namespace oryx::sdk
