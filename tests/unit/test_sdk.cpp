// SPDX-License-Identifier: Apache-2.0
// test_sdk.cpp - the SDK's header-only helpers: query strings, and the
// typed Host wrapper's refusals (against oryxd's host table with no
// appliance running, where every registration fails).
#include "appliance.hpp"

#include <oryx/query.hpp>
#include <oryx/sdk.hpp>

#include <catch2/catch.hpp>

using oryx::sdk::query_param;
using oryx::sdk::url_decode;

TEST_CASE("query_param finds and decodes one variable", "[sdk]") {
  CHECK(query_param("proto=tcp&q=10.0.0.1%3A80", "q") == "10.0.0.1:80");
  CHECK(query_param("proto=tcp&q=a+b", "q") == "a b");
  CHECK(query_param("a=1&b=&c", "b") == "");
  CHECK(query_param("a=1&b=&c", "c") == "");
  CHECK_FALSE(query_param("a=1&b=2", "z").has_value());
  CHECK_FALSE(query_param("", "a").has_value());
  CHECK(query_param("x=1&x=2", "x") == "1");    // the first wins
  CHECK(query_param("limit%3D=3", "limit=") == "3");  // names are decoded too
  CHECK_FALSE(query_param("alimit=3", "limit").has_value());
}

TEST_CASE("url_decode leaves broken escapes as they are", "[sdk]") {
  CHECK(url_decode("%41%42") == "AB");
  CHECK(url_decode("100%") == "100%");
  CHECK(url_decode("%4") == "%4");
  CHECK(url_decode("%zz") == "%zz");
  CHECK(url_decode("%00x") == std::string("\0x", 2));
}

namespace {
struct Probe {
  uint32_t struct_size;
  uint32_t value;
};
}  // namespace

TEST_CASE("the typed Host throws with a message where the raw table returns a status",
          "[sdk]") {
  // No appliance runs: oryxd's table refuses every registration.
  oryx::sdk::Host host(oryx::kernel::host_api());
  Probe p{sizeof(Probe), 1};
  CHECK_THROWS_WITH(host.register_port("p0", 0, "ring"),
                    "port name 'p0' is already registered");
  CHECK_FALSE(host.find_port("p0").has_value());
  CHECK_THROWS_WITH(host.port("p0"), "'p0' is not a registered port");
  CHECK_THROWS_WITH(host.publish("probe", 1, &p),
                    "cannot publish service 'probe': the name is taken");
  CHECK(host.find<Probe>("probe", 1) == nullptr);
  CHECK_THROWS_WITH(host.kernel_table("kernel"), "the kernel has no table [kernel]");
  CHECK_THROWS_WITH(host.mbuf_pool(), "the kernel has no mbuf pool yet");
}
