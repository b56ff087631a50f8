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

// Scans `text` (skipping strings and comments) for nesting deeper than
// kMaxConfigNesting and for size; returns the first problem, if any.
bool toml_within_limits(const std::string& text, TomlGuardError& error);

}  // namespace oryx::kernel
