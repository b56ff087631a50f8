// SPDX-License-Identifier: Apache-2.0
// toml_guard.hpp - limits checked before a configuration reaches the TOML
// parser, which recurses once per nested array or inline table: 8,000
// nested "[" overflow its stack. Real configurations nest a few levels.
#pragma once

#include <cstddef>
#include <string>

namespace oryx::kernel {

constexpr size_t kMaxConfigBytes = 1 << 20;  // 1 MiB
constexpr unsigned kMaxConfigNesting = 32;   // arrays and inline tables

struct TomlGuardError {
  unsigned line = 0;  // 0: the whole file
  std::string message;
};

// Checks `text`'s size, that it is UTF-8, and (skipping strings and
// comments) that nothing nests deeper than kMaxConfigNesting; false with
// the first problem found.
bool toml_within_limits(const std::string& text, TomlGuardError& error);

}  // namespace oryx::kernel
