// SPDX-License-Identifier: Apache-2.0
// capture.cpp - see capture.hpp.
#include "capture.hpp"

#include <rte_cycles.h>
#include <rte_errno.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_pcapng.h>
#include <rte_ring.h>

#include <pthread.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <ctime>
#include <filesystem>

namespace oryx::pdump {

namespace {

constexpr unsigned kWriterBurst = 256;
constexpr uint32_t kCopySegment = 2048;  // packet bytes per copy buffer

uint64_t now_ns() {
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return uint64_t(ts.tv_sec) * 1000000000ull + uint64_t(ts.tv_nsec);
}

std::string iso_time(uint64_t ns) {
  if (!ns) return "";
  time_t t = time_t(ns / 1000000000ull);
  tm utc;
  gmtime_r(&t, &utc);
  char buf[32];
  strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &utc);
  return buf;
}

uint32_t pow2_at_least(uint32_t n) {
  uint32_t p = 1;
  while (p < n) p <<= 1;
  return p;
}

}  // namespace

Capture::Capture(uint32_t id, CaptureSpec spec, const CaptureEnv& env)
    : id_(id), spec_(std::move(spec)), env_(env) {
  tap_counters_.resize(std::max<uint32_t>(1, env_.host->worker_count()));
  // The points, as the kernel's running graph names them.
  char* text = env_.host->capture_points();
  if (!text) throw CaptureError(503, "the data plane is not running");
  nlohmann::ordered_json points = nlohmann::ordered_json::parse(text, nullptr, false);
  std::free(text);
  for (const auto& name : spec_.points) {
    auto it = std::find_if(points.begin(), points.end(),
                           [&](const nlohmann::ordered_json& p) { return p.value("point", "") == name; });
    if (it == points.end())
      throw CaptureError(400, "unknown capture point \"" + name +
                                  "\" (GET /api/v1/captures/points lists them)");
    std::string dir = it->value("direction", "");
    int direction = dir == "in"    ? RTE_PCAPNG_DIRECTION_IN
                    : dir == "out" ? RTE_PCAPNG_DIRECTION_OUT
                                   : RTE_PCAPNG_DIRECTION_UNKNOWN;
    for (const auto& t : taps_)
      if (t->point == name) throw CaptureError(400, "capture point \"" + name + "\" listed twice");
    taps_.push_back(std::make_unique<PointTap>(
        PointTap{this, name, uint16_t(interfaces_.size()), direction}));
    interfaces_.push_back({name, it->value("help", "") + " (" + it->value("type", "") +
                                     " stage " + it->value("stage", "") + ")"});
  }
  if (!spec_.filter.empty()) {
    try {
      filter_ = std::make_unique<CaptureFilter>(spec_.filter, spec_.snaplen);
    } catch (const std::invalid_argument& e) {
      throw CaptureError(400, e.what());
    }
  }

  std::string tag = "pdump" + std::to_string(getpid() % 100000) + "_" + std::to_string(id_);
  pool_ = rte_pktmbuf_pool_create((tag + "p").c_str(), env_.copy_mbufs, 64, 0,
                                  uint16_t(rte_pcapng_mbuf_size(kCopySegment)), SOCKET_ID_ANY);
  if (!pool_)
    throw CaptureError(503, "no DPDK memory for " + std::to_string(env_.copy_mbufs) +
                                " capture buffers: " + rte_strerror(rte_errno));
  ring_ = rte_ring_create((tag + "r").c_str(), pow2_at_least(env_.ring_size), SOCKET_ID_ANY,
                          RING_F_SC_DEQ);
  if (!ring_) {
    rte_mempool_free(pool_);
    throw CaptureError(503, std::string("cannot create the capture ring: ") +
                                rte_strerror(rte_errno));
  }
  try {
    std::filesystem::create_directories(env_.dir);
    started_ns_ = now_ns();
    open_file();
  } catch (const std::exception& e) {
    rte_ring_free(ring_);
    rte_mempool_free(pool_);
    throw CaptureError(500, e.what());
  }

  for (size_t i = 0; i < taps_.size(); i++) {
    int rc = env_.host->capture_attach(taps_[i]->point.c_str(), &Capture::tap, taps_[i].get());
    if (rc != ORYX_OK) {
      for (size_t k = 0; k < i; k++) env_.host->capture_detach(taps_[k]->point.c_str());
      file_.reset();
      std::filesystem::remove(files_.back().first);
      rte_ring_free(ring_);
      rte_mempool_free(pool_);
      throw CaptureError(409, "capture point \"" + taps_[i]->point +
                                  "\" is already used by another capture");
    }
  }
  // Signals belong to the main thread (oryxd or the application).
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_BLOCK, &all, &old);
  thread_ = std::thread([this] { writer(); });
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  pthread_setname_np(thread_.native_handle(), "oryx-pdump");
}

Capture::~Capture() {
  stop("shutdown");
  if (thread_.joinable()) thread_.join();
}

void Capture::tap(void* ctx, uint32_t worker, rte_mbuf* const* pkts, const uint16_t* next,
                  uint16_t count) {
  auto* pt = static_cast<PointTap*>(ctx);
  Capture* c = pt->capture;
  if (c->stopping_.load(std::memory_order_relaxed) || worker >= c->tap_counters_.size()) return;
  TapCounters& n = c->tap_counters_[worker];
  rte_mbuf* copies[256];
  unsigned made = 0;
  uint64_t seen = 0, filtered = 0, no_mbuf = 0, no_room = 0, over_limit = 0;
  const uint64_t tsc = rte_get_tsc_cycles();
  // A copy the ring has no room for would only be made to be freed: when
  // the writer falls behind, the cost of a capture stays one check.
  const unsigned room = std::min<unsigned>(rte_ring_free_count(c->ring_), std::size(copies));
  for (uint16_t i = 0; i < count; i++) {
    if (next && (next[i] == ORYX_EDGE_CONSUMED || next[i] == ORYX_EDGE_DROP)) continue;
    seen++;
    if (c->filter_ && !c->filter_->matches(pkts[i])) {
      filtered++;
      continue;
    }
    if (c->spec_.max_packets &&
        c->reserved_.fetch_add(1, std::memory_order_relaxed) >= c->spec_.max_packets) {
      over_limit++;
      continue;  // the writer stops the capture once it has written the last one
    }
    if (made == room) {
      no_room++;
      continue;
    }
    // The copy's `port` carries the point's pcapng interface index.
    rte_mbuf* copy = rte_pcapng_copy(pt->index, worker, pkts[i], c->pool_, c->spec_.snaplen, tsc,
                                     rte_pcapng_direction(pt->direction));
    if (copy)
      copies[made++] = copy;
    else
      no_mbuf++;
  }
  unsigned queued = made ? rte_ring_mp_enqueue_burst(c->ring_, reinterpret_cast<void**>(copies),
                                                      made, nullptr)
                         : 0;
  if (queued < made) rte_pktmbuf_free_bulk(copies + queued, made - queued);  // another worker won
  // Only this worker writes its row; readers sum the rows (aligned 64-bit
  // stores do not tear).
  n.seen += seen;
  n.filtered_out += filtered;
  n.queued += queued;
  n.dropped_ring_full += made - queued + no_room;
  n.dropped_no_mbuf += no_mbuf;
  n.over_limit += over_limit;
}

uint64_t Capture::tap_total(uint64_t TapCounters::*field) const {
  uint64_t sum = 0;
  for (const auto& row : tap_counters_) sum += __atomic_load_n(&(row.*field), __ATOMIC_RELAXED);
  return sum;
}

void Capture::open_file() {
  char stamp[32];
  time_t t = time_t(started_ns_ / 1000000000ull);
  tm utc;
  gmtime_r(&t, &utc);
  strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", &utc);
  std::string base = env_.dir + "/" + (spec_.name.empty() ? "capture" : spec_.name) + "-" +
                     std::to_string(id_) + "-" + stamp;
  std::lock_guard lock(mutex_);
  std::string path = spec_.file_size ? base + "-" + std::to_string(files_.size() + 1) + ".pcapng"
                                     : base + ".pcapng";
  if (spec_.file_size) {  // rotation: past the newest file, make room for this one
    size_t kept = 0;
    for (const auto& f : files_) kept += f.second != UINT64_MAX;
    for (auto& f : files_)
      if (kept >= spec_.files && f.second != UINT64_MAX) {
        std::filesystem::remove(f.first);
        f.second = UINT64_MAX;  // rotated away
        kept--;
      }
  }
  file_ = std::make_unique<PcapngFile>(path, interfaces_, spec_.snaplen,
                                       "Oryx pdump (capture " + std::to_string(id_) + ")");
  files_.emplace_back(path, file_->size());
}

void Capture::write_burst(rte_mbuf** copies, unsigned n) {
  unsigned i = 0;
  while (i < n) {
    if (spec_.file_size && file_->size() + copies[i]->pkt_len > spec_.file_size &&
        written_packets_.load() > 0) {
      file_.reset();
      open_file();
    }
    // The longest run that stays within the byte limit and this file goes
    // out in one writev().
    unsigned end = i;
    uint64_t bytes = 0, file_bytes = file_->size();
    while (end < n) {
      uint64_t len = copies[end]->pkt_len;
      if (spec_.max_bytes && written_bytes_.load() + bytes + len > spec_.max_bytes) break;
      if (spec_.file_size && end > i && file_bytes + len > spec_.file_size) break;
      bytes += len, file_bytes += len, end++;
    }
    if (end == i) {  // the byte limit: nothing more fits
      over_limit_.fetch_add(n - i);
      if (!stopping_.exchange(true)) {
        std::lock_guard lock(mutex_);
        stop_reason_ = "byte limit";
      }
      break;
    }
    file_->write(copies + i, uint16_t(end - i));
    {
      std::lock_guard lock(mutex_);
      files_.back().second = file_->size();
    }
    written_packets_.fetch_add(end - i);
    written_bytes_.fetch_add(bytes);
    i = end;
  }
  rte_pktmbuf_free_bulk(copies, n);
  if (spec_.max_packets && written_packets_.load() >= spec_.max_packets &&
      !stopping_.exchange(true)) {
    std::lock_guard lock(mutex_);
    stop_reason_ = "packet limit";
  }
}

void Capture::writer() {
  rte_mbuf* copies[kWriterBurst];
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(spec_.duration_s);
  // Idle, the writer sleeps longer and longer (up to 2 ms): a filter that
  // rarely matches must not cost the CPU thousands of wake-ups a second.
  auto idle_sleep = std::chrono::microseconds(100);
  try {
    while (!stopping_.load()) {
      unsigned n = rte_ring_sc_dequeue_burst(ring_, reinterpret_cast<void**>(copies), kWriterBurst,
                                             nullptr);
      if (n) {
        write_burst(copies, n);
        idle_sleep = std::chrono::microseconds(100);
        continue;
      }
      if (spec_.duration_s && std::chrono::steady_clock::now() >= deadline &&
          !stopping_.exchange(true)) {
        std::lock_guard lock(mutex_);
        stop_reason_ = "duration";
        break;
      }
      std::this_thread::sleep_for(idle_sleep);
      idle_sleep = std::min(idle_sleep * 2, std::chrono::microseconds(2000));
    }
  } catch (const std::exception& e) {
    std::lock_guard lock(mutex_);
    error_ = e.what();
    stop_reason_ = "error";
  }
  stopping_.store(true);
  finish();
}

// Detaches every tap (no worker runs them afterwards), then writes what is
// still queued and releases the buffers.
void Capture::finish() {
  for (const auto& t : taps_) env_.host->capture_detach(t->point.c_str());
  rte_mbuf* copies[kWriterBurst];
  unsigned n;
  while ((n = rte_ring_sc_dequeue_burst(ring_, reinterpret_cast<void**>(copies), kWriterBurst,
                                        nullptr)) > 0) {
    bool failed;
    {
      std::lock_guard lock(mutex_);
      failed = !error_.empty();
    }
    if (failed) {
      rte_pktmbuf_free_bulk(copies, n);
      continue;
    }
    try {
      write_burst(copies, n);
    } catch (const std::exception& e) {
      std::lock_guard lock(mutex_);
      error_ = e.what();
    }
  }
  file_.reset();
  rte_ring_free(ring_);
  ring_ = nullptr;
  rte_mempool_free(pool_);  // every copy is back: written and freed, or dropped
  pool_ = nullptr;
  {
    std::lock_guard lock(mutex_);
    finished_ns_ = now_ns();
    if (stop_reason_.empty()) stop_reason_ = "requested";
  }
  finished_.store(true);
  done_.notify_all();
}

void Capture::stop(const std::string& reason) {
  std::unique_lock lock(mutex_);
  if (!stopping_.exchange(true) && stop_reason_.empty()) stop_reason_ = reason;
  done_.wait(lock, [this] { return finished_.load(); });
}

nlohmann::ordered_json Capture::json() const {
  std::lock_guard lock(mutex_);
  nlohmann::ordered_json files = nlohmann::ordered_json::array();
  for (size_t i = 0; i < files_.size(); i++)
    if (files_[i].second != UINT64_MAX)
      files.push_back({{"index", files.size()},
                       {"name", std::filesystem::path(files_[i].first).filename().string()},
                       {"bytes", files_[i].second}});
  nlohmann::ordered_json j = {
      {"id", id_},
      {"name", spec_.name},
      {"state", !finished_.load() ? "running" : error_.empty() ? "finished" : "failed"},
      {"points", spec_.points},
      {"filter", spec_.filter},
      {"filter_jit", filter_ && filter_->jit()},
      {"snaplen", spec_.snaplen},
      {"max_packets", spec_.max_packets},
      {"max_bytes", spec_.max_bytes},
      {"duration_s", spec_.duration_s},
      {"file_size", spec_.file_size},
      {"files_kept", spec_.files},
      {"started", iso_time(started_ns_)},
      {"counters",
       {{"seen", tap_total(&TapCounters::seen)},
        {"filtered_out", tap_total(&TapCounters::filtered_out)},
        {"queued", tap_total(&TapCounters::queued)},
        {"written_packets", written_packets_.load()},
        {"written_bytes", written_bytes_.load()},
        {"dropped_ring_full", tap_total(&TapCounters::dropped_ring_full)},
        {"dropped_no_mbuf", tap_total(&TapCounters::dropped_no_mbuf)},
        {"over_limit", tap_total(&TapCounters::over_limit) + over_limit_.load()}}},
      {"files", files}};
  if (finished_.load()) {
    j["finished"] = iso_time(finished_ns_);
    j["stop_reason"] = stop_reason_;
  }
  if (!error_.empty()) j["error"] = error_;
  return j;
}

std::string Capture::file(size_t index) const {
  if (!finished_.load()) return "";
  std::lock_guard lock(mutex_);
  size_t k = 0;
  for (const auto& f : files_)
    if (f.second != UINT64_MAX && k++ == index) return f.first;
  return "";
}

void Capture::remove_files() {
  std::lock_guard lock(mutex_);
  for (auto& f : files_)
    if (f.second != UINT64_MAX) {
      std::filesystem::remove(f.first);
      f.second = UINT64_MAX;
    }
}

}  // namespace oryx::pdump
