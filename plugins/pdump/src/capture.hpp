// SPDX-License-Identifier: Apache-2.0
// capture.hpp - one packet capture: taps on graph capture points copy the
// packets that pass its filter (rte_pcapng_copy) into a ring; a writer
// thread drains the ring into pcapng files, enforces the limits and the
// rotation, and at the end detaches the taps.
//
// The data path never waits for the capture: a copy that finds no buffer
// or no room in the ring is dropped and counted, the packet goes on.
#pragma once

#include "capture_filter.hpp"
#include "pcapng_file.hpp"

#include <oryx/abi.h>

#include <nlohmann/json.hpp>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

struct rte_mempool;
struct rte_ring;

namespace oryx::pdump {

// What POST /api/v1/captures asks for.
struct CaptureSpec {
  std::string name;
  std::vector<std::string> points;
  std::string filter;
  uint32_t snaplen = 65535;
  uint64_t max_packets = 0;  // 0: no limit
  uint64_t max_bytes = 0;    // of packet data written; 0: no limit
  uint32_t duration_s = 0;
  uint64_t file_size = 0;    // rotate when a file reaches this; 0: one file
  uint32_t files = 1;        // rotation keeps at most this many files
};

// What the kernel and its [capture] table give every capture.
struct CaptureEnv {
  const oryx_host_api* host;
  std::string dir;
  uint32_t ring_size;
  uint32_t copy_mbufs;
};

// An error with the HTTP status it deserves.
struct CaptureError : std::runtime_error {
  CaptureError(int status, const std::string& what) : std::runtime_error(what), status(status) {}
  int status;
};

class Capture {
 public:
  // Validates the spec against the graph's points, compiles the filter,
  // creates the buffers and the first file, attaches the taps and starts
  // the writer. Throws CaptureError.
  Capture(uint32_t id, CaptureSpec spec, const CaptureEnv& env);
  ~Capture();  // stops and waits
  Capture(const Capture&) = delete;
  Capture& operator=(const Capture&) = delete;

  uint32_t id() const { return id_; }
  void stop(const std::string& reason);  // returns once finished
  bool running() const { return !finished_.load(); }
  nlohmann::ordered_json json() const;
  // Path of file `index` (oldest first) of a finished capture, or "".
  std::string file(size_t index) const;
  void remove_files();

 private:
  struct PointTap {
    Capture* capture;
    std::string point;
    uint16_t index;  // the pcapng interface
    int direction;   // rte_pcapng_direction
  };
  static void tap(void* ctx, uint32_t worker, rte_mbuf* const* pkts, const uint16_t* next,
                  uint16_t count);
  void writer();
  void write_burst(rte_mbuf** copies, unsigned n);
  void open_file();
  void finish();

  uint32_t id_;
  CaptureSpec spec_;
  CaptureEnv env_;
  std::unique_ptr<CaptureFilter> filter_;
  std::vector<std::unique_ptr<PointTap>> taps_;
  std::vector<PcapngInterface> interfaces_;
  rte_mempool* pool_ = nullptr;
  rte_ring* ring_ = nullptr;
  std::unique_ptr<PcapngFile> file_;
  uint64_t started_ns_ = 0;  // wall clock
  uint64_t finished_ns_ = 0;

  // Data path: what the taps saw and did, one row per worker (no shared
  // cache line on the data path); summed when read.
  struct alignas(64) TapCounters {
    uint64_t seen, filtered_out, queued, dropped_ring_full, dropped_no_mbuf, over_limit;
  };
  std::vector<TapCounters> tap_counters_;
  uint64_t tap_total(uint64_t TapCounters::*field) const;
  std::atomic<uint64_t> reserved_{0};  // copies granted under max_packets
  std::atomic<bool> stopping_{false};
  // Past the byte limit (writer): queued but not written.
  std::atomic<uint64_t> over_limit_{0};
  // Writer thread.
  std::atomic<uint64_t> written_packets_{0}, written_bytes_{0};
  mutable std::mutex mutex_;  // files_, stop_reason_, error_
  std::condition_variable done_;
  std::vector<std::pair<std::string, uint64_t>> files_;  // path, bytes
  std::string stop_reason_;
  std::string error_;
  std::atomic<bool> finished_{false};
  std::thread thread_;
};

}  // namespace oryx::pdump
