// SPDX-License-Identifier: Apache-2.0
#include "epoll_set.hpp"

#include "hosted_worker.hpp"
#include "libc.hpp"
#include "runtime.hpp"

#include <rte_pause.h>

#include <sys/eventfd.h>

#include <cerrno>
#include <chrono>
#include <climits>
#include <cstdint>
#include <vector>

namespace oryx::preload {

namespace {
// What Linux accepts alongside EPOLLEXCLUSIVE (EPOLLEXCLUSIVE_OK_BITS).
constexpr uint32_t kExclusiveOk =
    EPOLLIN | EPOLLOUT | EPOLLERR | EPOLLHUP | EPOLLWAKEUP | EPOLLET | EPOLLEXCLUSIVE;
}

EpollSet::EpollSet(int epfd)
    : epfd_(epfd),
      wake_fd_(eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)),
      wake_tag_(reinterpret_cast<uintptr_t>(this)),
      polling_(Runtime::get().model() == ORYX_SOCKET_SHARED),
      watch_(epfd) {
  if (wake_fd_ < 0) return;
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = wake_tag_;
  if (libc().epoll_ctl(epfd_, EPOLL_CTL_ADD, wake_fd_, &ev) != 0) {
    libc().close(wake_fd_);
    wake_fd_ = -1;
  }
}

EpollSet::~EpollSet() {
  std::map<Key, Interest> left;
  {
    std::lock_guard lock(mutex_);
    left.swap(interests_);
  }
  for (auto& [key, in] : left) key.first->remove_watcher(this);
  if (wake_fd_ >= 0) libc().close(wake_fd_);
}

int EpollSet::control(int op, int fd, const std::shared_ptr<FdEntry>& entry, const epoll_event* ev) {
  FdEntry* e = entry.get();
  if (op != EPOLL_CTL_DEL && !ev) return -EFAULT;
  if (op != EPOLL_CTL_DEL && (ev->events & EPOLLEXCLUSIVE) &&
      (op == EPOLL_CTL_MOD || (ev->events & ~kExclusiveOk)))
    return -EINVAL;  // as Linux checks before looking the fd up
  // Lock order: the entry's watcher list, then this set.
  std::lock_guard wl(e->watch_mutex);
  std::lock_guard lock(mutex_);
  const Key key{e, fd};
  auto it = interests_.find(key);
  auto watched = [&] {  // another number of the same socket is registered
    auto first = interests_.lower_bound(Key{e, INT_MIN});
    return first != interests_.end() && first->first.first == e;
  };
  switch (op) {
    case EPOLL_CTL_ADD: {
      if (it != interests_.end()) return -EEXIST;
      if (!watched()) e->watchers.push_back(this);
      auto& stored = interests_.emplace(key, Interest{ev->events, ev->data}).first->second;
      watched_.store(interests_.size(), std::memory_order_relaxed);
      // Ready at once only if it already is, as Linux's ep_insert checks:
      // queued unconditionally, an edge-triggered entry would be reported
      // once for this check and again for the wake-up of the same data.
      if (ready_bits(e, stored.events)) queue(key, stored);
      return 0;
    }
    case EPOLL_CTL_MOD: {
      if (it == interests_.end()) return -ENOENT;
      if (it->second.events & EPOLLEXCLUSIVE) return -EINVAL;  // Linux: never modified
      it->second.events = ev->events;
      it->second.data = ev->data;
      it->second.armed = true;
      if (ready_bits(e, it->second.events)) queue(key, it->second);  // as ep_modify
      return 0;
    }
    case EPOLL_CTL_DEL: {
      if (it == interests_.end()) return -ENOENT;
      interests_.erase(it);
      watched_.store(interests_.size(), std::memory_order_relaxed);
      unqueue(e, fd);
      if (!watched())
        for (auto w = e->watchers.begin(); w != e->watchers.end(); ++w)
          if (*w == this) {
            e->watchers.erase(w);
            break;
          }
      return 0;
    }
    default:
      return -EINVAL;
  }
}

// Under mutex_: the eventfd is readable exactly while the ready list is not
// empty, so that the kernel epoll reports it (in turn with the kernel fds)
// until every ready Oryx socket was looked at.
void EpollSet::update_wake() {
  uint64_t n = 1;
  has_ready_.store(!ready_.empty(), std::memory_order_relaxed);
  bool want = !ready_.empty() && (!polling_ || sleepers_ > 0 || rotating_);
  if (want && !wake_pending_) {
    wake_pending_ = true;
    (void)!libc().write(wake_fd_, &n, sizeof(n));
  } else if (!want && wake_pending_) {
    wake_pending_ = false;
    (void)!libc().read(wake_fd_, &n, sizeof(n));
  }
}

uint32_t EpollSet::ready_bits(FdEntry* e, uint32_t events, const oryx_socket_api* s) {
  uint32_t mask = s && e->handle >= 0 ? s->poll(e->handle) : EPOLLHUP;
  return mask & (events | EPOLLERR | EPOLLHUP);
}

uint32_t EpollSet::ready_bits(FdEntry* e, uint32_t events) {
  return ready_bits(e, events, Runtime::get().sockets_if_running());
}

// Under mutex_.
void EpollSet::queue(const Key& key, Interest& in) {
  if (in.queued || !in.armed) return;
  in.queued = true;
  ready_.push_back(key);
  update_wake();
}

// Under mutex_.
void EpollSet::unqueue(FdEntry* entry, int fd) {
  for (auto r = ready_.begin(); r != ready_.end();)
    r = r->first == entry && (fd < 0 || r->second == fd) ? ready_.erase(r) : r + 1;
  update_wake();
}

void EpollSet::socket_woken(FdEntry* entry, uint32_t events) {
  std::lock_guard lock(mutex_);
  // As Linux's ep_poll_callback: a wake-up about bits a registration did
  // not ask for (and no error or hang-up) leaves it alone.
  for (auto it = interests_.lower_bound(Key{entry, INT_MIN});
       it != interests_.end() && it->first.first == entry; ++it)
    if (events & (it->second.events | EPOLLERR | EPOLLHUP)) queue(it->first, it->second);
}

void EpollSet::socket_gone(FdEntry* entry) {
  std::lock_guard lock(mutex_);
  interests_.erase(interests_.lower_bound(Key{entry, INT_MIN}),
                   interests_.upper_bound(Key{entry, INT_MAX}));
  watched_.store(interests_.size(), std::memory_order_relaxed);
  unqueue(entry, -1);
}

// Reports up to `max` ready Oryx sockets, each registration at most once.
int EpollSet::collect(epoll_event* out, int max) {
  const oryx_socket_api* s = Runtime::get().sockets_if_running();
  std::lock_guard lock(mutex_);
  int n = 0;
  std::vector<Key> again;  // level-triggered ones reported now: back of the list
  while (!ready_.empty() && n < max) {
    Key key = ready_.front();
    ready_.pop_front();
    auto it = interests_.find(key);
    if (it == interests_.end()) continue;
    Interest& in = it->second;
    in.queued = false;
    uint32_t got = ready_bits(key.first, in.events, s);
    if (!got || !in.armed) continue;
    out[n].events = got;
    out[n].data = in.data;
    n++;
    if (in.events & EPOLLONESHOT) {
      in.armed = false;
    } else if (!(in.events & EPOLLET)) {
      in.queued = true;  // level-triggered: looked at again next time
      again.push_back(key);
    }
  }
  ready_.insert(ready_.end(), again.begin(), again.end());
  update_wake();
  return n;
}

void EpollSet::count_kernel_fd(int op) {
  if (op == EPOLL_CTL_ADD) kernel_fds_.fetch_add(1, std::memory_order_relaxed);
  if (op == EPOLL_CTL_DEL && kernel_fds_.load(std::memory_order_relaxed) > 0)
    kernel_fds_.fetch_sub(1, std::memory_order_relaxed);
}

int EpollSet::strip_wake(epoll_event* events, int k, bool& woken) const {
  int n = 0;
  woken = false;
  for (int i = 0; i < k; i++) {
    if (events[i].data.u64 == wake_tag_)
      woken = true;
    else
      events[n++] = events[i];
  }
  return n;
}

int EpollSet::wait_polling(oryx::kernel::HostedWorker& hw, epoll_event* events, int max,
                           int timeout_ms, const sigset_t* mask) {
  using oryx::kernel::HostedWorker;
  // Without a watch, while spinning, kernel fds are looked at (one system
  // call, expensive under a hypervisor) at most this often; while the
  // thread sleeps the kernel epoll watches them.
  const uint64_t kernel_check = 100 * hw.cycles_per_us();
  const uint64_t start = HostedWorker::cycles();
  const uint64_t deadline =
      timeout_ms > 0 ? start + uint64_t(timeout_ms) * 1000 * hw.cycles_per_us() : 0;
  bool spinning = false, may_spin = true;
  uint64_t spin_start = 0, spin_until = 0;
  // With kernel fds registered, their ready ones join the Oryx ones
  // (one non-blocking epoll_pwait whenever Oryx sockets are ready or the
  // call must not wait, and now and then while spinning; a sleep waits on
  // them in the kernel epoll), as Linux reports every ready registration
  // that fits. Only when a call had to leave ready events out
  // (maxevents full) does the eventfd stand for the Oryx sockets in the
  // kernel epoll again, so the kinds take turns exactly as Linux rotates
  // its ready list, until a call reports everything with room to spare.
  auto kernel_events = [&](epoll_event* out, int room, uint64_t now, bool& woken) {
    kernel_checked_.store(now, std::memory_order_relaxed);
    int k = libc().epoll_pwait(epfd_, out, room, 0, mask);
    if (k < 0) return -errno;
    watch_.looked(k);
    return strip_wake(out, k, woken);
  };
  auto set_rotating = [&](bool on) {
    std::lock_guard lock(mutex_);
    rotating_ = on;
    update_wake();
  };
  for (;;) {
    int got = hw.poll();
    uint64_t now = HostedWorker::cycles();
    int n = 0;
    bool kernel = kernel_fds_.load(std::memory_order_relaxed) > 0;
    // Whether a set without a watch would look now.
    bool needed = timeout_ms == 0 || has_ready_.load(std::memory_order_relaxed) ||
                  now - kernel_checked_.load(std::memory_order_relaxed) > kernel_check;
    KernelWatch::Answer watched = kernel ? watch_.ready(needed) : KernelWatch::Answer::kNo;
    bool look = watched == KernelWatch::Answer::kMaybe ||
                (watched == KernelWatch::Answer::kUnknown && needed);
    if (kernel && rotating_.load(std::memory_order_relaxed)) {
      if (look) {
        bool woken = false;
        int k = kernel_events(events, max, now, woken);
        if (k < 0) {
          if (spinning) hw.end_spin(now - spin_start, false);
          return k;
        }
        n = k;
        if (woken) n += collect(events + n, max - n);  // room: the eventfd's own slot at least
        if (n < max) set_rotating(false);
      }
    } else {
      n = collect(events, max);
      if (look && n < max) {
        bool woken = false;
        int k = kernel_events(events + n, max - n, now, woken);
        if (k < 0 && n == 0) {
          if (spinning) hw.end_spin(now - spin_start, false);
          return k;
        }
        n += std::max(k, 0);
      }
      if (kernel && n == max) set_rotating(true);
    }
    if (n > 0 || timeout_ms == 0 || (deadline && now >= deadline)) {
      if (spinning) hw.end_spin(now - spin_start, n > 0);
      return n;
    }
    if (!spinning && may_spin) {
      may_spin = false;
      spinning = hw.begin_spin();
      spin_start = now;
      spin_until = now + hw.spin_cycles();
    }
    if (spinning && now < spin_until && !(got > 0 && hw.others_sleep())) {
      rte_pause();
      continue;
    }
    if (spinning) {
      hw.end_spin(now - spin_start, false);
      spinning = false;
    }
    // Sleep in the kernel epoll; the eventfd stands for the ready list
    // while we do, and the keeper watches the port.
    hw.sleep_begin();
    {
      std::lock_guard lock(mutex_);
      sleepers_++;
      update_wake();
    }
    int wait_ms = -1;
    if (deadline) {
      uint64_t t = HostedWorker::cycles();
      uint64_t left_us = deadline > t ? (deadline - t) / hw.cycles_per_us() : 0;
      wait_ms = int((left_us + 999) / 1000);
    }
    int k = libc().epoll_pwait(epfd_, events, max, wait_ms, mask);
    int err = errno;
    {
      std::lock_guard lock(mutex_);
      sleepers_--;
    }
    hw.sleep_end(k > 0);
    if (k < 0) return -err;
    watch_.looked(k);
    kernel_checked_.store(HostedWorker::cycles(), std::memory_order_relaxed);
    bool woken;
    n = strip_wake(events, k, woken);
    n += collect(events + n, max - n);  // also clears the eventfd
    if (n > 0) return n;
    may_spin = true;  // awake again: poll before the next sleep
  }
}

int EpollSet::wait(epoll_event* events, int max, int timeout_ms, const sigset_t* mask) {
  if (polling_ && !kernel_only())
    if (auto* hw = Runtime::get().hosted()) return wait_polling(*hw, events, max, timeout_ms, mask);
  using clock = std::chrono::steady_clock;
  auto deadline = clock::now() + std::chrono::milliseconds(timeout_ms < 0 ? 0 : timeout_ms);
  for (;;) {
    int wait_ms = timeout_ms;
    if (timeout_ms > 0) {
      auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - clock::now()).count();
      wait_ms = left > 0 ? int(left) : 0;
    }
    // One kernel wait serves both kinds: the eventfd stands for the Oryx
    // sockets on the ready list and is replaced by them.
    int k = libc().epoll_pwait(epfd_, events, max, wait_ms, mask);
    if (k < 0) return -errno;
    int n = 0;
    bool woken = false;
    for (int i = 0; i < k; i++) {
      if (events[i].data.u64 == wake_tag_)
        woken = true;
      else
        events[n++] = events[i];
    }
    if (woken) n += collect(events + n, max - n);  // room: the eventfd's own slot at least
    if (n > 0) return n;
    if (timeout_ms == 0 || (timeout_ms > 0 && clock::now() >= deadline)) return 0;
  }
}

}  // namespace oryx::preload
