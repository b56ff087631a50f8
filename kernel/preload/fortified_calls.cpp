// SPDX-License-Identifier: Apache-2.0
// fortified_calls.cpp - glibc's _FORTIFY_SOURCE entry points (__poll_chk,
// __read_chk, ...). Programs built with fortification (memcached, haproxy,
// most of Debian) call these instead of poll/read/recv, so they must reach
// the interposed calls too. Each checks its buffer size as glibc does.
// Fortification of this file itself would turn the calls below back into
// these functions.
#undef _FORTIFY_SOURCE
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

extern "C" {

[[noreturn]] void __chk_fail(void);

#define ORYX_EXPORT __attribute__((visibility("default")))

ORYX_EXPORT int __poll_chk(pollfd* fds, nfds_t n, int timeout, size_t fds_len) {
  if (fds_len / sizeof(*fds) < n) __chk_fail();
  return poll(fds, n, timeout);
}

ORYX_EXPORT int __ppoll_chk(pollfd* fds, nfds_t n, const timespec* ts, const sigset_t* mask,
                            size_t fds_len) {
  if (fds_len / sizeof(*fds) < n) __chk_fail();
  return ppoll(fds, n, ts, mask);
}

ORYX_EXPORT ssize_t __read_chk(int fd, void* buf, size_t len, size_t buf_len) {
  if (len > buf_len) __chk_fail();
  return read(fd, buf, len);
}

ORYX_EXPORT ssize_t __recv_chk(int fd, void* buf, size_t len, size_t buf_len, int flags) {
  if (len > buf_len) __chk_fail();
  return recv(fd, buf, len, flags);
}

ORYX_EXPORT ssize_t __recvfrom_chk(int fd, void* buf, size_t len, size_t buf_len, int flags,
                                   sockaddr* addr, socklen_t* alen) {
  if (len > buf_len) __chk_fail();
  return recvfrom(fd, buf, len, flags, addr, alen);
}

}  // extern "C"
