// SPDX-License-Identifier: Apache-2.0
// readiness.cpp - socket readiness with Linux's meanings, and wake-ups.
//
// poll_mask follows the kernel's tcp_poll() and datagram_poll() case by
// case, so a fresh TCP socket is EPOLLOUT|EPOLLHUP, a refused connect is
// EPOLLIN|EPOLLOUT|EPOLLERR|EPOLLHUP|EPOLLRDHUP, and a listener is readable
// exactly when accept() would not block.
#include "socket_ops.hpp"

extern "C" {
#include <lwip/tcp.h>
}

#include <linux/futex.h>
#include <sys/epoll.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <climits>

namespace oryx::stack::ops {

namespace {

constexpr uint32_t kIn = EPOLLIN | EPOLLRDNORM;
constexpr uint32_t kOut = EPOLLOUT | EPOLLWRNORM;

// Linux: writable while free space is at least half of what is queued
// (sk_stream_is_writeable), i.e. a third of the buffer free, and, with
// TCP_NOTSENT_LOWAT, while fewer bytes than that wait to be sent for the
// first time (tcp_stream_memory_free).
bool tcp_writable(const Socket& s) {
  if (!s.tcp) return true;
  if (s.notsent_lowat && s.tcp->snd_lbb - s.tcp->snd_nxt >= s.notsent_lowat) return false;
  size_t free = s.tcp->snd_buf;  // tcp_sndbuf() stops at 65,535
  return free >= TCP_SND_BUF / 3 && tcp_sndqueuelen(s.tcp) < TCP_SND_QUEUELEN * 2 / 3;
}

uint32_t tcp_mask(const Socket& s) {
  if (s.phase == Phase::kListening) {
    return s.accept_queue.empty() ? 0 : kIn;
  }
  uint32_t mask = 0;
  if (s.shut == (kRcvShutdown | kSendShutdown) || s.phase == Phase::kFresh ||
      s.phase == Phase::kClosed)
    mask |= EPOLLHUP;
  if (s.shut & kRcvShutdown) mask |= kIn | EPOLLRDHUP;
  if (s.phase != Phase::kConnecting) {
    if (s.rx_bytes > 0) mask |= kIn;
    if (!(s.shut & kSendShutdown)) {
      if (tcp_writable(s)) mask |= kOut;
    } else {
      mask |= kOut;
    }
  }
  if (s.error) mask |= EPOLLERR;
  return mask;
}

uint32_t udp_mask(const Socket& s) {
  uint32_t mask = 0;
  if (s.error) mask |= EPOLLERR;
  if (s.shut & kRcvShutdown) mask |= EPOLLRDHUP | kIn;
  if (s.shut == (kRcvShutdown | kSendShutdown)) mask |= EPOLLHUP;
  if (!s.dgrams.empty()) mask |= kIn;
  return mask | kOut | EPOLLWRBAND;  // datagram_poll's "writable"
}

}  // namespace

uint32_t poll_mask(const Socket& s) { return s.is_stream() ? tcp_mask(s) : udp_mask(s); }

void publish(Socket& s, bool wake, uint32_t why) {
  uint32_t mask = poll_mask(s);
  s.events.store(mask, std::memory_order_release);
  s.readable.store(uint32_t(s.is_stream() ? s.rx_bytes
                            : s.dgrams.empty() ? 0 : s.dgrams.front().p->tot_len),
                   std::memory_order_relaxed);
  if (!wake) return;
  s.wake_seq.fetch_add(1);
  if (s.waiters.load() > 0)
    syscall(SYS_futex, &s.wake_seq, FUTEX_WAKE_PRIVATE, INT_MAX, nullptr, nullptr, 0);
  if (s.notify && s.handle >= 0) s.notify(s.notify_ctx, s.handle, mask & why);
}

int take_error(Socket& s) {
  int e = s.error;
  s.error = 0;
  publish(s, false);
  return -e;
}

}  // namespace oryx::stack::ops
