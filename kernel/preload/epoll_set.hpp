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
#pragma once

#include "fd_table.hpp"

#include <signal.h>
#include <sys/epoll.h>

#include <deque>
#include <map>
#include <mutex>
#include <utility>

namespace oryx::preload {

class EpollSet : public Watcher {
 public:
  explicit EpollSet(int epfd);
  ~EpollSet() override;
  bool valid() const { return wake_fd_ >= 0; }

  // EPOLL_CTL_* for an Oryx socket; returns 0 or -errno.
  int control(int op, int fd, const std::shared_ptr<FdEntry>& entry, const epoll_event* ev);
  // epoll_pwait semantics over both kinds; returns count or -errno.
  int wait(epoll_event* events, int max, int timeout_ms, const sigset_t* mask);

  void socket_woken(FdEntry* entry) override;
  void socket_gone(FdEntry* entry) override;

 private:
  using Key = std::pair<FdEntry*, int>;  // socket, descriptor number
  struct Interest {
    uint32_t events;
    epoll_data_t data;
    bool armed = true;
    bool queued = false;
  };
  int collect(epoll_event* out, int max);
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
};

}  // namespace oryx::preload
