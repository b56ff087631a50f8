// SPDX-License-Identifier: Apache-2.0
#include "epoll_set.hpp"

#include "libc.hpp"
#include "runtime.hpp"

#include <sys/eventfd.h>

#include <cerrno>
#include <chrono>
#include <cstdint>

namespace oryx::preload {

namespace {
// The eventfd's tag in the kernel epoll; never handed to the application.
constexpr uint64_t kWakeTag = 0x6f72797877616b65ull;  // "oryxwake"
}

EpollSet::EpollSet(int epfd) : epfd_(epfd), wake_fd_(eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) {
  if (wake_fd_ < 0) return;
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = kWakeTag;
  if (libc().epoll_ctl(epfd_, EPOLL_CTL_ADD, wake_fd_, &ev) != 0) {
    libc().close(wake_fd_);
    wake_fd_ = -1;
  }
}

EpollSet::~EpollSet() {
  std::map<FdEntry*, Interest> left;
  {
    std::lock_guard lock(mutex_);
    left.swap(interests_);
  }
  for (auto& [entry, in] : left) entry->remove_watcher(this);
  if (wake_fd_ >= 0) libc().close(wake_fd_);
}

int EpollSet::control(int op, int fd, const std::shared_ptr<FdEntry>& entry, const epoll_event* ev) {
  FdEntry* e = entry.get();
  if (op != EPOLL_CTL_DEL && !ev) return -EFAULT;
  // Lock order: the entry's watcher list, then this set.
  std::lock_guard wl(e->watch_mutex);
  std::lock_guard lock(mutex_);
  auto it = interests_.find(e);
  switch (op) {
    case EPOLL_CTL_ADD: {
      if (it != interests_.end()) return -EEXIST;
      Interest in{fd, ev->events, ev->data};
      auto& stored = interests_.emplace(e, in).first->second;
      e->watchers.push_back(this);
      queue(e, stored);  // ready at once if it already is, as Linux checks on insert
      return 0;
    }
    case EPOLL_CTL_MOD: {
      if (it == interests_.end()) return -ENOENT;
      if (ev->events & EPOLLEXCLUSIVE) return -EINVAL;  // Linux: not allowed on MOD
      it->second.events = ev->events;
      it->second.data = ev->data;
      it->second.armed = true;
      queue(e, it->second);
      return 0;
    }
    case EPOLL_CTL_DEL: {
      if (it == interests_.end()) return -ENOENT;
      interests_.erase(it);
      for (auto r = ready_.begin(); r != ready_.end();) r = *r == e ? ready_.erase(r) : r + 1;
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

// Under mutex_.
void EpollSet::queue(FdEntry* entry, Interest& in) {
  if (in.queued || !in.armed) return;
  in.queued = true;
  ready_.push_back(entry);
  if (!wake_pending_) {
    wake_pending_ = true;
    uint64_t one = 1;
    (void)!libc().write(wake_fd_, &one, sizeof(one));
  }
}

void EpollSet::socket_woken(FdEntry* entry) {
  std::lock_guard lock(mutex_);
  auto it = interests_.find(entry);
  if (it != interests_.end()) queue(entry, it->second);
}

void EpollSet::socket_gone(FdEntry* entry) {
  std::lock_guard lock(mutex_);
  interests_.erase(entry);
  for (auto r = ready_.begin(); r != ready_.end();) r = *r == entry ? ready_.erase(r) : r + 1;
}

void EpollSet::drain_wake() {
  uint64_t n;
  (void)!libc().read(wake_fd_, &n, sizeof(n));
  std::lock_guard lock(mutex_);
  wake_pending_ = false;
  if (!ready_.empty()) {  // more arrived than was collected: stay awake
    wake_pending_ = true;
    uint64_t one = 1;
    (void)!libc().write(wake_fd_, &one, sizeof(one));
  }
}

int EpollSet::collect(epoll_event* out, int max) {
  const oryx_socket_api* s = Runtime::get().sockets_if_running();
  std::lock_guard lock(mutex_);
  int n = 0;
  size_t pending = ready_.size();
  for (size_t i = 0; i < pending && n < max; i++) {
    FdEntry* e = ready_.front();
    ready_.pop_front();
    auto it = interests_.find(e);
    if (it == interests_.end()) continue;
    Interest& in = it->second;
    in.queued = false;
    uint32_t mask = s && e->handle >= 0 ? s->poll(e->handle) : EPOLLHUP;
    uint32_t got = mask & (in.events | EPOLLERR | EPOLLHUP);
    if (!got || !in.armed) continue;
    out[n].events = got;
    out[n].data = in.data;
    n++;
    if (in.events & EPOLLONESHOT) {
      in.armed = false;
    } else if (!(in.events & EPOLLET)) {
      in.queued = true;  // level-triggered: looked at again next time
      ready_.push_back(e);
    }
  }
  return n;
}

int EpollSet::wait(epoll_event* events, int max, int timeout_ms, const sigset_t* mask) {
  using clock = std::chrono::steady_clock;
  auto deadline = clock::now() + std::chrono::milliseconds(timeout_ms < 0 ? 0 : timeout_ms);
  for (;;) {
    int n = collect(events, max);
    int wait_ms = 0;
    if (n == 0 && timeout_ms != 0) {
      if (timeout_ms < 0) {
        wait_ms = -1;
      } else {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock::now());
        wait_ms = left.count() > 0 ? int(left.count()) : 0;
      }
    }
    int k = libc().epoll_pwait(epfd_, events + n, max - n, wait_ms, mask);
    if (k < 0) {
      if (n > 0) return n;
      return -errno;
    }
    // Take the wake-up out of what the application sees.
    bool woken = false;
    for (int i = n; i < n + k;) {
      if (events[i].data.u64 == kWakeTag) {
        woken = true;
        events[i] = events[n + k - 1];
        k--;
      } else {
        i++;
      }
    }
    if (woken) drain_wake();
    n += k;
    if (woken && n < max) n += collect(events + n, max - n);
    if (n > 0) return n;
    if (timeout_ms == 0 || (timeout_ms > 0 && clock::now() >= deadline)) return 0;
  }
}

}  // namespace oryx::preload
