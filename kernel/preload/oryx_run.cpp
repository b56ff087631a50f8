// SPDX-License-Identifier: Apache-2.0
// oryx_run.cpp - `oryx run [--config FILE] -- CMD ARGS...`: checks the
// configuration, then runs CMD with liboryx-preload.so preloaded so that
// its sockets on Oryx addresses use the Oryx stack inside the process.
#include "appliance.hpp"
#include "executable_dir.hpp"
#include "logging.hpp"
#include "oryx/install_paths.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

const char* kUsage =
    "usage: oryx run [--config FILE] -- COMMAND [ARGS...]\n"
    "       oryx --help | --version\n"
    "\n"
    "Runs COMMAND unmodified with Oryx's user-space TCP/IP stack inside it:\n"
    "liboryx-preload.so is preloaded, starts the Oryx kernel described by FILE\n"
    "(ports, the stack stage and its address, the [preload] table) when the\n"
    "program first binds or connects a socket on an Oryx address, and serves\n"
    "those sockets; every other descriptor stays with the Linux kernel.\n"
    "\n"
    "  -c, --config FILE  appliance configuration (default " ORYX_DEFAULT_CONFIG ")\n"
    "  -h, --help         this text\n"
    "  -V, --version      version and plugin ABI\n"
    "\n"
    "The configuration is checked before COMMAND starts; an error names the file,\n"
    "line and key, and nothing runs. See oryx(1) and docs/compatibility.md.\n";

// The library next to this program (a build tree), else the installed one.
std::string preload_library() {
  std::string local = oryx::kernel::executable_dir() + "/liboryx-preload.so";
  return access(local.c_str(), R_OK) == 0 ? local : ORYX_PRELOAD_LIBRARY;
}

}  // namespace

int main(int argc, char** argv) {
  std::string config = ORYX_DEFAULT_CONFIG;
  if (const char* env = std::getenv("ORYX_CONFIG"); env && *env) config = env;
  int i = 1;
  if (i < argc && (!std::strcmp(argv[i], "-h") || !std::strcmp(argv[i], "--help"))) {
    std::fputs(kUsage, stdout);
    return 0;
  }
  if (i < argc && (!std::strcmp(argv[i], "-V") || !std::strcmp(argv[i], "--version"))) {
    std::printf("oryx %s (plugin ABI %d.%d)\n", ORYX_VERSION, ORYX_ABI_MAJOR, ORYX_ABI_MINOR);
    return 0;
  }
  if (i >= argc || std::strcmp(argv[i], "run") != 0) {
    std::fputs(kUsage, stderr);
    return 2;
  }
  for (i++; i < argc && std::strcmp(argv[i], "--") != 0; i++) {
    if ((!std::strcmp(argv[i], "-c") || !std::strcmp(argv[i], "--config")) && i + 1 < argc) {
      config = argv[++i];
    } else {
      std::fprintf(stderr, "oryx run: unknown option %s\n%s", argv[i], kUsage);
      return 2;
    }
  }
  if (i + 1 >= argc) {
    std::fprintf(stderr, "oryx run: no command after --\n%s", kUsage);
    return 2;
  }
  try {  // every error now rather than in the middle of the application
    oryx::kernel::logging::init("warn", {}, "");
    oryx::kernel::Appliance appliance(oryx::kernel::load_config(config));
    appliance.check();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "oryx run: %s\n", e.what());
    return 1;
  }
  std::string preload = preload_library();
#ifdef ORYX_SANITIZER_RUNTIME
  // A sanitized build's library needs the ASan runtime first in the
  // process, ahead of the C library (any program, sanitized or not).
  preload = std::string(ORYX_SANITIZER_RUNTIME) + ":" + preload;
#endif
  if (const char* old = std::getenv("LD_PRELOAD"); old && *old) preload += std::string(":") + old;
  setenv("LD_PRELOAD", preload.c_str(), 1);
  setenv("ORYX_CONFIG", config.c_str(), 1);
  execvp(argv[i + 1], argv + i + 1);
  std::fprintf(stderr, "oryx run: cannot run %s: %s\n", argv[i + 1], std::strerror(errno));
  return 127;
}
