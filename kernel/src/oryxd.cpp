// SPDX-License-Identifier: Apache-2.0
// oryxd.cpp - the Oryx appliance daemon.
#include "appliance.hpp"
#include "config_reference.hpp"
#include "logging.hpp"
#include "malloc_tuning.hpp"
#include "oryx/install_paths.h"
#include "rest_api.hpp"

#include <getopt.h>
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <iostream>

#ifndef ORYX_VERSION
#define ORYX_VERSION "0.0.0"
#endif

namespace {

void usage(FILE* out) {
  std::fprintf(out,
               "Usage: oryxd [OPTIONS]\n"
               "Run the Oryx network appliance: load plugins, build the stage graph from\n"
               "appliance.toml, run it on DPDK workers and serve the REST API and dashboard.\n"
               "\n"
               "Options:\n"
               "  -c, --config FILE        configuration file (default " ORYX_DEFAULT_CONFIG ")\n"
               "      --check-config FILE  validate FILE (plugins and graph included), print\n"
               "                           every error with file, line and key, and exit:\n"
               "                           0 if valid, 1 if not\n"
               "  -p, --plugin-dir DIR     search DIR for plugins before [plugins] path\n"
               "  -w, --webui-dir DIR      serve the dashboard from DIR instead of\n"
               "                           [http] webui_dir (e.g. a source tree's webui/)\n"
               "      --config-reference   print the configuration reference (Markdown) for\n"
               "                           the kernel and the plugins in -p DIRs, and exit\n"
               "  -h, --help               show this help and exit\n"
               "  -V, --version            show version and plugin ABI and exit\n"
               "\n"
               "Environment: oryxd adds glibc.malloc.tcache_count=16384 to GLIBC_TUNABLES\n"
               "and starts itself again (same PID) unless GLIBC_TUNABLES sets that tunable\n"
               "already or ORYX_MALLOC_TUNING=0: lwIP's segments are freed long after they\n"
               "were allocated, and glibc's default cache of 7 per size is too short.\n"
               "\n"
               "Signals: SIGINT and SIGTERM stop workers, close ports and release DPDK\n"
               "memory before exit.\n"
               "Exit status: 0 after a clean stop, 1 on a configuration or plugin error,\n"
               "2 on bad usage, 3 when start-up failed.\n");
}

volatile sig_atomic_t g_stop_signal = 0;

void on_signal(int sig) { g_stop_signal = sig; }

}  // namespace

int main(int argc, char** argv) {
  using namespace oryx::kernel;
  std::string config_file = ORYX_DEFAULT_CONFIG;
  std::vector<std::string> extra_plugin_dirs;
  std::string webui_dir;
  bool check_only = false;
  bool reference = false;

  static const option long_opts[] = {{"config", required_argument, nullptr, 'c'},
                                     {"check-config", required_argument, nullptr, 'C'},
                                     {"plugin-dir", required_argument, nullptr, 'p'},
                                     {"webui-dir", required_argument, nullptr, 'w'},
                                     {"config-reference", no_argument, nullptr, 'R'},
                                     {"help", no_argument, nullptr, 'h'},
                                     {"version", no_argument, nullptr, 'V'},
                                     {nullptr, 0, nullptr, 0}};
  int opt;
  while ((opt = getopt_long(argc, argv, "c:p:w:hV", long_opts, nullptr)) != -1) {
    switch (opt) {
      case 'c': config_file = optarg; break;
      case 'C': config_file = optarg; check_only = true; break;
      case 'p': extra_plugin_dirs.push_back(optarg); break;
      case 'w': webui_dir = optarg; break;
      case 'R': reference = true; break;
      case 'h': usage(stdout); return 0;
      case 'V':
        std::printf("oryxd %s (plugin ABI %d.%d)\n", ORYX_VERSION, ORYX_ABI_MAJOR, ORYX_ABI_MINOR);
        return 0;
      default: usage(stderr); return 2;
    }
  }
  if (optind != argc) {
    std::fprintf(stderr, "oryxd: unexpected argument '%s'\n", argv[optind]);
    usage(stderr);
    return 2;
  }

  if (reference) {
    logging::init("warn", {}, "");
    PluginLoader loader;
    try {
      loader.load(extra_plugin_dirs, {}, {});
    } catch (const std::exception& e) {
      std::fprintf(stderr, "oryxd: %s\n", e.what());
      return 1;
    }
    std::fputs(config_reference(loader).c_str(), stdout);
    return 0;
  }

  if (!check_only) tune_malloc_or_reexec(argv);

  std::unique_ptr<ApplianceConfig> cfg;
  try {
    cfg = load_config(config_file);
  } catch (const ConfigInvalid& e) {
    for (const auto& err : e.errors()) std::fprintf(stderr, "%s\n", err.str().c_str());
    std::fprintf(stderr, "oryxd: %s is invalid; nothing started\n", config_file.c_str());
    return 1;
  }
  if (!extra_plugin_dirs.empty()) {
    auto& path = std::get<std::vector<std::string>>(cfg->plugins.values["path"]);
    path.insert(path.begin(), extra_plugin_dirs.begin(), extra_plugin_dirs.end());
  }
  if (!webui_dir.empty()) cfg->http.values["webui_dir"] = webui_dir;
  logging::init(cfg->log.get_string("level"), cfg->log.get_list("loggers"),
                cfg->log.get_string("file"));
  auto log = logging::get("oryx");
  if (!check_only) log->info("{}", malloc_tuning_summary());

  std::unique_ptr<Appliance> appliance;
  try {
    appliance = std::make_unique<Appliance>(std::move(cfg));
    appliance->check();
  } catch (const ConfigInvalid& e) {
    for (const auto& err : e.errors()) std::fprintf(stderr, "%s\n", err.str().c_str());
    std::fprintf(stderr, "oryxd: %s is invalid; nothing started\n", config_file.c_str());
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "oryxd: %s\n", e.what());
    return 1;
  }
  if (check_only) {
    std::printf("%s: configuration is valid (%zu stages, %zu plugins)\n", config_file.c_str(),
                appliance->config().stages.size(), appliance->plugins_json().size());
    return 0;
  }

  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  signal(SIGPIPE, SIG_IGN);

  logging::capture_dpdk_log();
  RestServer rest(*appliance);
  try {
    appliance->start();
    if (appliance->config().http.get_bool("enabled")) rest.start();
  } catch (const std::exception& e) {
    log->critical("start-up failed: {}", e.what());
    rest.stop();
    appliance->shutdown();
    return 3;
  }
  log->info("oryxd {} running; SIGINT or SIGTERM stops it", ORYX_VERSION);
  while (!g_stop_signal) usleep(100 * 1000);
  log->info("received {}, stopping", strsignal(g_stop_signal));
  rest.stop();
  appliance->shutdown();
  return 0;
}
