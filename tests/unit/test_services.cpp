// SPDX-License-Identifier: Apache-2.0
// test_services.cpp - the ABI 1.2 service registry through the host
// function table plugins get: names are checked, a name is registered
// once, and a lookup fails closed on any other interface version.
#include "appliance.hpp"
#include "appliance_config.hpp"

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
