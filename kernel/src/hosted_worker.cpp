// SPDX-License-Identifier: Apache-2.0
#include "hosted_worker.hpp"

#include "logging.hpp"

#include <rte_cycles.h>
#include <rte_pause.h>

#include <linux/futex.h>
#include <pthread.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <fstream>

namespace oryx::kernel {

namespace {

constexpr int kIdleWalks = 64;          // walks in a row the keeper runs while packets come
constexpr int kIdleTickMs = 100;        // the keeper looks this often when all is quiet
constexpr size_t kMaxRecords = 256;     // per-thread records kept (exited ones go first)

long futex_wait(const std::atomic<uint32_t>* word, uint32_t value, const timespec* abs) {
  // FUTEX_WAIT_BITSET takes an absolute CLOCK_MONOTONIC deadline.
  return syscall(SYS_futex, reinterpret_cast<const uint32_t*>(word), FUTEX_WAIT_BITSET_PRIVATE,
                 value, abs, nullptr, FUTEX_BITSET_MATCH_ANY);
}

void futex_wake(std::atomic<uint32_t>* word) {
  syscall(SYS_futex, reinterpret_cast<uint32_t*>(word), FUTEX_WAKE_PRIVATE, INT_MAX, nullptr,
          nullptr, 0);
}

// The keeper's epoll goes to the kernel directly: under `oryx run` the C
// library's epoll functions are the preload library's, which would make
// the keeper's own wait a polling one.
int raw_epoll_create() { return int(syscall(SYS_epoll_create1, EPOLL_CLOEXEC)); }
int raw_epoll_ctl(int epfd, int op, int fd, epoll_event* ev) {
  return int(syscall(SYS_epoll_ctl, epfd, op, fd, ev));
}
int raw_epoll_wait(int epfd, epoll_event* evs, int max, int timeout_ms) {
  return int(syscall(SYS_epoll_pwait, epfd, evs, max, timeout_ms, nullptr, 0));
}

timespec to_timespec(int64_t ns) { return {time_t(ns / 1000000000), long(ns % 1000000000)}; }

std::string thread_name(int tid) {
  std::ifstream in("/proc/self/task/" + std::to_string(tid) + "/comm");
  std::string name;
  std::getline(in, name);
  return name;
}

// The calling thread's record; marked exited when the thread ends.
struct ThreadRecord {
  HostedWorker* owner = nullptr;  // never freed once created (retired instead)
  std::shared_ptr<PollerStats> stats;
  ~ThreadRecord() {
    if (!stats) return;
    stats->exited.store(true);
    if (!stats->keeper) owner->thread_exited();
  }
};
thread_local ThreadRecord t_record;

}  // namespace

uint64_t HostedWorker::cycles() { return rte_rdtsc(); }

int64_t HostedWorker::now_ns() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

HostedWorker::HostedWorker(Options options, Walk walk, std::vector<int> wake_fds, bool timer_poll)
    : options_(options), walk_(std::move(walk)), wake_fds_(std::move(wake_fds)),
      timer_poll_(timer_poll), kick_fd_(eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)),
      cycles_per_us_(std::max<uint64_t>(1, rte_get_tsc_hz() / 1000000)) {}

HostedWorker::~HostedWorker() {
  stop();
  if (kick_fd_ >= 0) close(kick_fd_);
}

PollerStats& HostedWorker::me() {
  if (t_record.owner != this || !t_record.stats) {
    auto s = std::make_shared<PollerStats>();
    s->tid = int(syscall(SYS_gettid));
    std::lock_guard lock(stats_mutex_);
    if (stats_.size() >= kMaxRecords)
      std::erase_if(stats_, [](const auto& r) { return r->exited.load(); });
    stats_.push_back(s);
    if (t_record.stats && !t_record.stats->keeper && t_record.owner)
      t_record.owner->thread_exited();  // a record of an earlier kernel
    live_threads_.fetch_add(1);  // the keeper takes itself off in keeper_loop
    t_record.owner = this;
    t_record.stats = std::move(s);
  }
  return *t_record.stats;
}

int HostedWorker::poll() {
  PollerStats& st = me();
  // An application thread that polls is active, whether it walks or
  // leaves the walk to the lock's holder: the keeper stays out of its way.
  if (!st.keeper) last_app_walk_.store(cycles(), std::memory_order_relaxed);
  // Take the lock, or ask its holder to walk once more for us.
  uint32_t cur = lock_.load(std::memory_order_relaxed);
  for (;;) {
    if (cur & kHeld) {
      if (lock_.compare_exchange_weak(cur, cur | kAgain, std::memory_order_relaxed)) {
        st.deferred.fetch_add(1, std::memory_order_relaxed);
        return 0;
      }
    } else if (lock_.compare_exchange_weak(cur, kHeld, std::memory_order_acquire)) {
      break;
    }
  }
  uint64_t start = cycles();
  uint64_t packets = 0, walks = 0;
  for (;;) {
    packets += walk_();
    walks++;
    uint32_t held = kHeld;
    if (lock_.compare_exchange_strong(held, 0, std::memory_order_release)) break;
    lock_.fetch_and(~kAgain, std::memory_order_relaxed);  // another thread asked: walk again
  }
  uint64_t end = cycles();
  if (!st.keeper) last_app_walk_.store(end, std::memory_order_relaxed);
  st.polls.fetch_add(walks, std::memory_order_relaxed);
  st.packets.fetch_add(packets, std::memory_order_relaxed);
  st.hold_cycles.fetch_add(end - start, std::memory_order_relaxed);
  return int(packets);
}

bool HostedWorker::begin_spin() {
  if (options_.spin_us == 0) return false;
  // Spin only as the last application thread awake: while others run,
  // they poll when they wait, and the CPU a spin would take is theirs.
  if (asleep_.load() + 1 < live_threads_.load()) return false;
  uint32_t expected = 0;
  return spinners_.compare_exchange_strong(expected, 1, std::memory_order_acquire);
}

void HostedWorker::end_spin(uint64_t spun_cycles, bool satisfied) {
  spinners_.store(0, std::memory_order_release);
  PollerStats& st = me();
  st.spin_cycles.fetch_add(spun_cycles, std::memory_order_relaxed);
  if (satisfied) st.spins.fetch_add(1, std::memory_order_relaxed);
}

void HostedWorker::sleep_begin() {
  me().sleeps.fetch_add(1, std::memory_order_relaxed);
  // While another application thread is awake it polls when it waits, or
  // the keeper notices within its grace period that it does not.
  if (asleep_.fetch_add(1) + 1 < live_threads_.load()) return;
  // The last one: our last walk no longer says that somebody polls, and
  // the keeper, which may be timing a grace period on our account, watches
  // the ports now, so the first packet after this sleep is not late.
  last_app_walk_.store(0, std::memory_order_relaxed);
  if (!handoff_.exchange(true) && state_.load() == kTiming) {
    keeper_word_.fetch_add(1);
    futex_wake(&keeper_word_);
  }
}

void HostedWorker::sleep_end(bool by_event) {
  asleep_.fetch_sub(1);
  if (by_event) me().wakeups.fetch_add(1, std::memory_order_relaxed);
}

int HostedWorker::wait_word(const uint32_t* word, uint32_t value, int64_t deadline_ns) {
  auto* w = reinterpret_cast<const std::atomic<uint32_t>*>(word);
  auto changed = [&] { return w->load(std::memory_order_acquire) != value; };
  if (changed()) return 0;
  if (begin_spin()) {
    uint64_t start = cycles(), until = start + spin_cycles(), now = start;
    if (deadline_ns) {  // a deadline within the spin ends it
      int64_t left = deadline_ns - now_ns();
      until = std::min(until, start + uint64_t(std::max<int64_t>(0, left / 1000)) * cycles_per_us_);
    }
    bool done = false;
    while (!done && now < until) {
      int got = poll();
      done = changed();
      if (!done && got > 0 && others_sleep()) break;  // probably another thread's: let it run
      if (!done) rte_pause();
      now = cycles();
    }
    end_spin(now - start, done);
    if (done) return 0;
  } else {
    poll();  // one look before sleeping: our answer may be in the ring
    if (changed()) return 0;
  }
  sleep_begin();
  bool by_event = false;
  int rc = sleep_on_word(word, value, deadline_ns, &by_event);
  sleep_end(by_event);
  return rc;
}

int HostedWorker::sleep_on_word(const uint32_t* word, uint32_t value, int64_t deadline_ns,
                                bool* woken) {
  auto* w = reinterpret_cast<const std::atomic<uint32_t>*>(word);
  while (w->load(std::memory_order_acquire) == value) {
    timespec abs{}, *timeout = nullptr;
    if (deadline_ns) {
      if (now_ns() >= deadline_ns) return -ETIMEDOUT;
      abs = to_timespec(deadline_ns);
      timeout = &abs;
    }
    if (futex_wait(w, value, timeout) < 0) {
      if (errno == EINTR || errno == ETIMEDOUT) return -errno;
    } else if (woken) {
      *woken = true;
    }
  }
  return 0;
}

void HostedWorker::kick() {
  if (kick_pending_.load(std::memory_order_relaxed)) return;  // the keeper will look
  kick_pending_.store(true);
  if (state_.load() == kSleeping && !kick_written_.exchange(true)) {
    uint64_t one = 1;
    (void)!write(kick_fd_, &one, sizeof(one));
  }
}

// While packets come, unless an application thread starts polling.
void HostedWorker::walk_until_idle() {
  uint64_t since = cycles();
  for (int i = 0; i < kIdleWalks && !stopping_.load(std::memory_order_relaxed); i++) {
    if (poll() == 0 || last_app_walk_.load(std::memory_order_relaxed) > since) break;
  }
}

void HostedWorker::start() {
  if (keeper_.joinable()) return;
  stopping_.store(false);
  keeper_ = std::thread([this] { keeper_loop(); });
  pthread_setname_np(keeper_.native_handle(), "oryx-keeper");
}

void HostedWorker::stop() {
  if (!keeper_.joinable()) return;
  stopping_.store(true);
  keeper_word_.fetch_add(1);
  futex_wake(&keeper_word_);
  uint64_t one = 1;
  (void)!write(kick_fd_, &one, sizeof(one));
  keeper_.join();
}

void HostedWorker::retire() {
  stop();
  for (;;) {
    uint32_t free = 0;
    if (lock_.compare_exchange_weak(free, kHeld, std::memory_order_acquire)) return;
    std::this_thread::yield();
  }
}

void HostedWorker::keeper_loop() {
  me().keeper = true;
  live_threads_.fetch_sub(1);  // me() counted the keeper as an application thread
  auto log = logging::get("oryx");
  int epfd = raw_epoll_create();
  // The ports' descriptors are in the set only while the keeper watches the
  // ports (from its first sleep on them until application threads poll
  // again): a registration stays on the socket's wait queue, and every
  // packet the kernel delivers to the port would run epoll's callback for
  // it, on the CPU that sends (often a client's).
  std::vector<int> watched;
  auto watch = [&](int fd, bool on) {
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.fd = fd;
    if (raw_epoll_ctl(epfd, on ? EPOLL_CTL_ADD : EPOLL_CTL_DEL, fd, &ev) == 0) return true;
    if (on) log->warn("keeper: cannot watch descriptor {}: {}", fd, strerror(errno));
    return false;
  };
  if (epfd < 0) {
    log->error("keeper: epoll_create1 failed: {}; polling every {} us", strerror(errno),
               options_.timer_poll_us);
    timer_poll_ = true;
  } else {
    watch(kick_fd_, true);
  }
  const uint64_t grace = uint64_t(options_.grace_us) * cycles_per_us_;
  while (!stopping_.load()) {
    // Read the last walk before the clock: the other order, preempted in
    // between, would see a walk "in the future" (an unsigned wrap).
    uint64_t last = last_app_walk_.load(std::memory_order_relaxed);
    uint64_t now = cycles();
    uint64_t idle_for = now > last ? now - last : 0;
    if (idle_for < grace && !handoff_.load()) {
      // Application threads poll: look again when the grace period ends.
      for (int fd : watched) watch(fd, false);
      watched.clear();
      uint32_t word = keeper_word_.load();
      state_.store(kTiming);
      if (!handoff_.load()) {
        timespec abs = to_timespec(now_ns() + int64_t((grace - idle_for) / cycles_per_us_) * 1000);
        futex_wait(&keeper_word_, word, &abs);
      }
      state_.store(kAwake);
      continue;
    }
    handoff_.store(false);
    kick_pending_.store(false);
    walk_until_idle();
    // Sleep on the ports; a kick or handoff that came before the state
    // change is seen here, one after it writes the eventfd.
    state_.store(kSleeping);
    if (kick_pending_.exchange(false)) {
      state_.store(kAwake);
      continue;
    }
    epoll_event evs[8];
    int timeout = timer_poll_ ? int((options_.timer_poll_us + 999) / 1000) : kIdleTickMs;
    int n = 0;
    if (epfd >= 0) {
      // Adding a descriptor that is readable already reports it at once:
      // packets that came before the registration are not missed.
      if (watched.empty())
        for (int fd : wake_fds_)
          if (watch(fd, true)) watched.push_back(fd);
      n = raw_epoll_wait(epfd, evs, 8, timeout);
    } else {
      usleep(options_.timer_poll_us);
    }
    state_.store(kAwake);
    if (n > 0) me().wakeups.fetch_add(1, std::memory_order_relaxed);
    for (int i = 0; i < n; i++)
      if (evs[i].data.fd == kick_fd_) {
        uint64_t v;
        (void)!read(kick_fd_, &v, sizeof(v));
        kick_written_.store(false);
      }
    // Whatever woke us (packets, a kick, the tick), the top of the loop
    // walks, unless an application thread polls again by then.
  }
  if (epfd >= 0) close(epfd);
}

nlohmann::json HostedWorker::json() const {
  nlohmann::json threads = nlohmann::json::array();
  std::lock_guard lock(stats_mutex_);
  for (const auto& s : stats_) {
    uint64_t polls = s->polls.load(), packets = s->packets.load();
    threads.push_back({{"tid", s->tid},
                       {"name", thread_name(s->tid)},
                       {"role", s->keeper ? "keeper" : "application"},
                       {"exited", s->exited.load()},
                       {"polls", polls},
                       {"packets", packets},
                       {"packets_per_poll", polls ? double(packets) / double(polls) : 0.0},
                       {"deferred", s->deferred.load()},
                       {"spins", s->spins.load()},
                       {"sleeps", s->sleeps.load()},
                       {"wakeups", s->wakeups.load()},
                       {"hold_us", s->hold_cycles.load() / cycles_per_us_},
                       {"spin_us", s->spin_cycles.load() / cycles_per_us_}});
  }
  return {{"spin_us", options_.spin_us},
          {"grace_us", options_.grace_us},
          {"wake_fds", wake_fds_.size()},
          {"timer_poll", timer_poll_},
          {"threads", threads}};
}

}  // namespace oryx::kernel
