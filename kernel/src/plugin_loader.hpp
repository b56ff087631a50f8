// SPDX-License-Identifier: Apache-2.0
// plugin_loader.hpp - finds, checks and opens plugins; initialises them in
// dependency order and finalises them in reverse. Plugins are never
// dlclose'd once their init ran (callbacks may still point into them).
#pragma once

#include <oryx/abi.h>

#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace oryx::kernel {

class PluginError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A plugin named in plugins.load that no directory of the path holds.
class PluginNotFound : public PluginError {
 public:
  PluginNotFound(std::string name, const std::string& what)
      : PluginError(what), name_(std::move(name)) {}
  const std::string& name() const { return name_; }

 private:
  std::string name_;
};

struct LoadedPlugin {
  std::string name;
  std::string path;
  void* handle = nullptr;
  const oryx_plugin_desc* desc = nullptr;
  std::vector<const oryx_stage_desc*> stages;
  std::vector<std::string> depends_on;
  std::string state = "loaded";  // loaded | initialized | failed | finalized
  // The plugin's dashboard panel, <name>.panel.js next to the .so, or "".
  std::string panel;
};

class PluginLoader {
 public:
  PluginLoader() = default;
  PluginLoader(const PluginLoader&) = delete;
  PluginLoader& operator=(const PluginLoader&) = delete;
  ~PluginLoader();

  // Opens every wanted plugin in `dirs`. Throws PluginError naming the file
  // and the reason on the first refusal.
  void load(const std::vector<std::string>& dirs, const std::vector<std::string>& wanted,
            const std::vector<std::string>& disabled);

  // Calls init in dependency order; on failure finalises what was
  // initialised and throws.
  void init_all(const oryx_host_api* host);
  void fini_all();

  const oryx_stage_desc* find_stage(const std::string& type, const LoadedPlugin** owner) const;
  std::vector<std::string> stage_types() const;
  const std::vector<LoadedPlugin>& plugins() const { return plugins_; }

 private:
  void open_one(const std::string& path, const std::string& expected_name);
  std::vector<size_t> init_order() const;

  std::vector<LoadedPlugin> plugins_;
  std::vector<size_t> initialised_;  // indices, in init order
};

// Refuses paths an unprivileged user could have changed. Returns "" or why.
std::string check_plugin_path_permissions(const std::string& path);

}  // namespace oryx::kernel
