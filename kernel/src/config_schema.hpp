// SPDX-License-Identifier: Apache-2.0
// config_schema.hpp - validation of one TOML table against an oryx_param
// schema, producing typed values and errors that name file, line and key.
#pragma once

#include <oryx/abi.h>

#include <toml.hpp>

#include <cstdint>
#include <map>
#include <set>
#include <stdexcept>
#include <string>
#include <variant>
#include <vector>

namespace oryx::kernel {

struct ConfigError {
  std::string file;
  unsigned line = 0;
  std::string key;      // dotted key path, e.g. "stage.p0.burst"
  std::string message;  // "expected ..., found ..."
  std::string str() const;
};

// Thrown when a configuration cannot be used; carries every error found.
class ConfigInvalid : public std::runtime_error {
 public:
  explicit ConfigInvalid(std::vector<ConfigError> errors);
  const std::vector<ConfigError>& errors() const { return errors_; }

 private:
  std::vector<ConfigError> errors_;
};

using ParamValue = std::variant<bool, int64_t, std::string, std::vector<std::string>>;

// A table checked against its schema, with defaults filled in.
struct ValidatedTable {
  std::string file;
  std::string path;  // "kernel", "stage.p0"
  unsigned line = 0;
  const oryx_param* schema = nullptr;
  std::map<std::string, ParamValue> values;
  std::set<std::string> set_by_user;

  bool get_bool(const std::string& key) const { return std::get<bool>(values.at(key)); }
  int64_t get_int(const std::string& key) const { return std::get<int64_t>(values.at(key)); }
  const std::string& get_string(const std::string& key) const {
    return std::get<std::string>(values.at(key));
  }
  const std::vector<std::string>& get_list(const std::string& key) const {
    return std::get<std::vector<std::string>>(values.at(key));
  }
  const oryx_param* find_param(const std::string& key) const;
};

// Closest candidate within a small edit distance, or "" if none is close.
std::string did_you_mean(const std::string& word, const std::vector<std::string>& candidates);

// A short human description of what the schema accepts ("integer in 1..256").
std::string describe_expected(const oryx_param& p);

// Validates `table` against `schema`. Keys in `ignored` are skipped (the
// kernel's own keys inside stage tables). Errors are appended to `errors`.
ValidatedTable validate_table(const toml::value& table, const std::string& file,
                              const std::string& path, const oryx_param* schema,
                              const std::set<std::string>& ignored,
                              std::vector<ConfigError>& errors);

// Number of entries in a NULL-name-terminated schema.
size_t schema_size(const oryx_param* schema);

// Checks a schema itself (used on plugin load): names unique and set, types
// known, defaults parse and fit. Returns "" or the first problem found.
std::string check_schema(const oryx_param* schema);

}  // namespace oryx::kernel

// The opaque config handle the ABI hands to plugins.
struct oryx_config : oryx::kernel::ValidatedTable {};
