// SPDX-License-Identifier: Apache-2.0
// test_conformance.cpp - every plugin the build produced honours the ABI:
// descriptor sizes, names, schema, counters, and a clean init/fini.
#include "appliance.hpp"
#include "config_schema.hpp"
#include "plugin_loader.hpp"

#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <set>
#include <toml.hpp>

using namespace oryx::kernel;

TEST_CASE("every built plugin conforms to the ABI", "[kernel][conformance]") {
  PluginLoader loader;
  loader.load({ORYX_TEST_PLUGIN_DIR}, {}, {});
  REQUIRE(loader.plugins().size() >= 2);  // io and xconnect at least
  for (const auto& p : loader.plugins()) {
    INFO("plugin " << p.name);
    CHECK(p.desc->struct_size == sizeof(oryx_plugin_desc));
    CHECK(p.desc->abi_major == ORYX_ABI_MAJOR);
    CHECK(p.desc->abi_minor <= ORYX_ABI_MINOR);
    CHECK(p.desc->description != nullptr);
    // Stages are optional: pdump, say, offers only a REST route and taps.
    for (const auto* s : p.stages) {
      INFO("stage " << s->name);
      CHECK(s->struct_size == sizeof(oryx_stage_desc));
      CHECK(valid_stage_name(s->name));
      CHECK(s->help != nullptr);
      CHECK(check_schema(s->params).empty());
      std::set<std::string> counters;
      for (uint32_t c = 0; c < s->counter_count; c++) {
        const auto& d = s->counters[c];
        CHECK(counters.insert(d.name).second);
        CHECK((d.kind == ORYX_COUNTER || d.kind == ORYX_GAUGE));
        CHECK(d.help != nullptr);
        CHECK(std::string(d.name) != "packets");  // kernel's own counter names
        CHECK(std::string(d.name) != "drops");
      }
    }
  }
  loader.init_all(host_api());
  for (const auto& p : loader.plugins()) CHECK(p.state == "initialized");
  loader.fini_all();
}

TEST_CASE("every in-tree plugin ships a README and a manifest", "[kernel][conformance]") {
  PluginLoader loader;
  loader.load({ORYX_TEST_PLUGIN_DIR}, {}, {});
  for (const auto& p : loader.plugins()) {
    INFO("plugin " << p.name);
    std::filesystem::path dir = std::filesystem::path(ORYX_SOURCE_DIR) / "plugins" / p.name;
    REQUIRE(std::filesystem::exists(dir / "README.md"));
    REQUIRE(std::filesystem::exists(dir / "plugin.toml"));
    // Only what the code does not declare: no name, description or
    // stage list to fall out of step with the descriptor.
    auto manifest = toml::parse((dir / "plugin.toml").string());
    for (const auto& [key, value] : manifest.as_table()) {
      INFO("key " << key);
      CHECK((key == "state" || key == "maintainer"));
    }
    auto state = toml::find<std::string>(manifest, "state");
    CHECK((state == "production" || state == "experimental" || state == "development"));
    CHECK(!toml::find<std::string>(manifest, "maintainer").empty());
  }
}

TEST_CASE("every in-tree plugin has in-process tests through the test kit",
          "[kernel][conformance]") {
  auto tree = std::filesystem::path(ORYX_SOURCE_DIR) / "plugins";
  for (const auto& entry : std::filesystem::directory_iterator(tree)) {
    if (!std::filesystem::exists(entry.path() / "plugin.toml")) continue;
    INFO("plugins/" << entry.path().filename().string() << "/tests");
    bool kit = false;
    auto tests = entry.path() / "tests";
    if (std::filesystem::exists(tests))
      for (const auto& f : std::filesystem::directory_iterator(tests)) {
        std::ifstream in(f.path());
        std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        kit |= text.find("#include <oryx/testing.hpp>") != std::string::npos;
      }
    CHECK(kit);
  }
}

TEST_CASE("every in-tree plugin is built", "[kernel][conformance]") {
  // A plugin left out of the build would otherwise escape the checks above.
  PluginLoader loader;
  loader.load({ORYX_TEST_PLUGIN_DIR}, {}, {});
  std::set<std::string> built;
  for (const auto& p : loader.plugins()) built.insert(p.name);
  auto tree = std::filesystem::path(ORYX_SOURCE_DIR) / "plugins";
  for (const auto& entry : std::filesystem::directory_iterator(tree)) {
    if (!std::filesystem::exists(entry.path() / "plugin.toml")) continue;  // a library: bpf_support, ethdev_support
    std::string name = entry.path().filename().string();
    INFO("plugins/" << name);
    CHECK(built.count(name) == 1);
  }
}
