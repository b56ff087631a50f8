// SPDX-License-Identifier: Apache-2.0
#include "routing.hpp"

#include "libc.hpp"
#include "option_log.hpp"
#include "runtime.hpp"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>

namespace oryx::preload {

const oryx_socket_api* stack() {
  const oryx_socket_api* s = Runtime::get().sockets();
  Runtime::get().enter_thread(s);
  return s;
}

void on_socket_woken(void* ctx, int, uint32_t events) {
  auto* entry = static_cast<FdEntry*>(ctx);
  std::lock_guard lock(entry->watch_mutex);
  for (Watcher* w : entry->watchers) w->socket_woken(entry, events);
}

namespace {

// A forked child used an Oryx socket of the process it was forked from:
// say why that fails with EBADF, once per process, on the real stderr
// (the logger may hold a lock some thread of the parent had at fork).
int refuse_inherited() {
  static std::atomic<pid_t> reported_in{0};
  pid_t self = getpid();
  if (reported_in.exchange(self) != self) {
    char text[320];
    int n = std::snprintf(text, sizeof text,
                          "liboryx-preload: pid %d: an Oryx socket of the process this one was "
                          "forked from is used here; it belongs to that process's kernel, so "
                          "calls on it fail with EBADF (closing it is fine). See "
                          "docs/compatibility.md, \"fork, exec, daemonizing\".\n",
                          int(self));
    if (n > 0) (void)libc().write(2, text, size_t(std::min<int>(n, sizeof text - 1)));
  }
  return -EBADF;
}

// Creates the socket-layer socket; `e.create_mutex` is held.
int create(FdEntry& e) {
  const oryx_socket_api* s = stack();
  int h = s->socket(e.domain, e.type | (e.nonblock ? SOCK_NONBLOCK : 0), e.protocol);
  if (h < 0) return h;
  // Options Linux accepted on the placeholder before the socket went to
  // Oryx: the application was told they succeeded, so one the socket
  // layer refuses is at least in the log.
  for (const SockOption& o : e.options)
    if (int r = s->setsockopt(h, o.level, o.name, o.value.data(), socklen_t(o.value.size())); r < 0)
      log_refused_option("setsockopt", o.level, o.name, r,
                         ", set before the socket went to Oryx (the application was told it succeeded)");
  e.options.clear();
  int r = 0;
  if (e.bound_len) r = s->bind(h, reinterpret_cast<const sockaddr*>(&e.bound), e.bound_len);
  if (r == 0 && e.backlog >= 0) r = s->listen(h, e.backlog);
  if (r < 0) {
    s->close(h);
    return r;
  }
  e.generation = Runtime::get().generation();
  e.handle = h;
  s->set_notify(h, on_socket_woken, &e);
  return 0;
}

}  // namespace

int route_to_oryx(FdEntry& e, bool now) {
  e.kind = FdEntry::kOryx;
  if (!now && !Runtime::get().sockets_if_running()) return 0;
  return ensure_created(e);
}

int ensure_created(FdEntry& e) {
  Runtime& rt = Runtime::get();
  if (e.handle >= 0) return e.generation == rt.generation() ? 0 : refuse_inherited();
  if (rt.inherited()) return refuse_inherited();
  std::lock_guard lock(e.create_mutex);
  if (e.handle >= 0) return 0;
  return create(e);
}

}  // namespace oryx::preload
