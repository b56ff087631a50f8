// SPDX-License-Identifier: Apache-2.0
// epoll_set.hpp - one application epoll instance holding kernel fds and
// Oryx sockets at once.
//
// The instance is a real kernel epoll fd: kernel fds are added to it as
// they are. Oryx sockets are kept here, with their events and data, and
// an eventfd inside the kernel epoll wakes a waiting epoll_wait when the
// stack wakes one of them. Readiness is the socket layer's mask, which
// follows Linux's tcp_poll; level-triggered entries stay on the ready list
// after being reported (as Linux re-queues them), edge-triggered ones
// leave it until the stack wakes the socket again, one-shot ones are
// disarmed until EPOLL_CTL_MOD.
#pragma once

#include "fd_table.hpp"

#include <signal.h>
#include <sys/epoll.h>

#include <deque>
#include <map>
#include <mutex>

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
  struct Interest {
    int fd;
    uint32_t events;
    epoll_data_t data;
    bool armed = true;
    bool queued = false;
  };
  int collect(epoll_event* out, int max);
  void queue(FdEntry* entry, Interest& in);
  void drain_wake();

  int epfd_;
  int wake_fd_;
  std::mutex mutex_;
  std::map<FdEntry*, Interest> interests_;
  std::deque<FdEntry*> ready_;
  bool wake_pending_ = false;
};

}  // namespace oryx::preload
