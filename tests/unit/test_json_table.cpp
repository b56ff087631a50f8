// SPDX-License-Identifier: Apache-2.0
// test_json_table.cpp - oryxctl's rendering of any endpoint's answer.
#include "json_table.hpp"

#include <catch2/catch.hpp>

#include <cstdio>
#include <string>

namespace {

std::string render(const std::string& text) {
  char* buf = nullptr;
  size_t size = 0;
  std::FILE* out = open_memstream(&buf, &size);
  oryx::kernel::print_json_tables(nlohmann::ordered_json::parse(text), out);
  std::fclose(out);
  std::string s(buf, size);
  std::free(buf);
  return s;
}

}  // namespace

TEST_CASE("scalars print as key: value, arrays of objects as tables", "[oryxctl]") {
  CHECK(render(R"({"total": 2, "states": ["a", "b"], "rows": [
                   {"proto": "tcp", "local_port": 80, "state": null},
                   {"proto": "udp", "local_port": 53, "extra": true}]})") ==
        "total: 2\n"
        "states: a,b\n"
        "\n"
        "rows:\n"
        "PROTO  LOCAL-PORT  STATE  EXTRA\n"
        "tcp    80          -\n"
        "udp    53                 true\n");
}

TEST_CASE("objects of scalars flatten into columns; nested tables follow their row",
          "[oryxctl]") {
  CHECK(render(R"({"bridges": [{"name": "br", "counters": {"rx": 5, "tx": 7},
                   "ports": [{"name": "p1"}, {"name": "p2"}]}]})") ==
        "bridges:\n"
        "NAME  COUNTERS.RX  COUNTERS.TX\n"
        "br    5            7\n"
        "\n"
        "br ports:\n"
        "NAME\n"
        "p1\n"
        "p2\n");
}

TEST_CASE("an empty list and a bare value", "[oryxctl]") {
  CHECK(render(R"({"entries": [], "truncated": false})") == "entries: \ntruncated: false\n");
  CHECK(render("42") == "42\n");
}
