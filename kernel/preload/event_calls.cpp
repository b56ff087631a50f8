// SPDX-License-Identifier: Apache-2.0
// event_calls.cpp - epoll, poll and select over kernel fds and Oryx
// sockets together. Sets without Oryx sockets go straight to the C library.
#include "epoll_set.hpp"
#include "fd_table.hpp"
#include "hosted_worker.hpp"
#include "libc.hpp"
#include "routing.hpp"
#include "runtime.hpp"

#include <rte_pause.h>

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/select.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <climits>
#include <vector>

using namespace oryx::preload;

namespace {

FdTable& table() { return FdTable::get(); }

int fail(int err) {
  errno = err;
  return -1;
}

int make_epoll(int epfd) {
  if (epfd < 0) return epfd;
  auto set = std::make_shared<EpollSet>(epfd);
  if (!set->valid()) {
    libc().close(epfd);
    return fail(ENOMEM);
  }
  auto e = std::make_shared<FdEntry>(FdEntry::kEpoll);
  e->epoll = std::move(set);
  table().put(epfd, std::move(e));
  return epfd;
}

std::shared_ptr<EpollSet> epoll_of(int epfd) {
  auto e = table().find(epfd);
  return e && e->kind == FdEntry::kEpoll ? e->epoll : nullptr;
}

// A poll() call waiting on Oryx sockets: the stack's wake-ups write this
// thread's eventfd, which sits among the kernel fds being polled.
class PollWaiter : public Watcher {
 public:
  PollWaiter() : fd_(eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) {}
  ~PollWaiter() override {
    if (fd_ >= 0) libc().close(fd_);
  }
  int fd() const { return fd_; }
  // Shared model: the eventfd is written only while the thread sleeps in
  // the kernel's poll; while it polls the port it reads readiness itself.
  void set_sleeping(bool on) {
    sleeping_.store(on);
    std::atomic_thread_fence(std::memory_order_seq_cst);  // against socket_woken
  }
  void socket_woken(FdEntry*, uint32_t) override {
    std::atomic_thread_fence(std::memory_order_seq_cst);  // the socket's events, then ours
    if (!sleeping_.load()) return;
    uint64_t one = 1;
    (void)!libc().write(fd_, &one, sizeof(one));
  }
  void socket_gone(FdEntry*) override { socket_woken(nullptr, 0); }
  void drain() {
    uint64_t n;
    (void)!libc().read(fd_, &n, sizeof(n));
  }

 private:
  int fd_;
  std::atomic<bool> sleeping_{true};  // always, outside the shared model
};

// poll(2) with Oryx sockets among the fds.
int mixed_poll(pollfd* fds, nfds_t n, int timeout_ms, const sigset_t* mask, bool use_ppoll) {
  std::vector<std::shared_ptr<FdEntry>> oryx(n);
  bool any = false;
  for (nfds_t i = 0; i < n; i++) {
    auto e = table().find(fds[i].fd);
    if (e && e->kind == FdEntry::kOryx) {
      if (ensure_created(*e) < 0) continue;  // a forked parent's: polled as the bare placeholder
      oryx[i] = std::move(e);
      any = true;
    }
  }
  auto kernel_poll = [&](pollfd* p, nfds_t count, int ms) {
    if (!use_ppoll) return libc().poll(p, count, ms);
    timespec ts{ms / 1000, (ms % 1000) * 1000000L};
    return libc().ppoll(p, count, ms < 0 ? nullptr : &ts, mask);
  };
  if (!any) return kernel_poll(fds, n, timeout_ms);

  thread_local PollWaiter waiter;
  const oryx_socket_api* s = Runtime::get().sockets_if_running();
  std::vector<pollfd> kernel(fds, fds + n);
  for (nfds_t i = 0; i < n; i++)
    if (oryx[i]) kernel[i].fd = -1;  // the C library skips negative fds
  kernel.push_back({waiter.fd(), POLLIN, 0});
  for (auto& e : oryx)
    if (e) e->add_watcher(&waiter);
  using clock = std::chrono::steady_clock;
  auto deadline = clock::now() + std::chrono::milliseconds(timeout_ms < 0 ? 0 : timeout_ms);
  int result = 0;
  // Shared model: poll the port while spinning (see EpollSet::wait_polling).
  oryx::kernel::HostedWorker* hw = Runtime::get().hosted();
  bool kernel_fds = false;
  for (nfds_t i = 0; i < n; i++) kernel_fds |= !oryx[i] && fds[i].fd >= 0;
  bool spinning = false, may_spin = hw != nullptr;
  uint64_t spin_start = 0, spin_until = 0, kernel_checked = 0;
  if (hw) waiter.set_sleeping(false);
  for (;;) {
    int polled = hw ? hw->poll() : 0;
    int ready = 0;
    for (nfds_t i = 0; i < n; i++) {
      if (!oryx[i]) continue;
      uint32_t m = s ? s->poll(oryx[i]->handle) : POLLNVAL;
      fds[i].revents = short(m & (uint32_t(fds[i].events) | POLLERR | POLLHUP | POLLNVAL));
      ready += fds[i].revents != 0;
    }
    int wait_ms = ready ? 0 : timeout_ms;
    if (!ready && timeout_ms > 0) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock::now());
      wait_ms = left.count() > 0 ? int(left.count()) : 0;
    }
    if (hw && wait_ms != 0) {
      uint64_t now = oryx::kernel::HostedWorker::cycles();
      if (!spinning && may_spin) {
        may_spin = false;
        spinning = hw->begin_spin();
        spin_start = now;
        spin_until = now + hw->spin_cycles();
      }
      if (spinning && now < spin_until && !(polled > 0 && hw->others_sleep())) {
        // Kernel fds: a system call, so at most every 100 us while spinning.
        int k = 0;
        if (kernel_fds && now - kernel_checked > 100 * hw->cycles_per_us()) {
          kernel_checked = now;
          k = kernel_poll(kernel.data(), kernel.size() - 1, 0);
        }
        if (k != 0) {  // a kernel fd is ready (or an error): report as below
          hw->end_spin(now - spin_start, k > 0);
          spinning = false;
          for (nfds_t i = 0; i < n; i++)
            if (!oryx[i]) fds[i].revents = kernel[i].revents;
          result = k;
          break;
        }
        rte_pause();
        continue;
      }
      if (spinning) {
        hw->end_spin(now - spin_start, false);
        spinning = false;
      }
      hw->sleep_begin();
      waiter.set_sleeping(true);
      // Readiness may have changed before the flag was seen: look again.
      bool late = false;
      for (nfds_t i = 0; i < n && !late; i++)
        late = oryx[i] && s && (s->poll(oryx[i]->handle) & (uint32_t(fds[i].events) | POLLERR | POLLHUP));
      if (late) wait_ms = 0;
    }
    int k = kernel_poll(kernel.data(), kernel.size(), wait_ms);
    if (hw && wait_ms != 0) {
      waiter.set_sleeping(false);
      hw->sleep_end(k > 0);
      may_spin = true;
    }
    if (k < 0) {
      result = ready ? ready : -1;
      break;
    }
    if (kernel.back().revents) {
      waiter.drain();
      k--;
      kernel.back().revents = 0;
    }
    for (nfds_t i = 0; i < n; i++)
      if (!oryx[i]) fds[i].revents = kernel[i].revents;
    if (ready + k > 0) {
      result = ready + k;
      break;
    }
    if (timeout_ms == 0 || (timeout_ms > 0 && clock::now() >= deadline)) break;
  }
  int err = errno;
  for (auto& e : oryx)
    if (e) e->remove_watcher(&waiter);
  if (hw) waiter.set_sleeping(true);  // the default outside the shared model
  errno = err;
  return result;
}

// select(2) as poll over the same fds.
int mixed_select(int nfds, fd_set* r, fd_set* w, fd_set* x, int timeout_ms,
                 const sigset_t* mask, bool use_ppoll) {
  if (nfds < 0 || nfds > FD_SETSIZE) return fail(EINVAL);
  std::vector<pollfd> p;
  for (int fd = 0; fd < nfds; fd++) {
    short ev = 0;
    if (r && FD_ISSET(fd, r)) ev |= POLLIN;
    if (w && FD_ISSET(fd, w)) ev |= POLLOUT;
    if (x && FD_ISSET(fd, x)) ev |= POLLPRI;
    if (ev) p.push_back({fd, ev, 0});
  }
  int k = mixed_poll(p.data(), p.size(), timeout_ms, mask, use_ppoll);
  if (k < 0) return k;
  for (const pollfd& q : p)
    if (q.revents & POLLNVAL) return fail(EBADF);  // the sets untouched, as Linux
  if (r) FD_ZERO(r);
  if (w) FD_ZERO(w);
  if (x) FD_ZERO(x);
  int count = 0;
  for (const pollfd& q : p) {
    if (r && (q.events & POLLIN) && (q.revents & (POLLIN | POLLHUP | POLLERR))) FD_SET(q.fd, r), count++;
    if (w && (q.events & POLLOUT) && (q.revents & (POLLOUT | POLLERR))) FD_SET(q.fd, w), count++;
    if (x && (q.events & POLLPRI) && (q.revents & POLLPRI)) FD_SET(q.fd, x), count++;
  }
  return count;
}

bool any_oryx(int nfds, fd_set* r, fd_set* w, fd_set* x) {
  for (int fd = 0; fd < nfds && fd < FD_SETSIZE; fd++)
    if (((r && FD_ISSET(fd, r)) || (w && FD_ISSET(fd, w)) || (x && FD_ISSET(fd, x))) &&
        table().ours(fd))
      if (auto e = table().find(fd); e && e->kind == FdEntry::kOryx) return true;
  return false;
}

int to_ms(const timespec* ts) {
  if (!ts) return -1;
  long long ms = ts->tv_sec * 1000LL + (ts->tv_nsec + 999999) / 1000000;
  return ms > INT_MAX ? INT_MAX : int(ms);
}

}  // namespace

extern "C" {

#define ORYX_EXPORT __attribute__((visibility("default")))

ORYX_EXPORT int epoll_create(int size) {
  if (size <= 0) return fail(EINVAL);
  return make_epoll(libc().epoll_create(size));
}

ORYX_EXPORT int epoll_create1(int flags) { return make_epoll(libc().epoll_create1(flags)); }

ORYX_EXPORT int epoll_ctl(int epfd, int op, int fd, epoll_event* ev) {
  auto set = epoll_of(epfd);
  auto e = table().find(fd);
  if (!set || !e || e->kind != FdEntry::kOryx) {
    int r = libc().epoll_ctl(epfd, op, fd, ev);
    if (r == 0 && set) set->count_kernel_fd(op);
    return r;
  }
  if (int r = ensure_created(*e); r < 0) return fail(-r);
  int r = set->control(op, fd, e, ev);
  return r < 0 ? fail(-r) : 0;
}

ORYX_EXPORT int epoll_pwait(int epfd, epoll_event* events, int max, int timeout,
                            const sigset_t* mask) {
  auto set = epoll_of(epfd);
  if (!set) return libc().epoll_pwait(epfd, events, max, timeout, mask);
  if (max <= 0) return fail(EINVAL);
  int r = set->wait(events, max, timeout, mask);
  return r < 0 ? fail(-r) : r;
}

ORYX_EXPORT int epoll_wait(int epfd, epoll_event* events, int max, int timeout) {
  return epoll_pwait(epfd, events, max, timeout, nullptr);
}

ORYX_EXPORT int poll(pollfd* fds, nfds_t n, int timeout) {
  return mixed_poll(fds, n, timeout, nullptr, false);
}

ORYX_EXPORT int ppoll(pollfd* fds, nfds_t n, const timespec* ts, const sigset_t* mask) {
  return mixed_poll(fds, n, to_ms(ts), mask, true);
}

ORYX_EXPORT int select(int nfds, fd_set* r, fd_set* w, fd_set* x, timeval* tv) {
  if (!any_oryx(nfds, r, w, x)) return libc().select(nfds, r, w, x, tv);
  int ms = tv ? int(tv->tv_sec * 1000 + (tv->tv_usec + 999) / 1000) : -1;
  auto start = std::chrono::steady_clock::now();
  int n = mixed_select(nfds, r, w, x, ms, nullptr, false);
  if (tv) {  // Linux's select leaves the time not slept in *tv (pselect does not)
    long long slept = std::chrono::duration_cast<std::chrono::microseconds>(
                          std::chrono::steady_clock::now() - start).count();
    long long left = std::max(0LL, tv->tv_sec * 1000000LL + tv->tv_usec - slept);
    tv->tv_sec = time_t(left / 1000000);
    tv->tv_usec = suseconds_t(left % 1000000);
  }
  return n;
}

ORYX_EXPORT int pselect(int nfds, fd_set* r, fd_set* w, fd_set* x, const timespec* ts,
                        const sigset_t* mask) {
  if (!any_oryx(nfds, r, w, x)) return libc().pselect(nfds, r, w, x, ts, mask);
  return mixed_select(nfds, r, w, x, to_ms(ts), mask, true);
}

}  // extern "C"
