// SPDX-License-Identifier: Apache-2.0
// toml_guard.cpp - size and nesting limits in front of the TOML parser.
#include "toml_guard.hpp"

namespace oryx::kernel {

namespace {

// Length of the well-formed UTF-8 sequence at text[i] (RFC 3629: no
// overlong forms, no surrogates, nothing above U+10FFFF), or 0.
size_t utf8_sequence(const std::string& text, size_t i) {
  auto byte = [&](size_t k) { return static_cast<unsigned char>(text[k]); };
  unsigned char c = byte(i);
  if (c < 0x80) return 1;
  size_t n;
  unsigned char lo = 0x80, hi = 0xbf;  // the allowed range of the second byte
  if (c >= 0xc2 && c <= 0xdf) n = 2;
  else if (c == 0xe0) n = 3, lo = 0xa0;
  else if (c == 0xed) n = 3, hi = 0x9f;
  else if (c >= 0xe1 && c <= 0xef) n = 3;
  else if (c == 0xf0) n = 4, lo = 0x90;
  else if (c == 0xf4) n = 4, hi = 0x8f;
  else if (c >= 0xf1 && c <= 0xf3) n = 4;
  else return 0;
  if (i + n > text.size() || byte(i + 1) < lo || byte(i + 1) > hi) return 0;
  for (size_t k = 2; k < n; k++)
    if (byte(i + k) < 0x80 || byte(i + k) > 0xbf) return 0;
  return n;
}

}  // namespace

bool toml_within_limits(const std::string& text, TomlGuardError& error) {
  if (text.size() > kMaxConfigBytes) {
    error = {0, "file is " + std::to_string(text.size()) + " bytes; the limit is " +
                    std::to_string(kMaxConfigBytes)};
    return false;
  }
  // TOML is UTF-8; the parser's error path for bad bytes inside multi-line
  // strings reads past its buffer (toml11 3.7.1, found by fuzz_config).
  unsigned line = 1;
  for (size_t k = 0; k < text.size();) {
    size_t len = utf8_sequence(text, k);
    if (!len) {
      error = {line, "not UTF-8: byte " + std::to_string(k + 1) + " starts no valid character"};
      return false;
    }
    if (text[k] == '\n') line++;
    k += len;
  }
  line = 1;
  unsigned depth = 0;
  size_t i = 0, n = text.size();
  auto starts = [&](const char* s) { return text.compare(i, std::char_traits<char>::length(s), s) == 0; };
  while (i < n) {
    char c = text[i];
    if (c == '\n') {
      line++;
      i++;
    } else if (c == '#') {  // comment to the end of the line
      while (i < n && text[i] != '\n') i++;
    } else if (starts("\"\"\"") || starts("'''")) {  // multi-line string
      std::string close = text.substr(i, 3);
      bool basic = close[0] == '"';
      i += 3;
      while (i < n && !starts(close.c_str())) {
        if (text[i] == '\n') line++;
        i += (basic && text[i] == '\\') ? 2 : 1;
      }
      i += 3;
      while (i < n && text[i] == close[0]) i++;  // up to two quotes may end the content
    } else if (c == '"' || c == '\'') {  // one-line string
      i++;
      while (i < n && text[i] != c && text[i] != '\n') i += (c == '"' && text[i] == '\\') ? 2 : 1;
      i++;
    } else if (c == '[' || c == '{') {
      if (++depth > kMaxConfigNesting) {
        error = {line, "arrays and inline tables nest deeper than " +
                           std::to_string(kMaxConfigNesting) + " levels"};
        return false;
      }
      i++;
    } else if (c == ']' || c == '}') {
      if (depth) depth--;
      i++;
    } else {
      i++;
    }
  }
  return true;
}

}  // namespace oryx::kernel
