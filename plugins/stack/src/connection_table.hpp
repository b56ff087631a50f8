// SPDX-License-Identifier: Apache-2.0
// connection_table.hpp - GET /api/v1/connections: the stack's connection
// table filtered, sorted and paged on the server, so a dashboard showing
// 10,000 connections moves one page per refresh, not the whole table.
#pragma once

#include "glue.hpp"

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace oryx::stack {

struct ConnectionQuery {
  std::string proto;   // "tcp", "udp" or "" for both
  std::string state;   // a TCP state name, or ""
  std::string text;    // substring of the local or remote endpoint
  std::string sort = "local";  // a column: proto local remote state send_queue recv_queue
  bool descending = false;
  size_t offset = 0;
  size_t limit = 0;  // 0: every matching row
};

// Parses the query string; throws std::invalid_argument naming the bad
// parameter.
ConnectionQuery parse_connection_query(const std::string& query);

// {"total", "matched", "offset", "limit", "by_state": {state: n},
//  "by_proto": {proto: n}, "by_instance": {lwIP instance: {"tcp": n,
//  "udp": n, "established": n}}, "connections": [rows of the page]}.
nlohmann::ordered_json select_connections(std::vector<ConnectionRow> rows, const ConnectionQuery& q);

}  // namespace oryx::stack
