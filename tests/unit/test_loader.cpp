// SPDX-License-Identifier: Apache-2.0
// test_loader.cpp - the loader refuses defective or unsafe plugins with a
// message naming the file and the reason, and initialises in order.
#include "appliance.hpp"
#include "logging.hpp"
#include "plugin_loader.hpp"

#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <sys/stat.h>

using namespace oryx::kernel;
namespace fs = std::filesystem;

namespace {

// A private directory holding copies of the given plugins.
struct PluginDir {
  fs::path path;
  explicit PluginDir(const std::vector<std::string>& variants) {
    char tmpl[] = "/tmp/oryx-loader-XXXXXX";
    path = mkdtemp(tmpl);
    chmod(path.c_str(), 0755);
    for (const auto& v : variants) {
      fs::path src = fs::path(ORYX_TEST_BROKEN_DIR) / v;
      for (const auto& f : fs::directory_iterator(src))
        fs::copy_file(f.path(), path / f.path().filename(), fs::copy_options::overwrite_existing);
    }
  }
  ~PluginDir() { fs::remove_all(path); }
};

std::string load_error(const std::vector<std::string>& dirs, bool init = false) {
  PluginLoader loader;
  try {
    loader.load(dirs, {}, {});
    if (init) loader.init_all(host_api());
  } catch (const PluginError& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("a well-formed plugin loads and initialises", "[kernel][loader]") {
  PluginDir dir({"good"});
  PluginLoader loader;
  loader.load({dir.path}, {}, {});
  REQUIRE(loader.plugins().size() == 1);
  CHECK(loader.plugins()[0].name == "testplug");
  CHECK(loader.find_stage("teststage", nullptr) != nullptr);
  loader.init_all(host_api());
  CHECK(loader.plugins()[0].state == "initialized");
  loader.fini_all();
  CHECK(loader.plugins()[0].state == "finalized");
}

TEST_CASE("defective plugins are refused with the reason", "[kernel][loader]") {
  struct Case {
    const char* variant;
    const char* message;
    bool init;
  };
  // The broken plugins claim ABI major + 1 and minor + 1 of this SDK.
  const std::string abi = std::to_string(ORYX_ABI_MAJOR) + "." + std::to_string(ORYX_ABI_MINOR);
  const std::string major_plus = std::to_string(ORYX_ABI_MAJOR + 1) + "." + std::to_string(ORYX_ABI_MINOR);
  const std::string minor_plus = std::to_string(ORYX_ABI_MAJOR) + "." + std::to_string(ORYX_ABI_MINOR + 1);
  const std::string major_message = "built for plugin ABI " + major_plus + " but this kernel speaks ABI " + abi;
  const std::string minor_message = "needs plugin ABI " + minor_plus + " but this kernel provides only " + abi;
  const Case cases[] = {
      {"no_entry", "no entry point 'oryx_plugin_entry'", false},
      {"abi_major", major_message.c_str(), false},
      {"abi_minor", minor_message.c_str(), false},
      {"init_fails", "testplug: init failed (-4): license file missing", true},
  };
  for (const auto& c : cases) {
    INFO(c.variant);
    PluginDir dir({c.variant});
    std::string err = load_error({dir.path}, c.init);
    CHECK_THAT(err, Catch::Contains(c.message));
    CHECK_THAT(err, Catch::Contains("testplug"));
  }
}

TEST_CASE("a stage name provided twice is an error", "[kernel][loader]") {
  PluginDir dir({"dup_stage"});
  std::string err = load_error({ORYX_TEST_PLUGIN_DIR, dir.path});
  CHECK_THAT(err, Catch::Contains("stage type 'port' is already provided by plugin"));
}

TEST_CASE("world-writable plugins and directories are refused", "[kernel][loader]") {
  PluginDir dir({"good"});
  fs::path so = dir.path / "testplug.so";
  chmod(so.c_str(), 0777);
  CHECK_THAT(load_error({dir.path}), Catch::Contains("testplug.so is world-writable"));
  chmod(so.c_str(), 0755);
  chmod(dir.path.c_str(), 0777);
  CHECK_THAT(load_error({dir.path}), Catch::Contains("is world-writable and insecure"));
  chmod(dir.path.c_str(), 0755);
  CHECK(load_error({dir.path}).empty());
}

TEST_CASE("wanted and disabled plugin lists are honoured", "[kernel][loader]") {
  PluginDir dir({"good"});
  {
    PluginLoader loader;
    loader.load({dir.path}, {}, {"testplug"});
    CHECK(loader.plugins().empty());
  }
  {
    PluginLoader loader;
    CHECK_THROWS_WITH(loader.load({dir.path}, {"nosuch"}, {}),
                      Catch::Contains("plugin 'nosuch' not found in plugin path (found: testplug)"));
  }
  CHECK(load_error({"/nonexistent-dir"}).empty());  // skipped with a warning
  CHECK_THAT(load_error({"/etc/passwd"}), Catch::Contains("plugin directory /etc/passwd: Not a directory"));
}
