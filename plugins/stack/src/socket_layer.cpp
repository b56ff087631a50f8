// SPDX-License-Identifier: Apache-2.0
// socket_layer.cpp - handles, the hand-over to stack context, and the
// blocking half of every call (waiting on the socket's futex word with
// SO_RCVTIMEO/SO_SNDTIMEO deadlines, MSG_WAITALL, partial sends).
#include "socket_layer.hpp"

#include "instance.hpp"
#include "socket_ops.hpp"

#include <oryx/socket_api.h>

#include <linux/futex.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <climits>
#include <cstring>

namespace oryx::stack {

namespace {

thread_local int t_model = ORYX_SOCKET_SEPARATE_THREAD;
constexpr unsigned kCommandBurst = 64;
constexpr int kSpinRounds = 4000;  // ~20 µs of polling before sleeping
constexpr int kMinSpinRounds = 16;  // what a thread whose spins never pay keeps
constexpr unsigned kProbeInterval = 64;  // at that floor, calls per hand-off that probes the worker
constexpr int64_t kSpinWaitUs = 200;  // run-to-completion: spinning before sleeping

int64_t steady_us() {
  using namespace std::chrono;
  return duration_cast<microseconds>(steady_clock::now().time_since_epoch()).count();
}

int64_t deadline_after(int64_t timeout_us) { return timeout_us ? steady_us() + timeout_us : 0; }

long futex(std::atomic<uint32_t>* word, int op, uint32_t val, const timespec* timeout) {
  return syscall(SYS_futex, reinterpret_cast<uint32_t*>(word), op, val, timeout, nullptr, 0);
}

}  // namespace

struct SocketLayer::Command {
  void (*invoke)(void* fn);
  void* fn;
  std::atomic<uint32_t> done{0};
};

SocketLayer& SocketLayer::instance() {
  static SocketLayer* layer = new SocketLayer();  // lives as long as lwIP: the process
  return *layer;
}

void SocketLayer::attach(const CommandRing& ring, uint64_t* counters, const SharedHooks& hooks,
                         Instance& lwip) {
  CoreLock lock(lwip);
  if (ring_.ring) return;  // the first stack stage's ring serves the process
  lwip_ = &lwip;
  ring_ = ring;
  counters_ = counters;
  hooks_ = hooks;
  ops::set_counters(counters);
}

void SocketLayer::set_running(bool running) {
  running_.store(running);
  if (!running) run_commands();  // nobody else will
}

void SocketLayer::run_commands() {
  if (!ring_.ring) return;
  void* items[kCommandBurst];
  unsigned n = ring_.dequeue(ring_.ring, items, kCommandBurst);
  if (n == 0) return;
  {
    CoreLock lock(*lwip_);
    for (unsigned i = 0; i < n; i++) {
      auto* cmd = static_cast<Command*>(items[i]);
      cmd->invoke(cmd->fn);
    }
  }
  for (unsigned i = 0; i < n; i++) {
    auto* cmd = static_cast<Command*>(items[i]);
    cmd->done.store(1, std::memory_order_release);
    futex(&cmd->done, FUTEX_WAKE_PRIVATE, 1, nullptr);
  }
}

void SocketLayer::submit(Command& cmd) {
  // Spin while spinning pays: a worker on a CPU of its own answers within
  // microseconds, but one that shares ours (or sleeps) cannot run while we
  // spin. The budget halves each time the worker did not answer in time and
  // doubles back when it did, per thread. At the floor the hand-off itself
  // does not pay either (we end up running the call ourselves, after a
  // ring trip and a wake-up): the call runs here, and one in
  // kProbeInterval still goes to the worker to see whether it answers again.
  thread_local int spin_budget = kSpinRounds;
  thread_local unsigned calls = 0;
  if (spin_budget == kMinSpinRounds && ++calls % kProbeInterval != 0) {
    CoreLock lock(*lwip_);
    cmd.invoke(cmd.fn);
    return;
  }
  if (!ring_.enqueue(ring_.ring, &cmd)) {  // ring full: do it ourselves
    CoreLock lock(*lwip_);
    cmd.invoke(cmd.fn);
    return;
  }
  for (int i = 0; i < spin_budget; i++) {
    if (cmd.done.load(std::memory_order_acquire)) {
      spin_budget = std::min(kSpinRounds, spin_budget * 2);
      return;
    }
    __builtin_ia32_pause();
  }
  spin_budget = std::max(kMinSpinRounds, spin_budget / 2);
  // The worker did not get to it: it may be asleep (adaptive idle) or
  // stopped. Run what is queued ourselves under the core lock; if the
  // worker took our command meanwhile, wait for it to finish.
  const timespec slice{0, 1000 * 1000};
  while (!cmd.done.load(std::memory_order_acquire)) {
    run_commands();
    if (cmd.done.load(std::memory_order_acquire)) break;
    futex(&cmd.done, FUTEX_WAIT_PRIVATE, 0, &slice);
  }
}

// Frames a call queued leave with the thread's next wait (a walk), so an
// event loop's replies go out in one burst and one kick of the port; a
// full burst goes at once, and the keeper sends what waits longer than its
// grace period (a thread that sends, then computes).
void SocketLayer::flush() {
  if (hooks_.tx_queued(hooks_.tx_ring) >= hooks_.burst) hooks_.worker_poll(0);
}

template <class F>
auto SocketLayer::execute(F&& fn) -> decltype(fn()) {
  if (t_model == ORYX_SOCKET_SHARED && hooks_.hosted && running_.load(std::memory_order_acquire)) {
    decltype(fn()) result;
    {
      CoreLock lock(*lwip_);
      result = fn();
    }
    flush();
    return result;
  }
  if (t_model != ORYX_SOCKET_SEPARATE_THREAD || !running_.load(std::memory_order_acquire) ||
      !ring_.ring) {
    CoreLock lock(*lwip_);
    return fn();
  }
  decltype(fn()) result{};
  auto call = [&] { result = fn(); };
  Command cmd{[](void* f) { (*static_cast<decltype(call)*>(f))(); }, &call};
  submit(cmd);
  return result;
}

int SocketLayer::wait(Socket& s, uint32_t seq, int64_t deadline_us) {
  if (t_model == ORYX_SOCKET_SHARED && hooks_.hosted && running_.load(std::memory_order_acquire)) {
    // Poll the port while spinning, then sleep on the word while the
    // kernel's keeper watches the port.
    s.waiters.fetch_add(1);
    int rc = hooks_.wait(reinterpret_cast<const uint32_t*>(&s.wake_seq), seq,
                         deadline_us ? deadline_us * 1000 : 0);
    s.waiters.fetch_sub(1);
    return rc == -ETIMEDOUT ? -EAGAIN : rc;
  }
  if (t_model != ORYX_SOCKET_SEPARATE_THREAD) {
    // Spin on the wake-up word first: the answer usually comes within
    // microseconds, sooner than a futex sleep and wake-up, when the worker
    // has a CPU of its own. One that shares ours cannot deliver it while
    // we spin: the spin halves each time it ended without the wake-up and
    // doubles back when the wake-up came in time, per thread.
    thread_local int64_t spin_us = kSpinWaitUs;
    int64_t spin_until = steady_us() + spin_us;
    bool woken = true;
    while (s.wake_seq.load(std::memory_order_acquire) == seq) {
      int64_t now = steady_us();
      if (deadline_us && now >= deadline_us) return -EAGAIN;
      if (now >= spin_until) {
        woken = false;
        break;
      }
      __builtin_ia32_pause();
    }
    spin_us = woken ? std::min(kSpinWaitUs, spin_us * 2) : std::max<int64_t>(1, spin_us / 2);
  }
  s.waiters.fetch_add(1);
  int rc = 0;
  while (s.wake_seq.load() == seq) {
    timespec ts{}, *timeout = nullptr;
    if (deadline_us) {
      int64_t left = deadline_us - steady_us();
      if (left <= 0) {
        rc = -EAGAIN;
        break;
      }
      ts = {time_t(left / 1000000), long(left % 1000000) * 1000};
      timeout = &ts;
    }
    if (futex(&s.wake_seq, FUTEX_WAIT_PRIVATE, seq, timeout) < 0 && errno == EINTR) {
      rc = -EINTR;  // a signal handler ran, as Linux reports for a blocked call
      break;
    }
  }
  s.waiters.fetch_sub(1);
  return rc;
}

std::shared_ptr<Socket> SocketLayer::get(int h) const {
  std::lock_guard lock(table_mutex_);
  if (h < 0 || size_t(h) >= table_.size()) return nullptr;
  return table_[size_t(h)];
}

int SocketLayer::install(std::shared_ptr<Socket> s) {
  std::lock_guard lock(table_mutex_);
  int h;
  if (!free_handles_.empty()) {
    h = free_handles_.top();
    free_handles_.pop();
  } else {
    if (table_.size() >= size_t(INT_MAX)) return -EMFILE;
    h = int(table_.size());
    table_.emplace_back();
  }
  table_[size_t(h)] = std::move(s);
  return h;
}

void SocketLayer::release(int h) {
  std::lock_guard lock(table_mutex_);
  table_[size_t(h)].reset();
  free_handles_.push(h);
}

int SocketLayer::set_model(int model) {
  if (model != ORYX_SOCKET_SEPARATE_THREAD && model != ORYX_SOCKET_RUN_TO_COMPLETION &&
      model != ORYX_SOCKET_SHARED)
    return -EINVAL;
  t_model = model;
  return 0;
}

int SocketLayer::socket(int domain, int type, int protocol) {
  if (domain != AF_INET && domain != AF_INET6) return -EAFNOSUPPORT;
  int base = type & ~(SOCK_NONBLOCK | SOCK_CLOEXEC);
  if (base == SOCK_STREAM) {
    if (protocol != 0 && protocol != IPPROTO_TCP) return -EPROTONOSUPPORT;
  } else if (base == SOCK_DGRAM) {
    if (protocol != 0 && protocol != IPPROTO_UDP) return -EPROTONOSUPPORT;
  } else {
    return -ESOCKTNOSUPPORT;
  }
  auto s = std::make_shared<Socket>();
  s->domain = domain;
  s->type = base;
  s->nonblocking = (type & SOCK_NONBLOCK) != 0;
  int rc = execute([&] {
    int r = base == SOCK_STREAM ? ops::stream_open(*s) : ops::dgram_open(*s);
    if (r == 0) ops::publish(*s, false);
    return r;
  });
  if (rc < 0) return rc;
  int h = install(s);
  execute([&] {
    if (h < 0) base == SOCK_STREAM ? ops::stream_close(*s) : ops::dgram_close(*s);
    else s->handle = h;
    if (h >= 0 && counters_) counters_[kSocketsOpen]++;
    return 0;
  });
  return h;
}

int SocketLayer::bind(int h, const sockaddr* addr, socklen_t len) {
  auto s = get(h);
  if (!s) return -EBADF;
  ip_addr_t ip;
  uint16_t port;
  if (int rc = ops::to_ip(*s, addr, len, ip, port); rc < 0) return rc;
  return execute([&] {
    return s->is_stream() ? ops::stream_bind(*s, ip, port) : ops::dgram_bind(*s, ip, port);
  });
}

int SocketLayer::listen(int h, int backlog) {
  auto s = get(h);
  if (!s) return -EBADF;
  if (!s->is_stream()) return -EOPNOTSUPP;
  return execute([&] { return ops::stream_listen(*s, backlog); });
}

int SocketLayer::accept(int h, sockaddr* addr, socklen_t* len, int flags) {
  auto s = get(h);
  if (!s) return -EBADF;
  if (!s->is_stream()) return -EOPNOTSUPP;
  if (flags & ~(SOCK_NONBLOCK | SOCK_CLOEXEC)) return -EINVAL;
  int64_t deadline = deadline_after(s->rcvtimeo_us.load());
  for (;;) {
    uint32_t seq = s->wake_seq.load();
    std::shared_ptr<Socket> child;
    int rc = execute([&] { return ops::stream_accept(*s, child); });
    if (rc == 0) {
      child->nonblocking = (flags & SOCK_NONBLOCK) != 0;
      int ch = install(child);
      execute([&] {
        if (ch < 0) {
          ops::stream_close(*child);
        } else {
          child->handle = ch;
          if (counters_) counters_[kSocketsOpen]++;
          ops::publish(*child, false);
        }
        return 0;
      });
      if (ch >= 0) ops::from_ip(*child, child->remote_ip, child->remote_port, addr, len);
      return ch;
    }
    if (rc != -EAGAIN || s->nonblocking) return rc;
    if (int w = wait(*s, seq, deadline); w < 0) return w;
  }
}

int SocketLayer::connect(int h, const sockaddr* addr, socklen_t len) {
  auto s = get(h);
  if (!s) return -EBADF;
  if (!s->is_stream()) {
    if (addr && len >= socklen_t(sizeof(sa_family_t)) && addr->sa_family == AF_UNSPEC)
      return execute([&] { return ops::dgram_connect(*s, nullptr, 0); });
    ip_addr_t ip;
    uint16_t port;
    if (int rc = ops::to_ip(*s, addr, len, ip, port); rc < 0) return rc;
    return execute([&] { return ops::dgram_connect(*s, &ip, port); });
  }
  ip_addr_t ip;
  uint16_t port;
  if (int rc = ops::to_ip(*s, addr, len, ip, port); rc < 0) return rc;
  int rc = execute([&] { return ops::stream_connect(*s, ip, port); });
  if (rc != -EINPROGRESS || s->nonblocking) return rc;
  int64_t deadline = deadline_after(s->sndtimeo_us.load());
  for (;;) {
    uint32_t seq = s->wake_seq.load();
    rc = execute([&] { return ops::stream_connect_result(*s); });
    if (rc != -EINPROGRESS) return rc;
    if (int w = wait(*s, seq, deadline); w < 0)
      return w == -EAGAIN ? -EINPROGRESS : w;  // Linux: a timed-out connect is EINPROGRESS
  }
}

ssize_t SocketLayer::sendmsg(int h, const msghdr* msg, int flags) {
  auto s = get(h);
  if (!s) return -EBADF;
  if (!msg || (msg->msg_iovlen && !msg->msg_iov)) return -EFAULT;
  if (!s->is_stream()) return execute([&] { return ops::dgram_send(*s, *msg, flags); });
  // lwIP has no TCP Fast Open: Linux's answer when its client side is off.
  if (flags & MSG_FASTOPEN) return -EOPNOTSUPP;
  bool nonblocking = s->nonblocking || (flags & MSG_DONTWAIT);
  size_t total = ops::iov_total(*msg), sent = 0;
  int64_t deadline = deadline_after(s->sndtimeo_us.load());
  for (;;) {
    uint32_t seq = s->wake_seq.load();
    ssize_t rc = execute([&] { return ops::stream_send(*s, *msg, sent, flags); });
    if (rc > 0) sent += size_t(rc);
    if (sent == total && (rc >= 0 || sent > 0)) return ssize_t(sent);
    if (rc < 0 && rc != -EAGAIN) return sent ? ssize_t(sent) : rc;
    if (nonblocking) return sent ? ssize_t(sent) : -EAGAIN;
    if (int w = wait(*s, seq, deadline); w < 0) return sent ? ssize_t(sent) : w;
  }
}

ssize_t SocketLayer::recvmsg(int h, msghdr* msg, int flags) {
  auto s = get(h);
  if (!s) return -EBADF;
  if (!msg || (msg->msg_iovlen && !msg->msg_iov)) return -EFAULT;
  bool nonblocking = s->nonblocking || (flags & MSG_DONTWAIT);
  int64_t deadline = deadline_after(s->rcvtimeo_us.load());
  if (!s->is_stream()) {
    for (;;) {
      uint32_t seq = s->wake_seq.load();
      ssize_t rc = execute([&] { return ops::dgram_recv(*s, *msg, flags); });
      if (rc != -EAGAIN || nonblocking) return rc;
      if (int w = wait(*s, seq, deadline); w < 0) return w;
    }
  }
  msg->msg_flags = 0;
  msg->msg_namelen = 0;  // TCP reports no source address
  bool wait_all = (flags & MSG_WAITALL) && !(flags & MSG_PEEK);
  size_t total = ops::iov_total(*msg), got = 0;
  for (;;) {
    uint32_t seq = s->wake_seq.load();
    ssize_t rc = execute([&] { return ops::stream_recv(*s, *msg, got, flags); });
    if (rc > 0) {
      got += size_t(rc);
      if (!wait_all || got == total || nonblocking) return ssize_t(got);
      continue;
    }
    if (rc == 0) return ssize_t(got);
    if (rc != -EAGAIN) return got ? ssize_t(got) : rc;
    if (nonblocking) return got ? ssize_t(got) : -EAGAIN;
    if (int w = wait(*s, seq, deadline); w < 0) return got ? ssize_t(got) : w;
  }
}

int SocketLayer::shutdown(int h, int how) {
  auto s = get(h);
  if (!s) return -EBADF;
  return execute([&] {
    return s->is_stream() ? ops::stream_shutdown(*s, how) : ops::dgram_shutdown(*s, how);
  });
}

int SocketLayer::close(int h) {
  auto s = get(h);
  if (!s) return -EBADF;
  release(h);
  return execute([&] {
    s->notify = nullptr;
    if (s->is_stream()) ops::stream_close(*s);
    else ops::dgram_close(*s);
    s->handle = -1;
    if (counters_) counters_[kSocketsOpen]--;
    ops::publish(*s, true);  // wakes threads still blocked on it
    return 0;
  });
}

int SocketLayer::getsockopt(int h, int level, int name, void* value, socklen_t* len) {
  auto s = get(h);
  if (!s) return -EBADF;
  return execute([&] { return ops::getsockopt(*s, level, name, value, len); });
}

int SocketLayer::setsockopt(int h, int level, int name, const void* value, socklen_t len) {
  auto s = get(h);
  if (!s) return -EBADF;
  return execute([&] { return ops::setsockopt(*s, level, name, value, len); });
}

int SocketLayer::getsockname(int h, sockaddr* addr, socklen_t* len) {
  auto s = get(h);
  if (!s) return -EBADF;
  if (!len) return -EFAULT;
  return execute([&] {
    ops::from_ip(*s, s->local_ip, s->local_port, addr, len);
    return 0;
  });
}

int SocketLayer::getpeername(int h, sockaddr* addr, socklen_t* len) {
  auto s = get(h);
  if (!s) return -EBADF;
  if (!len) return -EFAULT;
  return execute([&] {
    if (s->phase != Phase::kConnected) return -ENOTCONN;
    ops::from_ip(*s, s->remote_ip, s->remote_port, addr, len);
    return 0;
  });
}

int SocketLayer::ioctl(int h, unsigned long request, void* arg) {
  auto s = get(h);
  if (!s) return -EBADF;
  if (!arg) return -EFAULT;
  if (request == FIONBIO) {
    int on;
    std::memcpy(&on, arg, sizeof(on));
    s->nonblocking = on != 0;
    return 0;
  }
  if (request == FIONREAD) {
    if (s->listening.load()) return -EINVAL;  // Linux: FIONREAD on a listener
    int n = int(s->readable.load());
    std::memcpy(arg, &n, sizeof(n));
    return 0;
  }
  return -ENOTTY;
}

uint32_t SocketLayer::poll(int h) {
  auto s = get(h);
  return s ? s->events.load(std::memory_order_acquire) : uint32_t(POLLNVAL);
}

int SocketLayer::set_notify(int h, void (*fn)(void*, int, uint32_t), void* ctx) {
  auto s = get(h);
  if (!s) return -EBADF;
  return execute([&] {
    s->notify = fn;
    s->notify_ctx = ctx;
    return 0;
  });
}

int SocketLayer::is_local_address(const sockaddr* addr, socklen_t len) {
  if (!addr) return 0;
  Socket probe;
  probe.domain = addr->sa_family;
  if (probe.domain != AF_INET && probe.domain != AF_INET6) return 0;
  ip_addr_t ip;
  uint16_t port;
  if (ops::to_ip(probe, addr, len, ip, port) < 0) return 0;
  CoreLock lock(*lwip_);
  return ops::is_local(ip) ? 1 : 0;
}

// ---- the glue entry points ------------------------------------------------

void sockets_attach(const CommandRing& ring, uint64_t* counters, const SharedHooks& hooks,
                    Instance& lwip) {
  SocketLayer::instance().attach(ring, counters, hooks, lwip);
}
void sockets_set_running(bool running) { SocketLayer::instance().set_running(running); }
void sockets_run_commands() { SocketLayer::instance().run_commands(); }

}  // namespace oryx::stack
