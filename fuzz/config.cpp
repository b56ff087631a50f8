// SPDX-License-Identifier: Apache-2.0
// fuzz_config: any bytes as appliance.toml. The contract: a ConfigInvalid
// (file, line, key, message) or a valid configuration; never a crash, a
// hang or another exception.
#include "appliance.hpp"
#include "appliance_config.hpp"
#include "logging.hpp"

#include <cstdint>
#include <cstdlib>
#include <string>

using namespace oryx::kernel;

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  logging::init("critical", {}, "");
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  std::unique_ptr<ApplianceConfig> cfg;
  try {
    cfg = parse_config(text, "fuzz.toml");
  } catch (const ConfigInvalid& e) {
    for (const auto& err : e.errors())
      if (err.file != "fuzz.toml") std::abort();  // every error names the file
    return 0;
  }
  // The plugins' side: their schemas, formats, check() and the graph.
  const char* dir = std::getenv("ORYX_FUZZ_PLUGIN_DIR");
  if (!dir) return 0;
  cfg->plugins.values["path"] = std::vector<std::string>{dir};
  cfg->plugins.values["load"] = std::vector<std::string>{};
  try {
    Appliance appliance(std::move(cfg));
    appliance.check();
  } catch (const ConfigInvalid&) {
  }
  return 0;
}
