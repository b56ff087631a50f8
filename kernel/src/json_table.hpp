// SPDX-License-Identifier: Apache-2.0
// json_table.hpp - any REST answer as text, for oryxctl: a plugin's route
// is shown without oryxctl knowing the plugin. Keys keep the order the
// server wrote them in (a plugin that answers with nlohmann::ordered_json
// chooses its columns' order).
#pragma once

#include <nlohmann/json.hpp>

#include <cstdio>
#include <string>
#include <vector>

namespace oryx::kernel {

// Prints `j`: scalars as "key: value" lines; arrays of objects as tables,
// one row per element, an object of scalars inside an element flattened
// to "key.sub" columns; an array of objects inside an element is printed
// after the table, as "<element's name> <key>:" and a table of its own.
void print_json_tables(const nlohmann::ordered_json& j, std::FILE* out);

// Rows of cells in columns two spaces apart, the first row the header.
void print_text_table(const std::vector<std::vector<std::string>>& rows, std::FILE* out);

// One value as a table cell: strings as they are, null as "-", arrays of
// scalars joined with ",".
std::string json_cell(const nlohmann::ordered_json& v);

}  // namespace oryx::kernel
