// SPDX-License-Identifier: Apache-2.0
// test_services.cpp - the ABI 1.2 service registry through the host
// function table plugins get: names are checked, a name is registered
// once, and a lookup fails closed on any other interface version; plugin
// endpoints never take a name of the kernel's own REST routes.
#include "appliance.hpp"
#include "appliance_config.hpp"
#include "rest_api.hpp"

#include <catch2/catch.hpp>

using namespace oryx::kernel;

TEST_CASE("service registry: register once, look up by exact version", "[kernel][abi]") {
  Appliance appliance(parse_config("[http]\nenabled = false\n", "test.toml"));
  const oryx_host_api* host = host_api();
  static const int iface_v1 = 1, iface_other = 2;

  REQUIRE(host->service_register("stack.socket", 1, &iface_v1) == ORYX_OK);
  CHECK(host->service_lookup("stack.socket", 1) == &iface_v1);
  CHECK(host->service_lookup("stack.socket", 2) == nullptr);  // fail closed
  CHECK(host->service_lookup("stack.sockets", 1) == nullptr);
  CHECK(host->service_lookup(nullptr, 1) == nullptr);
  // A second registration of a name, even with another version, is refused.
  CHECK(host->service_register("stack.socket", 1, &iface_other) == ORYX_ERR_INVALID);
  CHECK(host->service_register("stack.socket", 2, &iface_other) == ORYX_ERR_INVALID);
  CHECK(host->service_lookup("stack.socket", 1) == &iface_v1);

  for (const char* bad : {"", "Upper", "with space", "slash/name", "quote\"",
                          "a-name-that-is-far-too-long-to-be-a-service-name-in-any-registry-x"})
    CHECK(host->service_register(bad, 1, &iface_v1) == ORYX_ERR_INVALID);
  CHECK(host->service_register(nullptr, 1, &iface_v1) == ORYX_ERR_INVALID);
  CHECK(host->service_register("no.interface", 1, nullptr) == ORYX_ERR_INVALID);
}

TEST_CASE("service registry: nothing to register with when no kernel runs", "[kernel][abi]") {
  static const int iface = 1;
  CHECK(host_api()->service_register("orphan", 1, &iface) == ORYX_ERR_INVALID);
  CHECK(host_api()->service_lookup("orphan", 1) == nullptr);
}

namespace {
char* no_body(void*) { return nullptr; }
}  // namespace

// The REST server's route table is the one list of the kernel's endpoint
// names: a plugin cannot take one, before or after the server starts.
TEST_CASE("kernel routes: a plugin endpoint cannot shadow one", "[kernel][abi][rest]") {
  const auto config = "[http]\nlisten = \"127.0.0.1:0\"\n";
  SECTION("registered before the server starts: start-up fails and names it") {
    Appliance appliance(parse_config(config, "test.toml"));
    REQUIRE(host_api()->endpoint_register("applications", "a clash", no_body, nullptr) == ORYX_OK);
    RestServer rest(appliance);
    CHECK_THROWS_WITH(rest.start(), Catch::Contains("/api/v1/applications") &&
                                        Catch::Contains("kernel's own routes"));
  }
  SECTION("once it runs, every kernel name is refused, other names are not") {
    Appliance appliance(parse_config(config, "test.toml"));
    RestServer rest(appliance);
    rest.start();
    for (const char* name :
         {"status", "plugins", "ports", "stats", "config", "graph", "applications", "log"}) {
      INFO(name);
      CHECK(host_api()->endpoint_register(name, "a clash", no_body, nullptr) == ORYX_ERR_INVALID);
    }
    CHECK(host_api()->endpoint_register("connections", "the stack's", no_body, nullptr) == ORYX_OK);
  }
}
