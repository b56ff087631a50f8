// SPDX-License-Identifier: Apache-2.0
// socket_calls.cpp - the interposed socket calls: route each socket to
// Oryx or the kernel, then serve Oryx sockets through the socket layer.
// Kernel descriptors cost one table test and go straight to the C library.
#include "epoll_set.hpp"
#include "fd_table.hpp"
#include "routing.hpp"
#include "libc.hpp"
#include "logging.hpp"
#include "option_log.hpp"
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
#include <algorithm>
#include <sys/sendfile.h>

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

// An fd as the calls below see it: a kernel fd ({nullptr, 0}), an Oryx
// socket usable in this process ({entry, 0}), or an Oryx socket that
// cannot be used here ({nullptr, errno}).
struct Target {
  std::shared_ptr<FdEntry> entry;
  int error = 0;
};

Target oryx_socket(int fd) {
  auto e = table().find(fd);
  if (!e || e->kind != FdEntry::kOryx) return {};
  if (int r = ensure_created(*e); r < 0) return {nullptr, -r};
  return {std::move(e), 0};
}

// A socket option the socket layer refused as unknown: the application
// gets Linux's errno for it, and the log says so once per option.
int option_result(int r, const char* call, int level, int name) {
  if (r == -ENOPROTOOPT || r == -EOPNOTSUPP) log_refused_option(call, level, name, r);
  return result(r);
}

// An Oryx socket whose socket-layer socket is still to be created.
bool deferred(const FdEntry& e) { return e.kind == FdEntry::kOryx && e.handle < 0; }

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

// Kernel fd: `kernel_call`; unusable Oryx socket: its errno; else `oryx_call(entry)`.
#define ORYX_ROUTE(fd, kernel_call, oryx_call)  \
  do {                                          \
    Target t_ = oryx_socket(fd);                \
    if (t_.error) return fail(t_.error);        \
    if (!t_.entry) return kernel_call;          \
    FdEntry& e = *t_.entry;                     \
    return oryx_call;                           \
  } while (0)

// True when `addr` cannot be bound or connected on a socket of `domain`:
// the kernel gives Linux's errno for it.
bool wrong_family(const FdEntry& e, const sockaddr* addr, socklen_t len) {
  return !addr || len < sizeof(sa_family_t) || addr->sa_family != e.domain;
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
    if (wrong_family(*e, addr, len)) return libc().bind(fd, addr, len);
    if (!Runtime::get().oryx_bind(addr, len)) {
      int r = libc().bind(fd, addr, len);
      if (r == 0) table().take(fd);  // a kernel socket from now on; a failed bind decides nothing
      return r;
    }
    if (int r = route_to_oryx(*e, false); r < 0) return fail(-r);
  }
  if (deferred(*e) && !Runtime::get().sockets_if_running()) {
    if (e->bound_len) return fail(EINVAL);  // already bound, as Linux says
    std::memcpy(&e->bound, addr, std::min<size_t>(len, sizeof(e->bound)));
    e->bound_len = std::min<socklen_t>(len, sizeof(e->bound));
    return 0;
  }
  if (int r = ensure_created(*e); r < 0) return fail(-r);
  return result(stack()->bind(e->handle, addr, len));
}

ORYX_EXPORT int listen(int fd, int backlog) {
  auto e = table().find(fd);
  if (!e || e->kind == FdEntry::kEpoll) return libc().listen(fd, backlog);
  if (e->kind == FdEntry::kUndecided) {
    if (!Runtime::get().oryx_wildcard() || e->type != SOCK_STREAM) {
      table().take(fd);
      return libc().listen(fd, backlog);
    }
    if (int r = route_to_oryx(*e, false); r < 0) return fail(-r);
  }
  if (deferred(*e) && !Runtime::get().sockets_if_running()) {
    if (e->type != SOCK_STREAM) return fail(EOPNOTSUPP);
    e->backlog = backlog < 0 ? 0 : backlog;  // a second listen changes the backlog
    return 0;
  }
  if (int r = ensure_created(*e); r < 0) return fail(-r);
  return result(stack()->listen(e->handle, backlog));
}

ORYX_EXPORT int accept4(int fd, sockaddr* addr, socklen_t* len, int flags) {
  Target t = oryx_socket(fd);
  if (t.error) return fail(t.error);
  if (!t.entry) return libc().accept4(fd, addr, len, flags);
  FdEntry& e = *t.entry;
  if (flags & ~(SOCK_NONBLOCK | SOCK_CLOEXEC)) return fail(EINVAL);
  const oryx_socket_api* s = stack();
  int h = s->accept(e.handle, addr, len, flags);
  if (h < 0) return fail(-h);
  // The accepted socket's descriptor is a duplicate of the listener's
  // placeholder: one cheap system call, where a new kernel socket costs
  // an inode and a socket each time. The two share their kernel file
  // flags, which the library tracks per descriptor itself (FdEntry).
  int placeholder = libc().fcntl(fd, (flags & SOCK_CLOEXEC) ? F_DUPFD_CLOEXEC : F_DUPFD, 0);
  if (placeholder < 0) {
    int err = errno;
    s->close(h);
    return fail(err);
  }
  auto c = std::make_shared<FdEntry>(FdEntry::kOryx);
  c->domain = e.domain;
  c->type = e.type;
  c->nonblock = flags & SOCK_NONBLOCK;
  c->handle = h;
  c->generation = Runtime::get().generation();
  s->set_notify(h, on_socket_woken, c.get());
  table().put(placeholder, std::move(c));
  return placeholder;
}

ORYX_EXPORT int accept(int fd, sockaddr* addr, socklen_t* len) {
  if (!table().ours(fd)) return libc().accept(fd, addr, len);
  return accept4(fd, addr, len, 0);
}

ORYX_EXPORT int connect(int fd, const sockaddr* addr, socklen_t len) {
  auto e = table().find(fd);
  if (!e || e->kind == FdEntry::kEpoll) return libc().connect(fd, addr, len);
  if (e->kind == FdEntry::kUndecided) {
    if (wrong_family(*e, addr, len)) return libc().connect(fd, addr, len);
    if (!Runtime::get().oryx_connect(addr, len)) {
      int r = libc().connect(fd, addr, len);
      // Connected, or on its way (EINPROGRESS): the kernel's from now on.
      // A refused or failed connect leaves the socket free to go elsewhere.
      if (r == 0 || errno == EINPROGRESS || errno == EALREADY || errno == EINTR) table().take(fd);
      return r;
    }
    if (int r = route_to_oryx(*e, true); r < 0) return fail(-r);
  }
  if (int r = ensure_created(*e); r < 0) return fail(-r);
  return result(stack()->connect(e->handle, addr, len));
}

ORYX_EXPORT int close(int fd) {
  auto e = table().take(fd);  // the Oryx socket closes with the last reference
  return libc().close(fd);
}

ORYX_EXPORT int shutdown(int fd, int how) {
  ORYX_ROUTE(fd, libc().shutdown(fd, how), result(stack()->shutdown(e.handle, how)));
}

ORYX_EXPORT ssize_t sendmsg(int fd, const msghdr* msg, int flags) {
  auto e = table().find(fd);
  // An undecided socket given a destination goes where it leads: a
  // datagram's, or a TCP Fast Open connect's (MSG_FASTOPEN).
  if (e && e->kind == FdEntry::kUndecided && msg && msg->msg_name &&
      (e->type == SOCK_DGRAM || (e->type == SOCK_STREAM && (flags & MSG_FASTOPEN)))) {
    auto* to = static_cast<sockaddr*>(msg->msg_name);
    if (wrong_family(*e, to, msg->msg_namelen) ||
        !Runtime::get().oryx_connect(to, msg->msg_namelen)) {
      table().take(fd);
      return libc().sendmsg(fd, msg, flags);
    }
    if (int r = route_to_oryx(*e, true); r < 0) return fail(-r);
  }
  ORYX_ROUTE(fd, libc().sendmsg(fd, msg, flags), oryx_send(e, msg, flags));
}

ORYX_EXPORT ssize_t sendto(int fd, const void* buf, size_t len, int flags, const sockaddr* addr,
                           socklen_t alen) {
  if (!table().ours(fd)) return libc().sendto(fd, buf, len, flags, addr, alen);
  iovec iov;
  msghdr m = one_buffer(iov, const_cast<void*>(buf), len, const_cast<sockaddr*>(addr), alen);
  return sendmsg(fd, &m, flags);
}

ORYX_EXPORT ssize_t send(int fd, const void* buf, size_t len, int flags) {
  iovec iov;
  msghdr m = one_buffer(iov, const_cast<void*>(buf), len);
  ORYX_ROUTE(fd, libc().send(fd, buf, len, flags), oryx_send(e, &m, flags));
}

ORYX_EXPORT ssize_t write(int fd, const void* buf, size_t len) {
  iovec iov;
  msghdr m = one_buffer(iov, const_cast<void*>(buf), len);
  ORYX_ROUTE(fd, libc().write(fd, buf, len), oryx_send(e, &m, 0));
}

ORYX_EXPORT ssize_t writev(int fd, const iovec* iov, int count) {
  if (!table().ours(fd)) return libc().writev(fd, iov, count);
  if (count < 0 || count > IOV_MAX) return fail(EINVAL);
  msghdr m{};
  m.msg_iov = const_cast<iovec*>(iov);
  m.msg_iovlen = size_t(count);
  ORYX_ROUTE(fd, libc().writev(fd, iov, count), oryx_send(e, &m, 0));
}

ORYX_EXPORT ssize_t recvmsg(int fd, msghdr* msg, int flags) {
  ORYX_ROUTE(fd, libc().recvmsg(fd, msg, flags), oryx_recv(e, msg, flags));
}

ORYX_EXPORT ssize_t recvfrom(int fd, void* buf, size_t len, int flags, sockaddr* addr,
                             socklen_t* alen) {
  Target t = oryx_socket(fd);
  if (t.error) return fail(t.error);
  if (!t.entry) return libc().recvfrom(fd, buf, len, flags, addr, alen);
  iovec iov;
  msghdr m = one_buffer(iov, buf, len, addr, addr && alen ? *alen : 0);
  ssize_t r = oryx_recv(*t.entry, &m, flags);
  if (r >= 0 && addr && alen) *alen = m.msg_namelen;
  return r;
}

ORYX_EXPORT ssize_t recv(int fd, void* buf, size_t len, int flags) {
  iovec iov;
  msghdr m = one_buffer(iov, buf, len);
  ORYX_ROUTE(fd, libc().recv(fd, buf, len, flags), oryx_recv(e, &m, flags));
}

ORYX_EXPORT ssize_t read(int fd, void* buf, size_t len) {
  iovec iov;
  msghdr m = one_buffer(iov, buf, len);
  ORYX_ROUTE(fd, libc().read(fd, buf, len), oryx_recv(e, &m, 0));
}

ORYX_EXPORT ssize_t readv(int fd, const iovec* iov, int count) {
  if (!table().ours(fd)) return libc().readv(fd, iov, count);
  if (count < 0 || count > IOV_MAX) return fail(EINVAL);
  msghdr m{};
  m.msg_iov = const_cast<iovec*>(iov);
  m.msg_iovlen = size_t(count);
  ORYX_ROUTE(fd, libc().readv(fd, iov, count), oryx_recv(e, &m, 0));
}

// recvmmsg/sendmmsg: one message at a time, as many as are ready (the
// first may block, like Linux's without MSG_WAITFORONE's twist).
ORYX_EXPORT int recvmmsg(int fd, mmsghdr* msgs, unsigned n, int flags, timespec* timeout) {
  if (!table().ours(fd)) return libc().recvmmsg(fd, msgs, n, flags, timeout);
  int done = 0;
  for (unsigned i = 0; i < n; i++) {
    ssize_t r = recvmsg(fd, &msgs[i].msg_hdr, done ? flags | MSG_DONTWAIT : flags & ~MSG_WAITFORONE);
    if (r < 0) return done ? done : -1;
    msgs[i].msg_len = unsigned(r);
    done++;
  }
  return done;
}

ORYX_EXPORT int sendmmsg(int fd, mmsghdr* msgs, unsigned n, int flags) {
  if (!table().ours(fd)) return libc().sendmmsg(fd, msgs, n, flags);
  int done = 0;
  for (unsigned i = 0; i < n; i++) {
    ssize_t r = sendmsg(fd, &msgs[i].msg_hdr, flags);
    if (r < 0) return done ? done : -1;
    msgs[i].msg_len = unsigned(r);
    done++;
  }
  return done;
}

// sendfile to an Oryx socket: the file is read in chunks and sent; what
// the socket did not take is given back to the file offset.
static ssize_t oryx_sendfile(FdEntry& e, int in_fd, off_t* offset, size_t count) {
  char chunk[65536];
  size_t total = 0;
  while (total < count) {
    size_t want = std::min(sizeof(chunk), count - total);
    ssize_t got = offset ? pread(in_fd, chunk, want, *offset) : libc().read(in_fd, chunk, want);
    if (got < 0) return total ? ssize_t(total) : -1;
    if (got == 0) break;
    iovec iov;
    msghdr m = one_buffer(iov, chunk, size_t(got));
    ssize_t sent = oryx_send(e, &m, total ? MSG_DONTWAIT : 0);
    if (sent < 0) {
      if (!offset) lseek(in_fd, -got, SEEK_CUR);
      return total ? ssize_t(total) : -1;
    }
    total += size_t(sent);
    if (offset) *offset += sent;
    if (sent < got) {
      if (!offset) lseek(in_fd, sent - got, SEEK_CUR);
      break;
    }
  }
  return ssize_t(total);
}

ORYX_EXPORT ssize_t sendfile(int out_fd, int in_fd, off_t* offset, size_t count) {
  ORYX_ROUTE(out_fd, libc().sendfile(out_fd, in_fd, offset, count),
             oryx_sendfile(e, in_fd, offset, count));
}

ORYX_EXPORT ssize_t sendfile64(int out_fd, int in_fd, off_t* offset, size_t count) {
  return sendfile(out_fd, in_fd, offset, count);
}

ORYX_EXPORT int setsockopt(int fd, int level, int name, const void* value, socklen_t len) {
  auto e = table().find(fd);
  if (e && e->kind == FdEntry::kOryx && !deferred(*e)) {
    if (int r = ensure_created(*e); r < 0) return fail(-r);
    return option_result(stack()->setsockopt(e->handle, level, name, value, len), "setsockopt",
                         level, name);
  }
  // Undecided or deferred: the placeholder checks the option as Linux
  // would, and it is replayed on the Oryx socket when that is created.
  int r = libc().setsockopt(fd, level, name, value, len);
  if (r == 0 && e && e->kind != FdEntry::kEpoll && value) {
    auto* p = static_cast<const char*>(value);
    e->options.push_back({level, name, std::vector<char>(p, p + len)});
  }
  return r;
}

ORYX_EXPORT int getsockopt(int fd, int level, int name, void* value, socklen_t* len) {
  if (auto entry = table().find(fd); entry && deferred(*entry))
    return libc().getsockopt(fd, level, name, value, len);  // the options it was given
  ORYX_ROUTE(fd, libc().getsockopt(fd, level, name, value, len),
             option_result(stack()->getsockopt(e.handle, level, name, value, len), "getsockopt",
                           level, name));
}

ORYX_EXPORT int getsockname(int fd, sockaddr* addr, socklen_t* len) {
  // A deferred socket answers with the address it was given, unless its
  // port is still to be chosen.
  if (auto entry = table().find(fd); entry && deferred(*entry) && entry->bound_len && addr && len &&
                                     reinterpret_cast<const sockaddr_in*>(&entry->bound)->sin_port) {
    std::memcpy(addr, &entry->bound, std::min(*len, entry->bound_len));
    *len = entry->bound_len;
    return 0;
  }
  ORYX_ROUTE(fd, libc().getsockname(fd, addr, len),
             result(stack()->getsockname(e.handle, addr, len)));
}

ORYX_EXPORT int getpeername(int fd, sockaddr* addr, socklen_t* len) {
  ORYX_ROUTE(fd, libc().getpeername(fd, addr, len),
             result(stack()->getpeername(e.handle, addr, len)));
}

ORYX_EXPORT int ioctl(int fd, unsigned long request, ...) {
  va_list ap;
  va_start(ap, request);
  void* arg = va_arg(ap, void*);
  va_end(ap);
  auto e = table().find(fd);
  if (e && e->kind == FdEntry::kOryx && (request == FIONREAD || request == FIONBIO) &&
      !(request == FIONBIO && deferred(*e))) {
    if (int r = ensure_created(*e); r < 0) return fail(-r);
    int r = stack()->ioctl(e->handle, request, arg);
    if (r == 0 && request == FIONBIO) e->nonblock = *static_cast<int*>(arg) != 0;
    return result(r);
  }
  int r = libc().ioctl(fd, request, arg);
  if (r == 0 && e && e->kind != FdEntry::kEpoll && request == FIONBIO)
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
      if (e->kind == FdEntry::kOryx && !deferred(*e)) {
        if (int r = ensure_created(*e); r < 0) return fail(-r);
        if (int r = stack()->ioctl(e->handle, FIONBIO, &nb); r < 0) return fail(-r);
      }
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
