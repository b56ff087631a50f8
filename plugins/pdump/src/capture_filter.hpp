// SPDX-License-Identifier: Apache-2.0
// capture_filter.hpp - a tcpdump filter expression, compiled by libpcap and
// run by DPDK's BPF library (converted to eBPF, JIT-compiled when the CPU
// allows) on each mbuf a capture point sees.
#pragma once

#include <cstdint>
#include <string>

struct rte_bpf;
struct rte_mbuf;

namespace oryx::pdump {

class CaptureFilter {
 public:
  // Throws std::invalid_argument with libpcap's or DPDK's reason.
  CaptureFilter(const std::string& expression, uint32_t snaplen);
  ~CaptureFilter();
  CaptureFilter(const CaptureFilter&) = delete;
  CaptureFilter& operator=(const CaptureFilter&) = delete;

  bool matches(rte_mbuf* m) const;  // worker threads; never blocks
  bool jit() const { return jit_ != nullptr; }

 private:
  rte_bpf* bpf_ = nullptr;
  uint64_t (*jit_)(void*) = nullptr;
};

}  // namespace oryx::pdump
