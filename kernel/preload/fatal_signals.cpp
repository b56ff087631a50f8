// SPDX-License-Identifier: Apache-2.0
#include "fatal_signals.hpp"

#include "libc.hpp"

#include <fcntl.h>
#include <pthread.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <thread>

namespace oryx::preload::fatal_signals {

namespace {

constexpr int kSignals[] = {SIGHUP,  SIGINT,  SIGQUIT, SIGILL,  SIGTRAP, SIGABRT, SIGBUS,
                            SIGFPE,  SIGUSR1, SIGSEGV, SIGUSR2, SIGPIPE, SIGALRM, SIGTERM,
                            SIGXCPU, SIGXFSZ, SIGSYS};
// A kernel thread parked by a fault (it cannot block synchronous signals)
// would hold up the stop forever; the process dies after this long anyway.
constexpr auto kStopLimit = std::chrono::seconds(5);

int g_wake[2] = {-1, -1};  // handler -> reaper
pid_t g_owner = 0;
bool g_ours[NSIG] = {};

void on_signal(int sig) {
  if (getpid() != g_owner) {  // a forked child that kept our handler
    signal(sig, SIG_DFL);
    raise(sig);
    return;
  }
  (void)!libc().write(g_wake[1], &sig, sizeof(sig));
  for (;;) pause();  // the reaper ends the process
}

void reap(void (*stop)()) {
  int sig = 0;
  while (libc().read(g_wake[0], &sig, sizeof(sig)) != sizeof(sig)) {
  }
  std::fprintf(stderr, "liboryx-preload: %s: stopping the Oryx kernel before the process ends\n",
               strsignal(sig));
  std::mutex m;
  std::condition_variable cv;
  bool done = false;
  std::thread([&] {
    stop();
    std::lock_guard lock(m);
    done = true;
    cv.notify_one();
  }).detach();
  {
    std::unique_lock lock(m);
    if (!cv.wait_for(lock, kStopLimit, [&] { return done; }))
      std::fprintf(stderr, "liboryx-preload: the kernel did not stop in time\n");
  }
  signal(sig, SIG_DFL);
  sigset_t one;
  sigemptyset(&one);
  sigaddset(&one, sig);
  pthread_sigmask(SIG_UNBLOCK, &one, nullptr);
  kill(getpid(), sig);
  pause();
  _exit(128 + sig);
}

sigset_t handled() {
  sigset_t set;
  sigemptyset(&set);
  for (int s : kSignals) sigaddset(&set, s);
  return set;
}

}  // namespace

sigset_t block() {
  sigset_t set = handled(), previous;
  pthread_sigmask(SIG_BLOCK, &set, &previous);
  return previous;
}

void restore(const sigset_t& previous) { pthread_sigmask(SIG_SETMASK, &previous, nullptr); }

void arm(void (*stop)()) {
  if (pipe2(g_wake, O_CLOEXEC) != 0) return;  // no cleanup on signals, nothing worse
  g_owner = getpid();
  // The reaper must never be the thread a signal parks.
  sigset_t all, previous;
  sigfillset(&all);
  pthread_sigmask(SIG_BLOCK, &all, &previous);
  std::thread(reap, stop).detach();
  pthread_sigmask(SIG_SETMASK, &previous, nullptr);
  for (int s : kSignals) {
    struct sigaction now {};
    if (sigaction(s, nullptr, &now) != 0 || now.sa_handler != SIG_DFL ||
        (now.sa_flags & SA_SIGINFO))
      continue;  // the application handles or ignores it
    struct sigaction sa {};
    sa.sa_handler = on_signal;
    sigfillset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    if (sigaction(s, &sa, nullptr) == 0) g_ours[s] = true;
  }
}

void disarm_in_child() {
  for (int s : kSignals) {
    struct sigaction now {};
    if (g_ours[s] && sigaction(s, nullptr, &now) == 0 && now.sa_handler == on_signal)
      signal(s, SIG_DFL);
    g_ours[s] = false;
  }
  for (int& fd : g_wake)
    if (fd >= 0) libc().close(fd), fd = -1;
}

}  // namespace oryx::preload::fatal_signals
