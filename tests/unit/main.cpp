// SPDX-License-Identifier: Apache-2.0
// main.cpp - Catch2 runner; kernel logging quiet unless ORYX_TEST_LOG is set.
#define CATCH_CONFIG_RUNNER
#include "logging.hpp"

#include <catch2/catch.hpp>

#include <cstdlib>

int main(int argc, char** argv) {
  const char* level = std::getenv("ORYX_TEST_LOG");
  oryx::kernel::logging::init(level ? level : "error", {}, "");
  return Catch::Session().run(argc, argv);
}
