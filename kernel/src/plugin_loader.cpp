// SPDX-License-Identifier: Apache-2.0
// plugin_loader.cpp - plugin discovery, ABI checks and lifecycle.
#include "plugin_loader.hpp"

#include "appliance_config.hpp"
#include "config_schema.hpp"
#include "logging.hpp"

#include <dirent.h>
#include <dlfcn.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <functional>
#include <map>
#include <set>

namespace oryx::kernel {

namespace {

// Smallest descriptor sizes this kernel can read (ABI 1.0 layouts).
constexpr uint32_t kMinPluginDescSize = sizeof(oryx_plugin_desc);
constexpr uint32_t kMinStageDescSize = sizeof(oryx_stage_desc);

std::vector<std::string> split_csv(const char* text) {
  std::vector<std::string> out;
  if (!text) return out;
  std::string s(text), item;
  for (char c : s + ",") {
    if (c == ',') {
      if (!item.empty()) out.push_back(item);
      item.clear();
    } else if (c != ' ') {
      item += c;
    }
  }
  return out;
}

bool contains(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

}  // namespace

std::string check_plugin_path_permissions(const std::string& path) {
  struct stat st;
  if (stat(path.c_str(), &st) != 0) return "cannot stat: " + std::string(strerror(errno));
  if (st.st_mode & S_IWOTH) return "is world-writable and insecure";
  if (st.st_uid != 0 && st.st_uid != geteuid()) return "is owned by another user (uid " +
                                                       std::to_string(st.st_uid) + ")";
  // Every parent must be safe too, except sticky directories like /tmp,
  // where nobody else can rename or replace our entries.
  std::filesystem::path p = std::filesystem::absolute(path).parent_path();
  while (true) {
    if (stat(p.c_str(), &st) == 0 && (st.st_mode & S_IWOTH) && !(st.st_mode & S_ISVTX))
      return "is inside world-writable directory " + p.string();
    if (p == p.root_path() || p.empty()) break;
    p = p.parent_path();
  }
  return "";
}

PluginLoader::~PluginLoader() {
  // Handles of plugins whose init never ran can be closed; the rest stay
  // mapped until the process exits.
  for (auto& p : plugins_)
    if (p.handle && p.state == "loaded") dlclose(p.handle);
}

void PluginLoader::load(const std::vector<std::string>& dirs, const std::vector<std::string>& wanted,
                        const std::vector<std::string>& disabled) {
  auto log = logging::get("oryx");
  std::map<std::string, std::string> found;  // plugin name -> path (first dir wins)
  for (const auto& dir : dirs) {
    DIR* d = opendir(dir.c_str());
    if (!d && errno == ENOENT) {
      // Not fatal: a stage needing a plugin from it fails with its own error.
      log->warn("plugin directory {} does not exist; skipped", dir);
      continue;
    }
    if (!d) throw PluginError("plugin directory " + dir + ": " + strerror(errno));
    std::string why = check_plugin_path_permissions(dir);
    if (!why.empty()) {
      closedir(d);
      throw PluginError("plugin directory " + dir + " " + why + "; refusing to load from it");
    }
    std::vector<std::string> names;
    while (dirent* e = readdir(d)) {
      std::string n = e->d_name;
      if (n.size() > 3 && n.compare(n.size() - 3, 3, ".so") == 0) names.push_back(n);
    }
    closedir(d);
    std::sort(names.begin(), names.end());
    for (const auto& n : names) found.emplace(n.substr(0, n.size() - 3), dir + "/" + n);
  }
  for (const auto& w : wanted)
    if (!found.count(w)) {
      std::string list;
      for (const auto& [n, _] : found) list += (list.empty() ? "" : ", ") + n;
      throw PluginNotFound(w, "plugin '" + w + "' not found in plugin path (found: " +
                                  (list.empty() ? "none" : list) + ")");
    }
  for (const auto& [name, path] : found) {
    if (contains(disabled, name)) {
      log->info("plugin {} disabled by configuration, not opened", name);
      continue;
    }
    if (!wanted.empty() && !contains(wanted, name)) continue;
    open_one(path, name);
  }
}

void PluginLoader::open_one(const std::string& path, const std::string& expected_name) {
  std::string why = check_plugin_path_permissions(path);
  if (!why.empty()) throw PluginError("plugin " + path + " " + why + "; refusing to load it");

  void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!handle) throw PluginError("plugin " + path + ": dlopen failed: " + dlerror());
  auto refuse = [&](const std::string& reason) {
    dlclose(handle);
    throw PluginError("plugin " + path + ": " + reason);
  };

  auto entry = reinterpret_cast<oryx_plugin_entry_fn>(dlsym(handle, ORYX_PLUGIN_ENTRY_SYMBOL));
  if (!entry) refuse("no entry point '" ORYX_PLUGIN_ENTRY_SYMBOL "' (not an Oryx plugin?)");
  const oryx_plugin_desc* desc = entry();
  if (!desc) refuse("entry point returned no descriptor");
  if (desc->struct_size < kMinPluginDescSize)
    refuse("descriptor is " + std::to_string(desc->struct_size) + " bytes, expected at least " +
           std::to_string(kMinPluginDescSize));
  if (desc->abi_major != ORYX_ABI_MAJOR)
    refuse("built for plugin ABI " + std::to_string(desc->abi_major) + "." +
           std::to_string(desc->abi_minor) + " but this kernel speaks ABI " +
           std::to_string(ORYX_ABI_MAJOR) + "." + std::to_string(ORYX_ABI_MINOR) +
           "; rebuild the plugin against this Oryx SDK");
  if (desc->abi_minor > ORYX_ABI_MINOR)
    refuse("needs plugin ABI " + std::to_string(desc->abi_major) + "." +
           std::to_string(desc->abi_minor) + " but this kernel provides only " +
           std::to_string(ORYX_ABI_MAJOR) + "." + std::to_string(ORYX_ABI_MINOR) +
           "; upgrade Oryx or rebuild the plugin against an older SDK");
  if (!desc->name || expected_name != desc->name)
    refuse(std::string("declares name '") + (desc->name ? desc->name : "(null)") +
           "' but its file is named " + expected_name + ".so");
  if (!desc->version || !*desc->version) refuse("declares no version");

  LoadedPlugin p;
  p.name = desc->name;
  p.path = path;
  p.handle = handle;
  p.desc = desc;
  p.depends_on = split_csv(desc->depends_on);
  for (const auto& existing : plugins_)
    if (existing.name == p.name) refuse("a plugin named '" + p.name + "' is already loaded");

  for (auto s = desc->stages; s && *s; s++) {
    const oryx_stage_desc* st = *s;
    std::string sname = st->name ? st->name : "";
    if (st->struct_size < kMinStageDescSize) refuse("stage '" + sname + "' descriptor too small");
    if (sname.empty()) refuse("a stage has no name");
    if (!valid_stage_type(sname))
      refuse("stage type '" + sname + "': type names are lower_snake_case ([a-z][a-z0-9_]*, "
             "at most 48 characters)");
    if (!st->instance_create || !st->instance_destroy)
      refuse("stage '" + sname + "' lacks instance_create/instance_destroy");
    bool source = st->flags & ORYX_STAGE_SOURCE;
    if (source != (st->poll != nullptr))
      refuse("stage '" + sname + "' SOURCE flag and poll() disagree");
    bool service = st->flags & ORYX_STAGE_SERVICE;
    if (service && (st->poll || st->process))
      refuse("service '" + sname + "' has poll or process");
    if (service && desc->abi_minor < 5) refuse("service '" + sname + "' needs ABI 1.5");
    if (!service && !st->poll && !st->process)
      refuse("stage '" + sname + "' has neither poll nor process");
    std::string schema_problem = check_schema(st->params);
    if (!schema_problem.empty()) refuse("stage '" + sname + "' schema: " + schema_problem);
    for (uint32_t c = 0; c < st->counter_count; c++)
      if (!st->counters || !st->counters[c].name)
        refuse("stage '" + sname + "' declares a counter without a name");
    for (const auto& other : plugins_)
      for (const auto* os : other.stages)
        if (sname == os->name)
          refuse("stage type '" + sname + "' is already provided by plugin '" + other.name + "'");
    for (const auto* os : p.stages)
      if (sname == os->name) refuse("stage type '" + sname + "' is declared twice");
    p.stages.push_back(st);
  }
  logging::get("oryx")->info("loaded plugin {} {} (ABI {}.{}) from {}: {}", p.name,
                             desc->version, desc->abi_major, desc->abi_minor, path,
                             desc->description ? desc->description : "");
  // Its dashboard panel, held to the same ownership rules as the plugin.
  std::string panel = path.substr(0, path.size() - 3) + ".panel.js";
  if (std::filesystem::exists(panel)) {
    std::string why = check_plugin_path_permissions(panel);
    if (why.empty())
      p.panel = panel;
    else
      logging::get("oryx")->warn("panel {} {}; the dashboard leaves it out", panel, why);
  }
  plugins_.push_back(std::move(p));
}

std::vector<size_t> PluginLoader::init_order() const {
  std::map<std::string, size_t> index;
  for (size_t i = 0; i < plugins_.size(); i++) index[plugins_[i].name] = i;
  std::vector<int> mark(plugins_.size(), 0);  // 0 new, 1 visiting, 2 done
  std::vector<size_t> order;
  std::function<void(size_t)> visit = [&](size_t i) {
    if (mark[i] == 2) return;
    if (mark[i] == 1)
      throw PluginError("plugin dependency cycle through '" + plugins_[i].name + "'");
    mark[i] = 1;
    for (const auto& dep : plugins_[i].depends_on) {
      auto it = index.find(dep);
      if (it == index.end())
        throw PluginError("plugin '" + plugins_[i].name + "' depends on '" + dep +
                          "', which is not loaded");
      visit(it->second);
    }
    mark[i] = 2;
    order.push_back(i);
  };
  for (size_t i = 0; i < plugins_.size(); i++) visit(i);
  return order;
}

void PluginLoader::init_all(const oryx_host_api* host) {
  for (size_t i : init_order()) {
    LoadedPlugin& p = plugins_[i];
    if (p.desc->init) {
      char err[512] = "";
      oryx_plugin_init_args args{};
      args.struct_size = sizeof(args);
      args.host = host;
      args.logger = logging::handle(p.name);
      args.error = err;
      args.error_size = sizeof(err);
      int rc = p.desc->init(&args);
      if (rc != ORYX_OK) {
        p.state = "failed";
        std::string msg = "plugin " + p.name + ": init failed (" + std::to_string(rc) +
                          (err[0] ? "): " + std::string(err) : ")");
        fini_all();
        throw PluginError(msg);
      }
    }
    p.state = "initialized";
    initialised_.push_back(i);
  }
}

void PluginLoader::fini_all() {
  for (auto it = initialised_.rbegin(); it != initialised_.rend(); ++it) {
    LoadedPlugin& p = plugins_[*it];
    if (p.desc->fini) p.desc->fini();
    p.state = "finalized";
  }
  initialised_.clear();
}

const oryx_stage_desc* PluginLoader::find_stage(const std::string& type,
                                                const LoadedPlugin** owner) const {
  for (const auto& p : plugins_)
    for (const auto* s : p.stages)
      if (type == s->name) {
        if (owner) *owner = &p;
        return s;
      }
  return nullptr;
}

std::vector<std::string> PluginLoader::stage_types() const {
  std::vector<std::string> out;
  for (const auto& p : plugins_)
    for (const auto* s : p.stages) out.emplace_back(s->name);
  return out;
}

}  // namespace oryx::kernel
