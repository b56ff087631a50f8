// SPDX-License-Identifier: Apache-2.0
// config_schema.cpp - table validation against oryx_param schemas.
#include "config_schema.hpp"

#include "value_formats.hpp"

#include <algorithm>
#include <sstream>

namespace oryx::kernel {

std::string ConfigError::str() const {
  std::ostringstream out;
  out << file << ':' << line << ": " << key << ": " << message;
  return out.str();
}

namespace {

std::string join_errors(const std::vector<ConfigError>& errors) {
  std::string s;
  for (const auto& e : errors) {
    if (!s.empty()) s += '\n';
    s += e.str();
  }
  return s;
}

size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); j++) prev[j] = j;
  for (size_t i = 1; i <= a.size(); i++) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); j++) {
      size_t subst = prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, subst});
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

const char* type_name(const toml::value& v) {
  switch (v.type()) {
    case toml::value_t::boolean: return "boolean";
    case toml::value_t::integer: return "integer";
    case toml::value_t::floating: return "float";
    case toml::value_t::string: return "string";
    case toml::value_t::array: return "array";
    case toml::value_t::table: return "table";
    case toml::value_t::offset_datetime:
    case toml::value_t::local_datetime:
    case toml::value_t::local_date:
    case toml::value_t::local_time: return "date/time";
    default: return "nothing";
  }
}

std::string describe_found(const toml::value& v) {
  std::ostringstream out;
  out << type_name(v);
  if (v.is_table()) return out.str();
  std::string text = toml::format(v);
  if (text.size() > 40) text = text.substr(0, 37) + "...";
  out << ' ' << text;
  return out.str();
}

// A value shown in a message: at most 40 bytes of it.
std::string shown(const std::string& s) {
  return "\"" + (s.size() > 40 ? s.substr(0, 37) + "..." : s) + "\"";
}

bool default_is_empty(const oryx_param& p) {
  return p.default_value && std::string(p.default_value) == "\"\"";
}

// Strings reach C APIs (interface names, paths, DPDK arguments), which
// would stop at a NUL byte and act on a different value.
const char* kNulMessage = "expected text without NUL bytes, found a string holding one";

std::vector<std::string> split_choices(const char* choices) {
  std::vector<std::string> out;
  if (!choices) return out;
  std::string s(choices);
  size_t start = 0;
  while (true) {
    size_t bar = s.find('|', start);
    out.push_back(s.substr(start, bar - start));
    if (bar == std::string::npos) break;
    start = bar + 1;
  }
  return out;
}

// Converts and checks one value; returns an error message or "".
std::string convert(const oryx_param& p, const toml::value& v, ParamValue& out) {
  switch (p.type) {
    case ORYX_PARAM_BOOL:
      if (!v.is_boolean()) return "expected boolean, found " + describe_found(v);
      out = v.as_boolean();
      return "";
    case ORYX_PARAM_INT: {
      if (!v.is_integer()) return "expected " + describe_expected(p) + ", found " + describe_found(v);
      int64_t n = v.as_integer();
      if (n < p.min || n > p.max)
        return "expected " + describe_expected(p) + ", found " + std::to_string(n);
      out = n;
      return "";
    }
    case ORYX_PARAM_STRING: {
      if (!v.is_string()) return "expected " + describe_expected(p) + ", found " + describe_found(v);
      std::string s = v.as_string().str;
      if (s.find('\0') != std::string::npos) return kNulMessage;
      if (is_format(p.choices)) {
        if (s.empty() && default_is_empty(p)) {
          out = std::move(s);
          return "";
        }
        std::string err = check_format(p.choices, s);
        if (!err.empty()) return err + (default_is_empty(p) ? " or empty" : "") + ", found " + shown(s);
        out = std::move(s);
        return "";
      }
      auto choices = split_choices(p.choices);
      if (!choices.empty() && std::find(choices.begin(), choices.end(), s) == choices.end()) {
        std::string msg = "expected " + describe_expected(p) + ", found \"" + s + "\"";
        std::string close = did_you_mean(s, choices);
        if (!close.empty()) msg += " (did you mean \"" + close + "\"?)";
        return msg;
      }
      out = std::move(s);
      return "";
    }
    case ORYX_PARAM_STRING_LIST: {
      std::vector<std::string> list;
      if (v.is_string()) {  // a single string is a one-element list
        list.push_back(v.as_string().str);
      } else if (v.is_array()) {
        for (const auto& item : v.as_array()) {
          if (!item.is_string())
            return "expected " + describe_expected(p) + ", found an element of type " +
                   type_name(item);
          list.push_back(item.as_string().str);
        }
      } else {
        return "expected " + describe_expected(p) + ", found " + describe_found(v);
      }
      for (const auto& item : list)
        if (item.find('\0') != std::string::npos) return kNulMessage;
      if (int64_t(list.size()) < p.min || int64_t(list.size()) > p.max)
        return "expected " + describe_expected(p) + ", found " + std::to_string(list.size()) +
               " entries";
      out = std::move(list);
      return "";
    }
  }
  return "schema has an unknown type";
}

bool parse_default(const oryx_param& p, ParamValue& out, std::string& error) {
  try {
    std::istringstream in("v = " + std::string(p.default_value));
    toml::value doc = toml::parse(in, "<default>");
    error = convert(p, toml::find(doc, "v"), out);
  } catch (const std::exception& e) {
    error = e.what();
  }
  return error.empty();
}

}  // namespace

ConfigInvalid::ConfigInvalid(std::vector<ConfigError> errors)
    : std::runtime_error(join_errors(errors)), errors_(std::move(errors)) {}

const oryx_param* ValidatedTable::find_param(const std::string& key) const {
  for (const oryx_param* p = schema; p && p->name; p++)
    if (key == p->name) return p;
  return nullptr;
}

std::string did_you_mean(const std::string& word, const std::vector<std::string>& candidates) {
  std::string best;
  size_t best_distance = std::max<size_t>(2, word.size() / 3) + 1;
  for (const auto& c : candidates) {
    size_t d = edit_distance(word, c);
    if (d < best_distance) {
      best_distance = d;
      best = c;
    }
  }
  return best;
}

std::string describe_expected(const oryx_param& p) {
  switch (p.type) {
    case ORYX_PARAM_BOOL: return "boolean";
    case ORYX_PARAM_INT:
      return "integer in " + std::to_string(p.min) + ".." + std::to_string(p.max);
    case ORYX_PARAM_STRING: {
      if (!p.choices) return "string";
      if (is_format(p.choices)) return describe_format(p.choices);
      std::string s = "one of ";
      for (const auto& c : split_choices(p.choices)) s += "\"" + c + "\", ";
      return s.substr(0, s.size() - 2);
    }
    case ORYX_PARAM_STRING_LIST:
      return "list of " + std::to_string(p.min) + ".." + std::to_string(p.max) + " strings";
  }
  return "?";
}

size_t schema_size(const oryx_param* schema) {
  size_t n = 0;
  while (schema && schema[n].name) n++;
  return n;
}

std::string check_schema(const oryx_param* schema) {
  std::set<std::string> seen;
  for (const oryx_param* p = schema; p && p->name; p++) {
    std::string name = p->name;
    if (name.empty()) return "a parameter has an empty name";
    if (!seen.insert(name).second) return "parameter '" + name + "' is declared twice";
    if (name == "type" || name == "next")
      return "parameter '" + name + "' is reserved for the kernel";
    if (p->type < ORYX_PARAM_BOOL || p->type > ORYX_PARAM_STRING_LIST)
      return "parameter '" + name + "' has an unknown type";
    if (!p->help || !*p->help) return "parameter '" + name + "' has no help text";
    if (is_format(p->choices) && (p->type != ORYX_PARAM_STRING || !known_format(p->choices)))
      return "parameter '" + name + "' names format " + p->choices +
             (p->type != ORYX_PARAM_STRING ? ", which only strings have" : ", which is unknown");
    bool required = p->flags & ORYX_PARAM_REQUIRED;
    if (required == (p->default_value != nullptr))
      return "parameter '" + name + "' must have exactly one of a default or REQUIRED";
    if (p->default_value) {
      ParamValue v;
      std::string err;
      if (!parse_default(*p, v, err)) return "default of '" + name + "' is invalid: " + err;
    }
  }
  return "";
}

ValidatedTable validate_table(const toml::value& table, const std::string& file,
                              const std::string& path, const oryx_param* schema,
                              const std::set<std::string>& ignored,
                              std::vector<ConfigError>& errors) {
  ValidatedTable out;
  out.file = file;
  out.path = path;
  out.schema = schema;
  out.line = table.location().line();

  std::vector<std::string> known;
  for (const oryx_param* p = schema; p && p->name; p++) known.emplace_back(p->name);

  if (table.is_table()) {
    for (const auto& [key, value] : table.as_table()) {
      if (ignored.count(key)) continue;
      const oryx_param* p = out.find_param(key);
      if (!p) {
        std::string msg = "unknown key";
        std::string close = did_you_mean(key, known);
        if (!close.empty()) msg += " (did you mean '" + close + "'?)";
        errors.push_back({file, unsigned(value.location().line()), path + "." + key, msg});
        continue;
      }
      ParamValue v;
      std::string err = convert(*p, value, v);
      if (!err.empty()) {
        errors.push_back({file, unsigned(value.location().line()), path + "." + key, err});
        continue;
      }
      out.values[key] = std::move(v);
      out.set_by_user.insert(key);
    }
  }
  for (const oryx_param* p = schema; p && p->name; p++) {
    if (out.values.count(p->name)) continue;
    // Present but refused above: one error for it is enough.
    if (table.is_table() && table.contains(p->name)) continue;
    if (p->flags & ORYX_PARAM_REQUIRED) {
      errors.push_back({file, out.line, path + "." + p->name,
                        "missing required key (expected " + describe_expected(*p) + ")"});
      continue;
    }
    ParamValue v;
    std::string err;
    if (parse_default(*p, v, err)) out.values[p->name] = std::move(v);
  }
  return out;
}

}  // namespace oryx::kernel
