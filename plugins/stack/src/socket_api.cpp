// SPDX-License-Identifier: Apache-2.0
// socket_api.cpp - the socket layer as the C interface the stack publishes
// in the kernel's service registry (oryx/socket_api.h).
#include "socket_layer.hpp"

#include <oryx/socket_api.h>

#include <exception>

namespace oryx::stack {

namespace {

SocketLayer& L() { return SocketLayer::instance(); }

// Nothing may unwind into C callers: an exception (std::bad_alloc) becomes
// the errno Linux gives when kernel memory runs out.
template <class F>
auto guarded(F&& f) -> decltype(f()) {
  try {
    return f();
  } catch (const std::exception&) {
    return -ENOBUFS;
  }
}

const oryx_socket_api kApi = {
    sizeof(oryx_socket_api),
    [](int model) { return L().set_model(model); },
    [](int d, int t, int p) { return guarded([&] { return L().socket(d, t, p); }); },
    [](int h, const sockaddr* a, socklen_t n) { return guarded([&] { return L().bind(h, a, n); }); },
    [](int h, int backlog) { return guarded([&] { return L().listen(h, backlog); }); },
    [](int h, sockaddr* a, socklen_t* n, int f) {
      return guarded([&] { return L().accept(h, a, n, f); });
    },
    [](int h, const sockaddr* a, socklen_t n) {
      return guarded([&] { return L().connect(h, a, n); });
    },
    [](int h, const msghdr* m, int f) { return guarded([&] { return L().sendmsg(h, m, f); }); },
    [](int h, msghdr* m, int f) { return guarded([&] { return L().recvmsg(h, m, f); }); },
    [](int h, int how) { return guarded([&] { return L().shutdown(h, how); }); },
    [](int h) { return guarded([&] { return L().close(h); }); },
    [](int h, int level, int name, void* v, socklen_t* n) {
      return guarded([&] { return L().getsockopt(h, level, name, v, n); });
    },
    [](int h, int level, int name, const void* v, socklen_t n) {
      return guarded([&] { return L().setsockopt(h, level, name, v, n); });
    },
    [](int h, sockaddr* a, socklen_t* n) { return guarded([&] { return L().getsockname(h, a, n); }); },
    [](int h, sockaddr* a, socklen_t* n) { return guarded([&] { return L().getpeername(h, a, n); }); },
    [](int h, unsigned long r, void* a) { return guarded([&] { return L().ioctl(h, r, a); }); },
    [](int h) { return L().poll(h); },
    [](int h, oryx_socket_notify_fn fn, void* ctx) {
      return guarded([&] { return L().set_notify(h, fn, ctx); });
    },
    [](const sockaddr* a, socklen_t n) { return L().is_local_address(a, n); },
};

}  // namespace

const void* sockets_api() { return &kApi; }

}  // namespace oryx::stack
