// SPDX-License-Identifier: Apache-2.0
#include "epoll_set.hpp"

#include "libc.hpp"
#include "runtime.hpp"

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
      wake_tag_(reinterpret_cast<uintptr_t>(this)) {
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
      queue(key, stored);  // ready at once if it already is, as Linux checks on insert
      return 0;
    }
    case EPOLL_CTL_MOD: {
      if (it == interests_.end()) return -ENOENT;
      if (it->second.events & EPOLLEXCLUSIVE) return -EINVAL;  // Linux: never modified
      it->second.events = ev->events;
      it->second.data = ev->data;
      it->second.armed = true;
      queue(key, it->second);
      return 0;
    }
    case EPOLL_CTL_DEL: {
      if (it == interests_.end()) return -ENOENT;
      interests_.erase(it);
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
  if (!ready_.empty() && !wake_pending_) {
    wake_pending_ = true;
    (void)!libc().write(wake_fd_, &n, sizeof(n));
  } else if (ready_.empty() && wake_pending_) {
    wake_pending_ = false;
    (void)!libc().read(wake_fd_, &n, sizeof(n));
  }
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

void EpollSet::socket_woken(FdEntry* entry) {
  std::lock_guard lock(mutex_);
  for (auto it = interests_.lower_bound(Key{entry, INT_MIN});
       it != interests_.end() && it->first.first == entry; ++it)
    queue(it->first, it->second);
}

void EpollSet::socket_gone(FdEntry* entry) {
  std::lock_guard lock(mutex_);
  interests_.erase(interests_.lower_bound(Key{entry, INT_MIN}),
                   interests_.upper_bound(Key{entry, INT_MAX}));
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
    FdEntry* e = key.first;
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
      again.push_back(key);
    }
  }
  ready_.insert(ready_.end(), again.begin(), again.end());
  update_wake();
  return n;
}

int EpollSet::wait(epoll_event* events, int max, int timeout_ms, const sigset_t* mask) {
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
