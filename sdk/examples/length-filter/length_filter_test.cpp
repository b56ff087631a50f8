// SPDX-License-Identifier: Apache-2.0
// length_filter_test.cpp - the example's stage tested in-process with the
// plugin test kit (oryx/testing.hpp): no root, no hugepages, no oryxd.
#include <oryx/testing.hpp>

#include <catch2/catch.hpp>

using oryx::testing::Frame;
using oryx::testing::Harness;

namespace {

constexpr const char* kSplit = R"(
[stage.wire]
type = "port"
driver = "ring"
next = "split"

[stage.split]
type = "length_filter"
max_length = 100
next = ["short", "long"]

[stage.short]
type = "port"
driver = "null"

[stage.long]
type = "port"
driver = "null"
)";

Frame of_length(size_t bytes) {
  Frame f = Frame().ether().ipv4("198.18.0.1", "198.18.0.2").udp(1, 2);
  return f.payload(std::string(bytes - f.bytes().size(), 'x'));
}

}  // namespace

TEST_CASE("length_filter splits packets at max_length and counts both", "[length_filter]") {
  Harness h({"length_filter", "io"}, kSplit);
  auto out = h.process("split", {of_length(60), of_length(100), of_length(101), of_length(1500)});
  CHECK(out.edge(0) == "short");
  CHECK(out.edge(1) == "short");
  CHECK(out.edge(2) == "long");
  CHECK(out.edge(3) == "long");
  CHECK(out.bytes(3) == of_length(1500).bytes());
  CHECK(h.counter("split", "short") == 2);
  CHECK(h.counter("split", "long") == 2);
}

TEST_CASE("length_filter with one edge drops long packets, counted", "[length_filter]") {
  Harness h({"length_filter", "io"}, R"(
[stage.wire]
type = "port"
driver = "ring"
next = "split"
[stage.split]
type = "length_filter"
max_length = 100
next = ["wire"]
)");
  auto out = h.process("split", {of_length(64), of_length(200)});
  CHECK(out.edge(0) == "wire");
  CHECK(out.edge(1) == "drop");
  CHECK(h.counter("split", "drops") == 1);
  CHECK(h.counter("split", "long") == 1);
}

TEST_CASE("length_filter refuses a max_length out of range, by line and key",
          "[length_filter]") {
  std::string bad = kSplit;
  bad.replace(bad.find("max_length = 100"), 16, "max_length = 10");
  CHECK_THROWS_WITH(Harness({"length_filter", "io"}, bad),
                    "test.toml:9: stage.split.max_length: expected integer in 60..9000, "
                    "found 10");
}
