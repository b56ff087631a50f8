// SPDX-License-Identifier: Apache-2.0
// toml_guard.cpp - size and nesting limits in front of the TOML parser.
#include "toml_guard.hpp"

namespace oryx::kernel {

bool toml_within_limits(const std::string& text, TomlGuardError& error) {
  if (text.size() > kMaxConfigBytes) {
    error = {0, "file is " + std::to_string(text.size()) + " bytes; the limit is " +
                    std::to_string(kMaxConfigBytes)};
    return false;
  }
  unsigned line = 1, depth = 0;
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
