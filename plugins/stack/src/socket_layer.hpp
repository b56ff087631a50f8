// SPDX-License-Identifier: Apache-2.0
// socket_layer.hpp - the socket layer over lwIP's raw API (lwIP side).
//
// One per process, as lwIP is. Application threads call the public
// operations; each one runs its stack part either on the stack's worker
// (handed over through a lock-free multi-producer ring, the
// separate-thread model) or on the calling thread under the core lock
// (run-to-completion, and the shared model, where the thread also walks
// the hosted worker's graph so its frames leave at once), then blocks, if
// the socket is blocking, on the socket's futex word until the stack wakes
// it (polling the port first in the shared model). Results are >= 0 or
// -errno.
#pragma once

#include "glue.hpp"
#include "instance.hpp"
#include "socket.hpp"

#include <sys/socket.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <queue>
#include <vector>

namespace oryx::stack {

class SocketLayer {
 public:
  static SocketLayer& instance();

  // The first stack stage to start supplies the ring and the counter row
  // the layer counts in; `running` says whether a worker drains the ring.
  void attach(const CommandRing& ring, uint64_t* counters, const SharedHooks& hooks,
              Instance& lwip);
  void set_running(bool running);
  // Runs queued calls; on the stack's worker (poll), without the core lock.
  void run_commands();

  int set_model(int model);
  int socket(int domain, int type, int protocol);
  int bind(int h, const sockaddr* addr, socklen_t len);
  int listen(int h, int backlog);
  int accept(int h, sockaddr* addr, socklen_t* len, int flags);
  int connect(int h, const sockaddr* addr, socklen_t len);
  ssize_t sendmsg(int h, const msghdr* msg, int flags);
  ssize_t recvmsg(int h, msghdr* msg, int flags);
  int shutdown(int h, int how);
  int close(int h);
  int getsockopt(int h, int level, int name, void* value, socklen_t* len);
  int setsockopt(int h, int level, int name, const void* value, socklen_t len);
  int getsockname(int h, sockaddr* addr, socklen_t* len);
  int getpeername(int h, sockaddr* addr, socklen_t* len);
  int ioctl(int h, unsigned long request, void* arg);
  uint32_t poll(int h);
  int set_notify(int h, void (*fn)(void*, int, uint32_t), void* ctx);
  int is_local_address(const sockaddr* addr, socklen_t len);

 private:
  SocketLayer() = default;

  std::shared_ptr<Socket> get(int h) const;
  int install(std::shared_ptr<Socket> s);  // assigns the lowest free handle
  void release(int h);

  // Runs fn in stack context and returns its result.
  template <class F>
  auto execute(F&& fn) -> decltype(fn());
  struct Command;
  void submit(Command& cmd);

  // Blocks until s is woken after `seq`, the deadline (steady µs, 0 = none)
  // passes (-EAGAIN) or a signal arrives (-EINTR); 0 when woken.
  int wait(Socket& s, uint32_t seq, int64_t deadline_us);

  // Shared model: send what the call queued (a walk of the hosted worker).
  void flush();

  mutable std::mutex table_mutex_;
  std::vector<std::shared_ptr<Socket>> table_;
  // Released handles, reused lowest first like file descriptors.
  std::priority_queue<int, std::vector<int>, std::greater<int>> free_handles_;
  CommandRing ring_;
  std::atomic<bool> running_{false};
  uint64_t* counters_ = nullptr;
  Instance* lwip_ = nullptr;  // the instance sockets live in (the first stage's)
  SharedHooks hooks_;
};

}  // namespace oryx::stack
