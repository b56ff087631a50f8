// SPDX-License-Identifier: Apache-2.0
#include "libc.hpp"

#include <dlfcn.h>

#include <cstdio>
#include <cstdlib>

namespace oryx::preload {

namespace {

template <typename F>
void resolve(F*& slot, const char* name) {
  void* f = dlsym(RTLD_NEXT, name);
  if (!f) {
    std::fprintf(stderr, "liboryx-preload: the C library has no %s\n", name);
    std::abort();
  }
  slot = reinterpret_cast<F*>(f);
}

Libc load() {
  Libc c{};
#define ORYX_RESOLVE(name) resolve(c.name, #name)
  ORYX_RESOLVE(socket); ORYX_RESOLVE(bind); ORYX_RESOLVE(listen); ORYX_RESOLVE(accept);
  ORYX_RESOLVE(accept4); ORYX_RESOLVE(connect); ORYX_RESOLVE(close); ORYX_RESOLVE(shutdown);
  ORYX_RESOLVE(read); ORYX_RESOLVE(write); ORYX_RESOLVE(readv); ORYX_RESOLVE(writev);
  ORYX_RESOLVE(recv); ORYX_RESOLVE(send); ORYX_RESOLVE(recvfrom); ORYX_RESOLVE(sendto);
  ORYX_RESOLVE(recvmsg); ORYX_RESOLVE(sendmsg); ORYX_RESOLVE(recvmmsg);
  ORYX_RESOLVE(sendmmsg); ORYX_RESOLVE(sendfile); ORYX_RESOLVE(getsockopt);
  ORYX_RESOLVE(setsockopt); ORYX_RESOLVE(getsockname); ORYX_RESOLVE(getpeername);
  ORYX_RESOLVE(fcntl); ORYX_RESOLVE(ioctl); ORYX_RESOLVE(dup); ORYX_RESOLVE(dup2);
  ORYX_RESOLVE(dup3); ORYX_RESOLVE(epoll_create); ORYX_RESOLVE(epoll_create1);
  ORYX_RESOLVE(epoll_ctl); ORYX_RESOLVE(epoll_wait); ORYX_RESOLVE(epoll_pwait);
  ORYX_RESOLVE(poll); ORYX_RESOLVE(ppoll); ORYX_RESOLVE(select); ORYX_RESOLVE(pselect);
#undef ORYX_RESOLVE
  return c;
}

}  // namespace

const Libc& libc() {
  static const Libc c = load();
  return c;
}

}  // namespace oryx::preload
