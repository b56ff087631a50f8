// SPDX-License-Identifier: Apache-2.0
// kernel_watch.hpp - whether the kernel half of an application's epoll set
// may have ready events, known without a system call.
//
// An epoll set that mixes Oryx sockets and kernel fds (a pipe, an eventfd,
// a control socket: redis, nginx and memcached all have one) must report
// the kernel fds' events too, which costs a non-blocking epoll_pwait per
// event-loop turn although they are almost never ready. The watch is an
// io_uring multishot poll on the kernel epoll fd. Whatever makes that epoll
// ready (a kernel fd's wake-up, an epoll_ctl of a ready fd) wakes its
// pollers at once, in the waker's context: the poll queues work on the
// ring of the thread that armed it and, with IORING_SETUP_TASKRUN_FLAG,
// sets IORING_SQ_TASKRUN in the ring's shared flags, which means "look".
// The work is deferred (DEFER_TASKRUN) until that thread asks for it after
// looking, and then leaves a completion.
//
// One ring per thread, kept until the thread ends: tearing a ring down
// notifies its thread like a signal, and the application's next blocking
// epoll_wait would return EINTR. A single issuer runs the ring, so a watch
// answers for the thread that armed it only; any other thread, a forked
// child, or a kernel without these io_uring features (Linux 6.1) gets
// "unknown" and looks as before, and so does a set where the watch costs
// more system calls than it saves.
#pragma once

#include <atomic>
#include <cstdint>

namespace oryx::preload {

class ThreadRing;

class KernelWatch {
 public:
  enum class Answer { kNo, kMaybe, kUnknown };

  explicit KernelWatch(int epfd) : epfd_(epfd) {}
  ~KernelWatch();
  KernelWatch(const KernelWatch&) = delete;
  KernelWatch& operator=(const KernelWatch&) = delete;

  // kNo: for the calling thread, nothing made the kernel epoll ready since
  // it last looked and found it empty. The first call arms the watch for
  // the calling thread (and answers kMaybe). `needed`: the caller would
  // look anyway without a watch (it has Oryx events to return, say).
  Answer ready(bool needed);
  // The calling thread just looked at the kernel epoll and found `found`
  // events.
  void looked(int found);

 private:
  enum class State { kUnarmed, kArming, kArmed, kOff };
  int epfd_;
  std::atomic<State> state_{State::kUnarmed};  // the arming thread alone moves it on
  // Written before state_ turns kArmed; the rest is the owner's alone.
  ThreadRing* ring_ = nullptr;  // the owner thread's
  uint64_t id_ = 0;             // the poll's user_data on that ring
  unsigned generation_ = 0;     // the runtime's fork generation at arming
  uint64_t quiet_since_ = 0;    // the ring's epoch when a look last found nothing
  bool pending_ = true;         // the last look found events: level-triggered ones may remain
  // System calls the watch saved minus those it cost (a look nobody
  // needed, a run of the ring's work). A set whose sleeping thread is
  // woken through its eventfd (which makes the kernel epoll ready too)
  // pays on every wake-up and saves nothing: below kGiveUp the watch
  // removes its poll and answers kUnknown.
  int credit_ = 0;
  static constexpr int kGiveUp = -64, kCreditMax = 64;
};

}  // namespace oryx::preload
