// SPDX-License-Identifier: Apache-2.0
// runtime.hpp - the Oryx kernel inside an application process: its
// configuration (ORYX_CONFIG, set by `oryx run`), which addresses belong
// to Oryx, and the kernel itself, started when the first socket is routed
// to Oryx and stopped when the process exits.
//
// The kernel belongs to the process that started it. A child forked from
// that process gets a new generation: sockets it inherited from the
// parent's stack are unusable in it (EBADF), its new sockets stay on the
// kernel, and it never stops the parent's kernel (it shares its hugepage
// memory). A child forked before any kernel ran starts its own on first
// use, which is what lets nginx's master/worker model work.
#pragma once

#include <oryx/socket_api.h>

#include <nlohmann/json.hpp>

#include <sys/socket.h>

#include <mutex>
#include <string>
#include <vector>

namespace oryx::kernel {
class HostedWorker;
}

namespace oryx::preload {

class Runtime {
 public:
  static Runtime& get();

  // Routing of a socket whose fate is still open.
  bool oryx_bind(const sockaddr* addr, socklen_t len) const;     // bind(addr)
  bool oryx_connect(const sockaddr* addr, socklen_t len) const;  // connect/sendto(addr)
  bool oryx_wildcard() const { return wildcard_oryx_ && !inherited_; }  // listen without bind

  // The socket layer, starting the kernel on first use. Exits the process
  // with a message if the kernel cannot start (an application must not
  // run half on a stack that is not there).
  const oryx_socket_api* sockets();
  // The socket layer if the kernel runs, else nullptr (never starts it).
  const oryx_socket_api* sockets_if_running() const { return api_; }
  // Changes in every forked child; socket-layer handles are valid only in
  // the generation that created them.
  unsigned generation() const { return generation_; }
  // This process was forked from one whose kernel runs: it cannot start one.
  bool inherited() const { return inherited_; }
  // Puts the calling thread in the configured threading model once.
  void enter_thread(const oryx_socket_api* s);
  int model() const { return model_; }
  // The kernel's hosted worker (shared model, kernel running), else nullptr.
  oryx::kernel::HostedWorker* hosted() const { return hosted_; }
  // The threading model and, in the shared model, what each thread did.
  nlohmann::json threading_json() const;

 private:
  Runtime();
  void start_kernel();
  static void stop_kernel();
  static void forked_child();

  struct Prefix {
    int family;
    unsigned char addr[16];
    unsigned bits;
  };
  std::string config_file_;
  std::vector<Prefix> interfaces_;
  bool wildcard_oryx_ = true;
  bool connect_subnet_ = true;
  int model_ = ORYX_SOCKET_SEPARATE_THREAD;
  std::once_flag started_;
  const oryx_socket_api* api_ = nullptr;
  oryx::kernel::HostedWorker* hosted_ = nullptr;  // retired, never freed, after stop
  pid_t owner_pid_ = 0;  // the process running the kernel
  unsigned generation_ = 0;
  bool inherited_ = false;
};

}  // namespace oryx::preload
