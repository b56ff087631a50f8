// SPDX-License-Identifier: Apache-2.0
// json_table.cpp - REST answers as text tables (see json_table.hpp).
#include "json_table.hpp"

#include <algorithm>
#include <cctype>
#include <vector>

namespace oryx::kernel {

namespace {

using ojson = nlohmann::ordered_json;

bool scalar(const ojson& v) { return !v.is_object() && !v.is_array(); }

bool all_scalars(const ojson& v) {
  return std::all_of(v.begin(), v.end(), [](const ojson& e) { return scalar(e); });
}

bool table_like(const ojson& v) {
  return v.is_array() && !v.empty() &&
         std::all_of(v.begin(), v.end(), [](const ojson& e) { return e.is_object(); });
}

std::string header(const std::string& key) {
  std::string h = key;
  for (char& c : h) c = c == '_' ? '-' : char(std::toupper(static_cast<unsigned char>(c)));
  return h;
}

// What names a row in the headings of its nested tables.
std::string row_name(const ojson& row, size_t index) {
  for (const char* key : {"name", "id", "point"})
    if (row.contains(key) && scalar(row[key])) return json_cell(row[key]);
  return "#" + std::to_string(index);
}


void print_table(const ojson& items, const std::string& title, std::FILE* out) {
  // Columns in order of first appearance; nested tables set aside.
  std::vector<std::string> columns;
  std::vector<std::string> nested;
  auto add = [](std::vector<std::string>& list, const std::string& name) {
    if (std::find(list.begin(), list.end(), name) == list.end()) list.push_back(name);
  };
  for (const auto& item : items)
    for (const auto& [key, value] : item.items()) {
      if (value.is_object() && all_scalars(value)) {
        for (const auto& [sub, _] : value.items()) add(columns, key + "." + sub);
      } else if (table_like(value)) {
        add(nested, key);
      } else {
        add(columns, key);
      }
    }
  std::vector<std::vector<std::string>> rows;
  rows.emplace_back();
  for (const auto& c : columns) rows.back().push_back(header(c));
  for (const auto& item : items) {
    rows.emplace_back();
    for (const auto& c : columns) {
      size_t dot = c.find('.');
      const ojson* v = nullptr;
      if (item.contains(c)) v = &item[c];
      else if (dot != std::string::npos && item.contains(c.substr(0, dot)) &&
               item[c.substr(0, dot)].is_object() && item[c.substr(0, dot)].contains(c.substr(dot + 1)))
        v = &item[c.substr(0, dot)][c.substr(dot + 1)];
      rows.back().push_back(v ? json_cell(*v) : "");
    }
  }
  if (!title.empty()) std::fprintf(out, "%s:\n", title.c_str());
  print_text_table(rows, out);
  size_t index = 0;
  for (const auto& item : items) {
    for (const auto& key : nested)
      if (item.contains(key) && table_like(item[key])) {
        std::fprintf(out, "\n");
        print_table(item[key], row_name(item, index) + " " + key, out);
      }
    index++;
  }
}

void print_value(const ojson& j, const std::string& title, std::FILE* out) {
  if (table_like(j)) return print_table(j, title, out);
  if (j.is_array()) {
    if (!title.empty()) std::fprintf(out, "%s:%s\n", title.c_str(), j.empty() ? " (none)" : "");
    for (const auto& e : j) std::fprintf(out, "%s\n", json_cell(e).c_str());
    return;
  }
  if (!j.is_object()) {
    std::fprintf(out, "%s%s%s\n", title.c_str(), title.empty() ? "" : ": ", json_cell(j).c_str());
    return;
  }
  // Scalars first, as "key: value"; then what needs tables of its own.
  std::string prefix = title.empty() ? "" : title + ".";
  bool printed = false;
  for (const auto& [key, value] : j.items()) {
    if (scalar(value) || (value.is_array() && all_scalars(value))) {
      std::fprintf(out, "%s%s: %s\n", prefix.c_str(), key.c_str(), json_cell(value).c_str());
      printed = true;
    } else if (value.is_object() && all_scalars(value)) {
      std::string pairs;
      for (const auto& [sub, v] : value.items())
        pairs += (pairs.empty() ? "" : ", ") + sub + " " + json_cell(v);
      std::fprintf(out, "%s%s: %s\n", prefix.c_str(), key.c_str(), pairs.empty() ? "-" : pairs.c_str());
      printed = true;
    }
  }
  for (const auto& [key, value] : j.items()) {
    if (scalar(value) || (value.is_array() && all_scalars(value)) ||
        (value.is_object() && all_scalars(value)))
      continue;
    if (printed) std::fprintf(out, "\n");
    print_value(value, prefix + key, out);
    printed = true;
  }
}

}  // namespace

void print_text_table(const std::vector<std::vector<std::string>>& rows, std::FILE* out) {
  std::vector<size_t> width;
  for (const auto& r : rows)
    for (size_t i = 0; i < r.size(); i++) {
      if (width.size() <= i) width.push_back(0);
      width[i] = std::max(width[i], r[i].size());
    }
  for (const auto& r : rows) {
    std::string line;
    for (size_t i = 0; i < r.size(); i++) {
      line += r[i];
      if (i + 1 < r.size()) line += std::string(width[i] - r[i].size() + 2, ' ');
    }
    line.erase(line.find_last_not_of(' ') + 1);
    std::fprintf(out, "%s\n", line.c_str());
  }
}

std::string json_cell(const ojson& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_null()) return "-";
  if (v.is_array() && all_scalars(v)) {
    std::string out;
    for (const auto& e : v) out += (out.empty() ? "" : ",") + json_cell(e);
    return out;
  }
  return v.dump();
}

void print_json_tables(const ojson& j, std::FILE* out) { print_value(j, "", out); }

}  // namespace oryx::kernel
