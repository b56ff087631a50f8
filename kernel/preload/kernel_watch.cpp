// SPDX-License-Identifier: Apache-2.0
#include "kernel_watch.hpp"

#include "runtime.hpp"

#include <liburing.h>
#include <poll.h>

#include <mutex>
#include <unordered_map>
#include <vector>

namespace oryx::preload {

// The calling thread's ring and the polls armed on it. `epoch` counts the
// times a look found the ring active: any watch quiet since an earlier
// epoch looks again (the completions it saw may have been another's).
class ThreadRing {
 public:
  // The calling thread's ring, set up on first use; nullptr if io_uring
  // refuses. A ring object is never freed (its thread's end only closes
  // it), so a watch's pointer can neither dangle nor name a later
  // thread's ring.
  static ThreadRing* mine() {
    if (!t_tried) {
      t_tried = true;
      auto* r = new ThreadRing();
      if (io_uring_queue_init(16, &r->ring_,
                              IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN |
                                  IORING_SETUP_TASKRUN_FLAG) == 0) {
        r->open_ = true;
        t_ring = r;
        t_closer.ring = r;
      } else {
        delete r;
      }
    }
    return t_ring;
  }
  // The calling thread's ring if it has one (never sets one up).
  static ThreadRing* existing() { return t_ring; }

  // Arms a multishot poll of epfd; returns its id, 0 when io_uring refuses.
  uint64_t arm(int epfd, uint64_t id = 0) {
    io_uring_sqe* sqe = io_uring_get_sqe(&ring_);
    if (!sqe) return 0;
    if (!id) id = ++last_id_;
    io_uring_prep_poll_multishot(sqe, epfd, POLLIN);
    io_uring_sqe_set_data64(sqe, id);
    if (io_uring_submit(&ring_) != 1) return 0;
    polls_[id] = epfd;
    return id;
  }
  // A watch is gone: its poll is removed by the owner thread, now or at
  // its next look.
  void forget(uint64_t id) {
    std::lock_guard lock(gone_mutex_);
    gone_.push_back(id);
  }
  bool active() const {
    return (IO_URING_READ_ONCE(*ring_.sq.kflags) & (IORING_SQ_TASKRUN | IORING_SQ_CQ_OVERFLOW)) ||
           io_uring_cq_ready(&ring_);
  }
  uint64_t epoch() const { return epoch_; }
  // After a look: runs the polls' deferred work, reaps their completions,
  // re-arms polls that ended, removes forgotten ones. Returns the system
  // calls that took.
  int reap() {
    int calls = drop_forgotten();
    if (!active()) return calls;
    if (IO_URING_READ_ONCE(*ring_.sq.kflags) & (IORING_SQ_TASKRUN | IORING_SQ_CQ_OVERFLOW)) {
      io_uring_get_events(&ring_);
      calls++;
    }
    epoch_++;
    unsigned head, seen = 0;
    io_uring_cqe* cqe;
    std::vector<uint64_t> ended;
    io_uring_for_each_cqe(&ring_, head, cqe) {
      seen++;
      if (!(cqe->flags & IORING_CQE_F_MORE)) ended.push_back(cqe->user_data);
    }
    io_uring_cq_advance(&ring_, seen);
    for (uint64_t id : ended) {
      auto it = polls_.find(id);
      if (it == polls_.end()) continue;
      calls++;
      if (!arm(it->second, id)) polls_.erase(it);  // its watch says kUnknown
    }
    return calls;
  }
  bool armed(uint64_t id) const { return polls_.count(id) != 0; }

 private:
  int drop_forgotten() {
    std::vector<uint64_t> gone;
    {
      std::lock_guard lock(gone_mutex_);
      if (gone_.empty()) return 0;
      gone.swap(gone_);
    }
    int calls = 0;
    for (uint64_t id : gone) {
      if (!polls_.erase(id)) continue;
      if (io_uring_sqe* sqe = io_uring_get_sqe(&ring_)) {
        io_uring_prep_poll_remove(sqe, id);
        io_uring_sqe_set_data64(sqe, 0);
        io_uring_submit(&ring_);
        calls++;
      }
    }
    return calls;
  }

  // Closes the thread's ring when the thread ends.
  struct Closer {
    ThreadRing* ring = nullptr;
    ~Closer() {
      if (!ring) return;
      io_uring_queue_exit(&ring->ring_);
      ring->open_ = false;
      ring->polls_.clear();  // its watches answer kUnknown
      t_ring = nullptr;
    }
  };
  static thread_local ThreadRing* t_ring;
  static thread_local bool t_tried;
  static thread_local Closer t_closer;
  io_uring ring_{};
  bool open_ = false;
  uint64_t last_id_ = 0;
  uint64_t epoch_ = 1;
  std::unordered_map<uint64_t, int> polls_;  // id -> epoll fd
  std::mutex gone_mutex_;
  std::vector<uint64_t> gone_;  // forgotten from any thread
};

thread_local ThreadRing* ThreadRing::t_ring = nullptr;
thread_local bool ThreadRing::t_tried = false;
thread_local ThreadRing::Closer ThreadRing::t_closer;

namespace {
bool mine(const ThreadRing* ring) { return ring == ThreadRing::existing(); }
}  // namespace

KernelWatch::~KernelWatch() {
  // The poll holds the epoll file: remove it, or the owner does at its next look.
  if (state_.load() == State::kArmed && generation_ == Runtime::get().generation()) {
    ring_->forget(id_);
    if (mine(ring_)) ring_->reap();
  }
}

KernelWatch::Answer KernelWatch::ready(bool needed) {
  State state = state_.load(std::memory_order_acquire);
  if (state == State::kUnarmed) {
    if (!state_.compare_exchange_strong(state, State::kArming)) return Answer::kUnknown;
    ThreadRing* ring = ThreadRing::mine();
    uint64_t id = ring ? ring->arm(epfd_) : 0;
    if (!id) {
      state_.store(State::kOff);
      return Answer::kUnknown;
    }
    ring_ = ring;
    id_ = id;
    generation_ = Runtime::get().generation();
    pending_ = true;
    state_.store(State::kArmed, std::memory_order_release);
    return Answer::kMaybe;
  }
  if (state != State::kArmed || generation_ != Runtime::get().generation() || !mine(ring_) ||
      !ring_->armed(id_))
    return Answer::kUnknown;
  if (pending_ || ring_->epoch() != quiet_since_ || ring_->active()) {
    if (!needed) credit_--;
    return Answer::kMaybe;
  }
  if (needed && credit_ < kCreditMax) credit_++;
  return Answer::kNo;
}

void KernelWatch::looked(int found) {
  if (state_.load(std::memory_order_acquire) != State::kArmed ||
      generation_ != Runtime::get().generation() || !mine(ring_))
    return;
  uint64_t before = ring_->epoch();
  credit_ -= ring_->reap();
  // A completion may stand for an event that came after the look: look
  // once more before trusting the quiet.
  pending_ = found > 0 || ring_->epoch() != before;
  quiet_since_ = ring_->epoch();
  if (credit_ < kGiveUp) {
    ring_->forget(id_);
    ring_->reap();
    state_.store(State::kOff);
  }
}

}  // namespace oryx::preload
