// SPDX-License-Identifier: Apache-2.0
// socket_calls.cpp - the interposed socket calls: route each socket to
// Oryx or the kernel, then serve Oryx sockets through the socket layer.
// Kernel descriptors cost one table test and go straight to the C library.
#include "epoll_set.hpp"
#include "fd_table.hpp"
#include "libc.hpp"
#include "runtime.hpp"

#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdarg>
#include <cstring>

using namespace oryx::preload;

namespace {

FdTable& table() { return FdTable::get(); }

template <typename T>
T result(T r) {
  if (r < 0) {
    errno = int(-r);
    return -1;
  }
  return r;
}

int fail(int err) {
  errno = err;
  return -1;
}

// The stack's wake-up of one socket, fanned out to whoever watches it.
void on_socket_woken(void* ctx, int, uint32_t) {
  auto* entry = static_cast<FdEntry*>(ctx);
  std::lock_guard lock(entry->watch_mutex);
  for (Watcher* w : entry->watchers) w->socket_woken(entry);
}

const oryx_socket_api* stack() {
  const oryx_socket_api* s = Runtime::get().sockets();
  Runtime::get().enter_thread(s);
  return s;
}

// Moves an undecided socket onto Oryx: a socket-layer socket with the
// options set so far; the kernel socket stays as its placeholder.
int route_to_oryx(FdEntry& e) {
  const oryx_socket_api* s = stack();
  int h = s->socket(e.domain, e.type | (e.nonblock ? SOCK_NONBLOCK : 0), e.protocol);
  if (h < 0) return h;
  for (const SockOption& o : e.options)
    s->setsockopt(h, o.level, o.name, o.value.data(), socklen_t(o.value.size()));
  e.options.clear();
  e.handle = h;
  e.kind = FdEntry::kOryx;
  s->set_notify(h, on_socket_woken, &e);
  return 0;
}

// The entry of an Oryx socket, or nullptr for anything else.
std::shared_ptr<FdEntry> oryx_socket(int fd) {
  auto e = table().find(fd);
  return e && e->kind == FdEntry::kOryx ? e : nullptr;
}

ssize_t oryx_send(FdEntry& e, const msghdr* msg, int flags) {
  ssize_t r = stack()->sendmsg(e.handle, msg, flags);
  if (r == -EPIPE && !(flags & MSG_NOSIGNAL)) raise(SIGPIPE);
  return result(r);
}

ssize_t oryx_recv(FdEntry& e, msghdr* msg, int flags) {
  return result(stack()->recvmsg(e.handle, msg, flags));
}

msghdr one_buffer(iovec& iov, void* buf, size_t len, sockaddr* addr = nullptr, socklen_t alen = 0) {
  iov = {buf, len};
  msghdr m{};
  m.msg_iov = &iov;
  m.msg_iovlen = 1;
  m.msg_name = addr;
  m.msg_namelen = alen;
  return m;
}

}  // namespace

extern "C" {

#define ORYX_EXPORT __attribute__((visibility("default")))

ORYX_EXPORT int socket(int domain, int type, int protocol) {
  int fd = libc().socket(domain, type, protocol);
  int base = type & ~(SOCK_NONBLOCK | SOCK_CLOEXEC);
  bool inet = domain == AF_INET || domain == AF_INET6;
  bool known = (base == SOCK_STREAM && (protocol == 0 || protocol == IPPROTO_TCP)) ||
               (base == SOCK_DGRAM && (protocol == 0 || protocol == IPPROTO_UDP));
  if (fd >= 0 && inet && known) {
    auto e = std::make_shared<FdEntry>(FdEntry::kUndecided);
    e->domain = domain;
    e->type = base;
    e->protocol = protocol;
    e->nonblock = type & SOCK_NONBLOCK;
    table().put(fd, std::move(e));
  }
  return fd;
}

ORYX_EXPORT int bind(int fd, const sockaddr* addr, socklen_t len) {
  auto e = table().find(fd);
  if (!e || e->kind == FdEntry::kEpoll) return libc().bind(fd, addr, len);
  if (e->kind == FdEntry::kUndecided) {
    if (!Runtime::get().oryx_bind(addr, len)) {
      table().take(fd);  // a kernel socket from now on
      return libc().bind(fd, addr, len);
    }
    if (int r = route_to_oryx(*e); r < 0) return fail(-r);
  }
  return result(stack()->bind(e->handle, addr, len));
}

ORYX_EXPORT int listen(int fd, int backlog) {
  auto e = table().find(fd);
  if (!e || e->kind == FdEntry::kEpoll) return libc().listen(fd, backlog);
  if (e->kind == FdEntry::kUndecided) {
    if (!Runtime::get().oryx_wildcard()) {
      table().take(fd);
      return libc().listen(fd, backlog);
    }
    if (int r = route_to_oryx(*e); r < 0) return fail(-r);
  }
  return result(stack()->listen(e->handle, backlog));
}

ORYX_EXPORT int accept4(int fd, sockaddr* addr, socklen_t* len, int flags) {
  auto e = oryx_socket(fd);
  if (!e) return libc().accept4(fd, addr, len, flags);
  if (flags & ~(SOCK_NONBLOCK | SOCK_CLOEXEC)) return fail(EINVAL);
  const oryx_socket_api* s = stack();
  int h = s->accept(e->handle, addr, len, flags);
  if (h < 0) return fail(-h);
  int placeholder = libc().socket(e->domain, e->type | (flags & SOCK_CLOEXEC), 0);
  if (placeholder < 0) {
    int err = errno;
    s->close(h);
    return fail(err);
  }
  auto c = std::make_shared<FdEntry>(FdEntry::kOryx);
  c->domain = e->domain;
  c->type = e->type;
  c->nonblock = flags & SOCK_NONBLOCK;
  c->handle = h;
  s->set_notify(h, on_socket_woken, c.get());
  table().put(placeholder, std::move(c));
  return placeholder;
}

ORYX_EXPORT int accept(int fd, sockaddr* addr, socklen_t* len) {
  if (!oryx_socket(fd)) return libc().accept(fd, addr, len);
  return accept4(fd, addr, len, 0);
}

ORYX_EXPORT int connect(int fd, const sockaddr* addr, socklen_t len) {
  auto e = table().find(fd);
  if (!e || e->kind == FdEntry::kEpoll) return libc().connect(fd, addr, len);
  if (e->kind == FdEntry::kUndecided) {
    if (!Runtime::get().oryx_connect(addr, len)) {
      table().take(fd);
      return libc().connect(fd, addr, len);
    }
    if (int r = route_to_oryx(*e); r < 0) return fail(-r);
  }
  return result(stack()->connect(e->handle, addr, len));
}

ORYX_EXPORT int close(int fd) {
  auto e = table().take(fd);  // the Oryx socket closes with the last reference
  return libc().close(fd);
}

ORYX_EXPORT int shutdown(int fd, int how) {
  auto e = oryx_socket(fd);
  return e ? result(stack()->shutdown(e->handle, how)) : libc().shutdown(fd, how);
}

ORYX_EXPORT ssize_t sendmsg(int fd, const msghdr* msg, int flags) {
  auto e = table().find(fd);
  if (e && e->kind == FdEntry::kUndecided && e->type == SOCK_DGRAM && msg && msg->msg_name) {
    if (!Runtime::get().oryx_connect(static_cast<sockaddr*>(msg->msg_name), msg->msg_namelen)) {
      table().take(fd);
      return libc().sendmsg(fd, msg, flags);
    }
    if (int r = route_to_oryx(*e); r < 0) return fail(-r);
  }
  if (!e || e->kind != FdEntry::kOryx) return libc().sendmsg(fd, msg, flags);
  return oryx_send(*e, msg, flags);
}

ORYX_EXPORT ssize_t sendto(int fd, const void* buf, size_t len, int flags, const sockaddr* addr,
                           socklen_t alen) {
  if (!table().ours(fd)) return libc().sendto(fd, buf, len, flags, addr, alen);
  iovec iov;
  msghdr m = one_buffer(iov, const_cast<void*>(buf), len, const_cast<sockaddr*>(addr), alen);
  return sendmsg(fd, &m, flags);
}

ORYX_EXPORT ssize_t send(int fd, const void* buf, size_t len, int flags) {
  auto e = oryx_socket(fd);
  if (!e) return libc().send(fd, buf, len, flags);
  iovec iov;
  msghdr m = one_buffer(iov, const_cast<void*>(buf), len);
  return oryx_send(*e, &m, flags);
}

ORYX_EXPORT ssize_t write(int fd, const void* buf, size_t len) {
  auto e = oryx_socket(fd);
  if (!e) return libc().write(fd, buf, len);
  iovec iov;
  msghdr m = one_buffer(iov, const_cast<void*>(buf), len);
  return oryx_send(*e, &m, 0);
}

ORYX_EXPORT ssize_t writev(int fd, const iovec* iov, int count) {
  auto e = oryx_socket(fd);
  if (!e) return libc().writev(fd, iov, count);
  if (count < 0 || count > IOV_MAX) return fail(EINVAL);
  msghdr m{};
  m.msg_iov = const_cast<iovec*>(iov);
  m.msg_iovlen = size_t(count);
  return oryx_send(*e, &m, 0);
}

ORYX_EXPORT ssize_t recvmsg(int fd, msghdr* msg, int flags) {
  auto e = oryx_socket(fd);
  return e ? oryx_recv(*e, msg, flags) : libc().recvmsg(fd, msg, flags);
}

ORYX_EXPORT ssize_t recvfrom(int fd, void* buf, size_t len, int flags, sockaddr* addr,
                             socklen_t* alen) {
  auto e = oryx_socket(fd);
  if (!e) return libc().recvfrom(fd, buf, len, flags, addr, alen);
  iovec iov;
  msghdr m = one_buffer(iov, buf, len, addr, addr && alen ? *alen : 0);
  ssize_t r = oryx_recv(*e, &m, flags);
  if (r >= 0 && addr && alen) *alen = m.msg_namelen;
  return r;
}

ORYX_EXPORT ssize_t recv(int fd, void* buf, size_t len, int flags) {
  auto e = oryx_socket(fd);
  if (!e) return libc().recv(fd, buf, len, flags);
  iovec iov;
  msghdr m = one_buffer(iov, buf, len);
  return oryx_recv(*e, &m, flags);
}

ORYX_EXPORT ssize_t read(int fd, void* buf, size_t len) {
  auto e = oryx_socket(fd);
  if (!e) return libc().read(fd, buf, len);
  iovec iov;
  msghdr m = one_buffer(iov, buf, len);
  return oryx_recv(*e, &m, 0);
}

ORYX_EXPORT ssize_t readv(int fd, const iovec* iov, int count) {
  auto e = oryx_socket(fd);
  if (!e) return libc().readv(fd, iov, count);
  if (count < 0 || count > IOV_MAX) return fail(EINVAL);
  msghdr m{};
  m.msg_iov = const_cast<iovec*>(iov);
  m.msg_iovlen = size_t(count);
  return oryx_recv(*e, &m, 0);
}

ORYX_EXPORT int setsockopt(int fd, int level, int name, const void* value, socklen_t len) {
  auto e = table().find(fd);
  if (e && e->kind == FdEntry::kOryx) return result(stack()->setsockopt(e->handle, level, name, value, len));
  int r = libc().setsockopt(fd, level, name, value, len);
  if (r == 0 && e && e->kind == FdEntry::kUndecided && value) {
    auto* p = static_cast<const char*>(value);
    e->options.push_back({level, name, std::vector<char>(p, p + len)});
  }
  return r;
}

ORYX_EXPORT int getsockopt(int fd, int level, int name, void* value, socklen_t* len) {
  auto e = oryx_socket(fd);
  return e ? result(stack()->getsockopt(e->handle, level, name, value, len))
           : libc().getsockopt(fd, level, name, value, len);
}

ORYX_EXPORT int getsockname(int fd, sockaddr* addr, socklen_t* len) {
  auto e = oryx_socket(fd);
  return e ? result(stack()->getsockname(e->handle, addr, len)) : libc().getsockname(fd, addr, len);
}

ORYX_EXPORT int getpeername(int fd, sockaddr* addr, socklen_t* len) {
  auto e = oryx_socket(fd);
  return e ? result(stack()->getpeername(e->handle, addr, len)) : libc().getpeername(fd, addr, len);
}

ORYX_EXPORT int ioctl(int fd, unsigned long request, ...) {
  va_list ap;
  va_start(ap, request);
  void* arg = va_arg(ap, void*);
  va_end(ap);
  auto e = table().find(fd);
  if (e && e->kind == FdEntry::kOryx && (request == FIONREAD || request == FIONBIO)) {
    int r = stack()->ioctl(e->handle, request, arg);
    if (r == 0 && request == FIONBIO) e->nonblock = *static_cast<int*>(arg) != 0;
    return result(r);
  }
  int r = libc().ioctl(fd, request, arg);
  if (r == 0 && e && e->kind == FdEntry::kUndecided && request == FIONBIO)
    e->nonblock = *static_cast<int*>(arg) != 0;
  return r;
}

// fcntl and fcntl64 share this body (glibc maps one to the other).
static int fcntl_call(int fd, int cmd, long arg) {
  auto e = table().find(fd);
  if (!e || e->kind == FdEntry::kEpoll) {
    int r = libc().fcntl(fd, cmd, arg);
    if (r >= 0 && e && (cmd == F_DUPFD || cmd == F_DUPFD_CLOEXEC)) table().put(r, e);
    return r;
  }
  switch (cmd) {
    case F_GETFL: {
      int r = libc().fcntl(fd, F_GETFL);
      return r < 0 ? r : (e->nonblock ? r | O_NONBLOCK : r & ~O_NONBLOCK);
    }
    case F_SETFL: {
      int nb = (arg & O_NONBLOCK) != 0;
      if (e->kind == FdEntry::kOryx)
        if (int r = stack()->ioctl(e->handle, FIONBIO, &nb); r < 0) return fail(-r);
      e->nonblock = nb;
      return libc().fcntl(fd, F_SETFL, arg);
    }
    case F_DUPFD:
    case F_DUPFD_CLOEXEC: {
      int r = libc().fcntl(fd, cmd, arg);
      if (r >= 0) table().put(r, e);
      return r;
    }
    default:
      return libc().fcntl(fd, cmd, arg);  // descriptor flags, locks: the placeholder's
  }
}

ORYX_EXPORT int fcntl(int fd, int cmd, ...) {
  va_list ap;
  va_start(ap, cmd);
  long arg = va_arg(ap, long);
  va_end(ap);
  return fcntl_call(fd, cmd, arg);
}

ORYX_EXPORT int fcntl64(int fd, int cmd, ...) {
  va_list ap;
  va_start(ap, cmd);
  long arg = va_arg(ap, long);
  va_end(ap);
  return fcntl_call(fd, cmd, arg);
}

ORYX_EXPORT int dup(int fd) {
  int r = libc().dup(fd);
  if (r >= 0)
    if (auto e = table().find(fd)) table().put(r, e);
  return r;
}

ORYX_EXPORT int dup3(int fd, int target, int flags) {
  auto e = table().find(fd);
  int r = libc().dup3(fd, target, flags);
  if (r >= 0) table().put(r, e);  // replaces (and may close) what target was
  return r;
}

ORYX_EXPORT int dup2(int fd, int target) {
  if (fd == target) return libc().dup2(fd, target);
  auto e = table().find(fd);
  int r = libc().dup2(fd, target);
  if (r >= 0) table().put(r, e);
  return r;
}

}  // extern "C"
