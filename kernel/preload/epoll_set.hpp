// SPDX-License-Identifier: Apache-2.0
// epoll_set.hpp - one application epoll instance holding kernel fds and
// Oryx sockets at once.
//
// The instance is a real kernel epoll fd: kernel fds are added to it as
// they are. Oryx sockets are kept here, with their events and data, keyed
// like Linux's by socket and descriptor number (a dup'ed number is a
// registration of its own). An eventfd inside the kernel epoll is readable
// exactly while Oryx sockets are on the ready list: it wakes a waiting
// epoll_wait, and as one entry of the kernel's ready list it takes its
// turn with the kernel fds, so neither kind starves the other when
// maxevents is small. Readiness is the socket layer's mask, which follows
// Linux's tcp_poll; level-triggered entries stay on the ready list after
// being reported (as Linux re-queues them), edge-triggered ones leave it
// until the stack wakes the socket again, one-shot ones are disarmed
// until EPOLL_CTL_MOD.
//
// In the shared-thread model a waiting thread polls the port itself
// (wait_polling): it walks the hosted worker and collects the ready Oryx
// sockets without any system call; the eventfd then stands for the ready
// list only while a thread sleeps in the kernel epoll, or while calls
// with too small a maxevents must take turns with the kernel fds. The
// kernel fds are looked at only when the KernelWatch says they may have
// events.
#pragma once

#include "fd_table.hpp"
#include "kernel_watch.hpp"

#include <oryx/socket_api.h>

#include <signal.h>
#include <sys/epoll.h>

#include <atomic>
#include <deque>
#include <map>
#include <mutex>
#include <utility>

namespace oryx::kernel {
class HostedWorker;
}

namespace oryx::preload {

class EpollSet : public Watcher {
 public:
  explicit EpollSet(int epfd);
  ~EpollSet() override;
  bool valid() const { return wake_fd_ >= 0; }
  // No Oryx socket registered: the kernel epoll alone answers.
  bool kernel_only() const { return watched_.load(std::memory_order_relaxed) == 0; }

  // EPOLL_CTL_* for an Oryx socket; returns 0 or -errno.
  int control(int op, int fd, const std::shared_ptr<FdEntry>& entry, const epoll_event* ev);
  // epoll_pwait semantics over both kinds; returns count or -errno.
  int wait(epoll_event* events, int max, int timeout_ms, const sigset_t* mask);

  void socket_woken(FdEntry* entry, uint32_t events) override;
  void socket_gone(FdEntry* entry) override;
  // A kernel fd was added to (op EPOLL_CTL_ADD) or removed from the set.
  void count_kernel_fd(int op);

 private:
  using Key = std::pair<FdEntry*, int>;  // socket, descriptor number
  struct Interest {
    uint32_t events;
    epoll_data_t data;
    bool armed = true;
    bool queued = false;
  };
  int collect(epoll_event* out, int max);
  // The bits of `events` (with EPOLLERR and EPOLLHUP) the socket reports now.
  static uint32_t ready_bits(FdEntry* e, uint32_t events, const oryx_socket_api* s);
  static uint32_t ready_bits(FdEntry* e, uint32_t events);
  int wait_polling(oryx::kernel::HostedWorker& hw, epoll_event* events, int max, int timeout_ms,
                   const sigset_t* mask);
  // The kernel epoll's events with the eventfd's entry taken out; `woken`
  // says whether it was there.
  int strip_wake(epoll_event* events, int k, bool& woken) const;
  void queue(const Key& key, Interest& in);
  void unqueue(FdEntry* entry, int fd);  // fd < 0: every number of the entry
  void update_wake();

  int epfd_;
  int wake_fd_;
  // The eventfd's data in the kernel epoll: this object's address, which no
  // live object of the application can have (so no data.ptr equals it).
  uint64_t wake_tag_;
  std::mutex mutex_;
  std::map<Key, Interest> interests_;
  std::deque<Key> ready_;
  bool wake_pending_ = false;  // the eventfd is readable
  // Shared model: the eventfd is written only while a thread sleeps in the
  // kernel epoll (threads that poll read the ready list directly).
  const bool polling_;
  int sleepers_ = 0;
  std::atomic<int> kernel_fds_{0};  // kernel fds registered (a close may leave it high)
  std::atomic<size_t> watched_{0};  // Oryx registrations (interests_.size())
  std::atomic<uint64_t> kernel_checked_{0};  // cycles
  std::atomic<bool> has_ready_{false};       // !ready_.empty(), read without the lock
  std::atomic<bool> rotating_{false};  // a call left events out: the eventfd takes turns in the kernel epoll
  KernelWatch watch_;  // shared model: whether the kernel fds need a look
};

}  // namespace oryx::preload
