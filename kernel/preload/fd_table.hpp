// SPDX-License-Identifier: Apache-2.0
// fd_table.hpp - which file descriptors the preload library manages.
//
// Every socket that may end up on Oryx is a real kernel socket first, so
// its number is a real descriptor (select, FD_SETSIZE, fcntl and dup keep
// working, and no kernel fd can ever collide with it). While its fate is
// open (no bind or connect yet) calls go to that kernel socket and options
// are remembered; once routed to Oryx the kernel socket stays as the
// placeholder of the Oryx socket and calls go to the socket layer (whose
// socket may be created later, see routing.hpp). Epoll
// instances created by the application are entries too. dup'ed numbers
// share one entry; the last reference closes the Oryx socket.
#pragma once

#include <sys/epoll.h>
#include <sys/socket.h>
#include <netinet/in.h>

#include <atomic>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <utility>
#include <vector>

namespace oryx::preload {

class EpollSet;

// Something waiting for an Oryx socket's wake-ups (an epoll set, a poll).
class Watcher {
 public:
  virtual ~Watcher() = default;
  // `events`: the EPOLL* bits the wake-up is about.
  virtual void socket_woken(struct FdEntry* entry, uint32_t events) = 0;
  virtual void socket_gone(struct FdEntry* entry) = 0;
};

struct SockOption {
  int level, name;
  std::vector<char> value;
};

struct FdEntry {
  enum Kind { kUndecided, kOryx, kEpoll } kind;
  // Sockets: what socket() asked for, and the socket layer's handle once
  // routed to Oryx.
  int domain = 0, type = 0, protocol = 0;
  bool nonblock = false;
  std::vector<SockOption> options;  // set while undecided, replayed on Oryx
  int handle = -1;
  unsigned generation = 0;  // the process (Runtime::generation) `handle` lives in
  // A bind and listen recorded while the socket-layer socket does not
  // exist yet (see routing.hpp); backlog < 0: no listen.
  sockaddr_storage bound{};
  socklen_t bound_len = 0;
  int backlog = -1;
  std::mutex create_mutex;
  // Epoll instances.
  std::shared_ptr<EpollSet> epoll;

  std::mutex watch_mutex;  // taken before any watcher's own lock
  std::vector<Watcher*> watchers;

  explicit FdEntry(Kind k) : kind(k) {}
  ~FdEntry();  // closes the Oryx socket, detaches watchers
  void add_watcher(Watcher* w);
  void remove_watcher(Watcher* w);
};

class FdTable {
 public:
  static FdTable& get();
  // Cheap test used on every intercepted call: false for kernel fds.
  bool ours(int fd) const {
    return fd >= 0 && size_t(fd) < size_ && marks_[fd].load(std::memory_order_acquire);
  }
  std::shared_ptr<FdEntry> find(int fd) const;
  void put(int fd, std::shared_ptr<FdEntry> entry);
  std::shared_ptr<FdEntry> take(int fd);
  // Every descriptor the library manages, with its entry (for reports).
  std::vector<std::pair<int, std::shared_ptr<FdEntry>>> snapshot() const;

 private:
  FdTable();
  size_t size_;
  std::unique_ptr<std::atomic<bool>[]> marks_;
  std::vector<std::shared_ptr<FdEntry>> entries_;
  mutable std::shared_mutex mutex_;
};

}  // namespace oryx::preload
