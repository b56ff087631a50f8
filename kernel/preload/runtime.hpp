// SPDX-License-Identifier: Apache-2.0
// runtime.hpp - the Oryx kernel inside an application process: its
// configuration (ORYX_CONFIG, set by `oryx run`), which addresses belong
// to Oryx, and the kernel itself, started when the first socket is routed
// to Oryx and stopped when the process exits.
#pragma once

#include <oryx/socket_api.h>

#include <sys/socket.h>

#include <mutex>
#include <string>
#include <vector>

namespace oryx::preload {

class Runtime {
 public:
  static Runtime& get();

  // Routing of a socket whose fate is still open.
  bool oryx_bind(const sockaddr* addr, socklen_t len) const;     // bind(addr)
  bool oryx_connect(const sockaddr* addr, socklen_t len) const;  // connect/sendto(addr)
  bool oryx_wildcard() const { return wildcard_oryx_; }          // listen without bind

  // The socket layer, starting the kernel on first use. Exits the process
  // with a message if the kernel cannot start (an application must not
  // run half on a stack that is not there).
  const oryx_socket_api* sockets();
  // The socket layer if the kernel runs, else nullptr (never starts it).
  const oryx_socket_api* sockets_if_running() const { return api_; }
  // Puts the calling thread in the configured threading model once.
  void enter_thread(const oryx_socket_api* s);

 private:
  Runtime();
  void start_kernel();
  static void stop_kernel();

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
};

}  // namespace oryx::preload
