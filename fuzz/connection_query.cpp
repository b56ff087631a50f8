// SPDX-License-Identifier: Apache-2.0
// fuzz_connection_query: any bytes as the query string of GET
// /api/v1/connections, then the selection over a fixed table. The
// contract: std::invalid_argument naming the parameter, or a page whose
// JSON text is valid.
#include "connection_table.hpp"

#include <oryx/json_text.hpp>

#include <cstdint>
#include <cstdlib>
#include <stdexcept>
#include <string>

using namespace oryx::stack;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string query(reinterpret_cast<const char*>(data), size);
  ConnectionQuery q;
  try {
    q = parse_connection_query(query);
  } catch (const std::invalid_argument& e) {
    (void)oryx::sdk::json_text({{"error", e.what()}});
    return 0;
  }
  std::vector<ConnectionRow> rows;
  for (int i = 0; i < 20; i++) {
    ConnectionRow r;
    r.proto = i % 3 ? "tcp" : "udp";
    r.tcp = r.proto == "tcp";
    r.local = "198.18.0.2:" + std::to_string(1000 + i);
    r.remote = "198.18.0." + std::to_string(i) + ":" + std::to_string(40000 + i);
    r.state = r.tcp ? (i % 2 ? "ESTABLISHED" : "TIME_WAIT") : "";
    r.send_queue = uint64_t(i) * 7;
    rows.push_back(r);
  }
  nlohmann::json page = select_connections(rows, q);
  std::string text = oryx::sdk::json_text(page);
  if (!nlohmann::json::accept(text)) std::abort();
  if (q.limit && page["connections"].size() > q.limit) std::abort();
  return 0;
}
