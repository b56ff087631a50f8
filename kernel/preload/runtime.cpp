// SPDX-License-Identifier: Apache-2.0
#include "runtime.hpp"

#include "appliance.hpp"
#include "application_report.hpp"
#include "fatal_signals.hpp"
#include "logging.hpp"
#include "oryx/install_paths.h"
#include "rest_api.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sched.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>

namespace oryx::preload {

namespace {

using oryx::kernel::Appliance;
using oryx::kernel::RestServer;

// Owned here so that an exit handler can stop them in order.
std::unique_ptr<Appliance> g_appliance;
std::unique_ptr<RestServer> g_rest;

[[noreturn]] void die(const std::string& what) {
  std::fprintf(stderr, "liboryx-preload: %s\n", what.c_str());
  std::fflush(stderr);
  std::_Exit(1);
}

bool parse_prefix(const std::string& text, int family, unsigned default_bits, int& fam,
                  unsigned char* addr, unsigned& bits) {
  std::string host = text;
  bits = default_bits;
  if (size_t slash = text.find('/'); slash != std::string::npos) {
    host = text.substr(0, slash);
    bits = unsigned(std::atoi(text.c_str() + slash + 1));
  }
  fam = family;
  return inet_pton(family, host.c_str(), addr) == 1;
}

// Splits a socket address into family and raw address bytes.
bool address_of(const sockaddr* sa, socklen_t len, int& family, const unsigned char*& raw) {
  if (!sa) return false;
  if (sa->sa_family == AF_INET && len >= sizeof(sockaddr_in)) {
    family = AF_INET;
    raw = reinterpret_cast<const unsigned char*>(&reinterpret_cast<const sockaddr_in*>(sa)->sin_addr);
    return true;
  }
  if (sa->sa_family == AF_INET6 && len >= sizeof(sockaddr_in6)) {
    auto* a6 = &reinterpret_cast<const sockaddr_in6*>(sa)->sin6_addr;
    if (IN6_IS_ADDR_V4MAPPED(a6)) {
      family = AF_INET;
      raw = a6->s6_addr + 12;
    } else {
      family = AF_INET6;
      raw = a6->s6_addr;
    }
    return true;
  }
  return false;
}

bool is_wildcard(int family, const unsigned char* raw) {
  static const unsigned char zero[16] = {};
  return std::memcmp(raw, zero, family == AF_INET ? 4 : 16) == 0;
}

bool prefix_match(const unsigned char* a, const unsigned char* b, unsigned bits) {
  for (unsigned i = 0; i < bits / 8; i++)
    if (a[i] != b[i]) return false;
  if (bits % 8 == 0) return true;
  unsigned char mask = static_cast<unsigned char>(0xff << (8 - bits % 8));
  return (a[bits / 8] & mask) == (b[bits / 8] & mask);
}

}  // namespace

Runtime& Runtime::get() {
  static Runtime* runtime = new Runtime();  // lives until exit handlers ran
  return *runtime;
}

Runtime::Runtime() {
  pthread_atfork(nullptr, nullptr, &Runtime::forked_child);
  const char* file = std::getenv("ORYX_CONFIG");
  config_file_ = file && *file ? file : ORYX_DEFAULT_CONFIG;
  std::unique_ptr<oryx::kernel::ApplianceConfig> cfg;
  try {
    cfg = oryx::kernel::load_config(config_file_);
  } catch (const std::exception& e) {
    die(std::string("configuration: ") + e.what());
  }
  wildcard_oryx_ = cfg->preload.get_string("wildcard") == "oryx";
  connect_subnet_ = cfg->preload.get_string("connect") == "subnet";
  const std::string& threading = cfg->preload.get_string("threading");
  model_ = threading == "shared"              ? ORYX_SOCKET_SHARED
           : threading == "run-to-completion" ? ORYX_SOCKET_RUN_TO_COMPLETION
                                              : ORYX_SOCKET_SEPARATE_THREAD;
  // The stack stages' addresses, read before anything starts so that
  // routing never needs the kernel (whose own HTTP server opens sockets).
  for (const auto& stage : cfg->stages) {
    if (stage.type != "stack" || !stage.raw.is_table()) continue;
    const auto& t = stage.raw.as_table();
    Prefix p{};
    if (auto a = t.find("address"); a != t.end() && a->second.is_string() &&
                                    parse_prefix(a->second.as_string().str, AF_INET, 32,
                                                 p.family, p.addr, p.bits))
      interfaces_.push_back(p);
    if (auto a = t.find("ipv6"); a != t.end() && a->second.is_string() &&
                                 parse_prefix(a->second.as_string().str, AF_INET6, 64, p.family,
                                              p.addr, p.bits))
      interfaces_.push_back(p);
  }
}

bool Runtime::oryx_bind(const sockaddr* sa, socklen_t len) const {
  int family;
  const unsigned char* raw;
  if (inherited_ || !address_of(sa, len, family, raw)) return false;
  if (is_wildcard(family, raw)) return wildcard_oryx_;
  for (const Prefix& p : interfaces_)
    if (p.family == family && prefix_match(p.addr, raw, family == AF_INET ? 32 : 128)) return true;
  return false;
}

bool Runtime::oryx_connect(const sockaddr* sa, socklen_t len) const {
  if (!connect_subnet_ || inherited_) return false;
  int family;
  const unsigned char* raw;
  if (!address_of(sa, len, family, raw) || is_wildcard(family, raw)) return false;
  for (const Prefix& p : interfaces_)
    if (p.family == family && prefix_match(p.addr, raw, p.bits)) return true;
  return false;
}

const oryx_socket_api* Runtime::sockets() {
  std::call_once(started_, [this] { start_kernel(); });
  return api_;
}

void Runtime::enter_thread(const oryx_socket_api* s) {
  thread_local bool entered = false;
  if (entered) return;
  entered = true;
  if (model_ != ORYX_SOCKET_SEPARATE_THREAD) s->set_model(model_);
}

nlohmann::json Runtime::threading_json() const {
  static const char* names[] = {"separate-thread", "run-to-completion", "shared"};
  nlohmann::json out = {{"model", names[model_]}};
  if (auto* h = hosted()) out.update(h->json());
  return out;
}

void Runtime::start_kernel() {
  // DPDK pins the thread that initialises it to the main lcore; this is
  // the application's thread, so give it its CPUs back afterwards.
  cpu_set_t cpus;
  bool have_cpus = sched_getaffinity(0, sizeof(cpus), &cpus) == 0;
  sigset_t mask = fatal_signals::block();
  try {
    auto cfg = oryx::kernel::load_config(config_file_);
    oryx::kernel::logging::init(cfg->log.get_string("level"), cfg->log.get_list("loggers"),
                                cfg->log.get_string("file"));
    if (model_ == ORYX_SOCKET_SHARED) {
      // No worker thread: the application's threads poll. DPDK's main lcore
      // (and so its control threads, lwIP's and the HTTP server's) is one
      // of the CPUs the application may use, so nothing of it runs elsewhere.
      cfg->hosted_worker = true;
      if (have_cpus)
        for (int c = 0; c < CPU_SETSIZE; c++)
          if (CPU_ISSET(c, &cpus)) {
            cfg->kernel.values["main_lcore"] = int64_t(c);
            break;
          }
    }
    g_appliance = std::make_unique<Appliance>(std::move(cfg));
    g_appliance->check();
    g_appliance->start();
    g_appliance->set_application_report(application_report);
    g_rest = std::make_unique<RestServer>(*g_appliance);
    if (g_appliance->config().http.get_bool("enabled")) g_rest->start();
  } catch (const std::exception& e) {
    die(std::string("cannot start the Oryx kernel: ") + e.what());
  }
  if (have_cpus) sched_setaffinity(0, sizeof(cpus), &cpus);
  fatal_signals::restore(mask);
  owner_pid_ = getpid();
  api_ = static_cast<const oryx_socket_api*>(
      g_appliance->find_service(ORYX_SOCKET_SERVICE, ORYX_SOCKET_API_VERSION));
  if (!api_ || api_->struct_size < sizeof(oryx_socket_api))
    die("the configuration has no stack stage publishing the socket layer (" + config_file_ + ")");
  hosted_ = g_appliance->hosted_worker();
  std::atexit(stop_kernel);
  fatal_signals::arm(stop_kernel);
}

void Runtime::forked_child() {
  Runtime& r = get();
  r.generation_++;
  if (r.api_) {
    r.api_ = nullptr;  // the parent's: never touched from here
    r.hosted_ = nullptr;
    r.inherited_ = true;
    fatal_signals::disarm_in_child();
  }
  // The kernel and its REST server are the parent's, and their threads
  // did not come along: destroying them at the child's exit would stop
  // the parent's port and wait for ever on threads that are not there.
  // The child leaves them to the parent (its copy of their memory goes
  // with the child).
  (void)g_rest.release();
  (void)g_appliance.release();
}

void Runtime::stop_kernel() {
  if (getpid() != Runtime::get().owner_pid_) return;  // a forked child's exit
  // Once, whether from exit or from a fatal signal's reaper.
  static std::mutex stopping;
  std::lock_guard lock(stopping);
  Runtime::get().api_ = nullptr;
  Runtime::get().hosted_ = nullptr;
  if (g_rest) g_rest->stop();
  if (g_appliance) g_appliance->shutdown();
}

}  // namespace oryx::preload
