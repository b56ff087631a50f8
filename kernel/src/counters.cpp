// SPDX-License-Identifier: Apache-2.0
// counters.cpp - per-worker counter storage.
#include "counters.hpp"

#include <cstdlib>
#include <cstring>
#include <new>

namespace oryx::kernel {

namespace {
constexpr size_t kCacheLine = 64;
constexpr size_t kPerLine = kCacheLine / sizeof(uint64_t);
}  // namespace

CounterBlock::CounterBlock(std::string stage, std::string type,
                           const oryx_counter_desc* plugin_counters, uint32_t plugin_count,
                           uint32_t workers)
    : stage_(std::move(stage)), type_(std::move(type)), workers_(workers) {
  defs_.push_back({"packets", ORYX_COUNTER, "packets", "Packets this stage received or polled."});
  defs_.push_back({"drops", ORYX_COUNTER, "packets",
                   "Packets this stage sent to the drop edge (freed by the kernel)."});
  for (uint32_t i = 0; i < plugin_count; i++)
    defs_.push_back({plugin_counters[i].name, plugin_counters[i].kind,
                     plugin_counters[i].unit ? plugin_counters[i].unit : "",
                     plugin_counters[i].help ? plugin_counters[i].help : ""});
  stride_ = (defs_.size() + kPerLine - 1) / kPerLine * kPerLine;
  size_t bytes = stride_ * sizeof(uint64_t) * (workers_ + 1);
  rows_ = static_cast<uint64_t*>(std::aligned_alloc(kCacheLine, bytes));
  if (!rows_) throw std::bad_alloc();
  std::memset(rows_, 0, bytes);
}

CounterBlock::~CounterBlock() { std::free(rows_); }

uint64_t CounterBlock::per_worker(size_t i, uint32_t worker) const {
  // Workers write without atomics; an aligned 64-bit load never tears.
  return __atomic_load_n(&rows_[size_t(worker) * stride_ + i], __ATOMIC_RELAXED);
}

uint64_t CounterBlock::total(size_t i) const {
  uint64_t sum = 0;
  for (uint32_t w = 0; w <= workers_; w++) sum += per_worker(i, w);
  return sum;
}

CounterBlock* CounterRegistry::add(std::string stage, std::string type,
                                   const oryx_counter_desc* counters, uint32_t count,
                                   uint32_t workers) {
  blocks_.push_back(
      std::make_unique<CounterBlock>(std::move(stage), std::move(type), counters, count, workers));
  return blocks_.back().get();
}

const CounterBlock* CounterRegistry::find(const std::string& stage) const {
  for (const auto& b : blocks_)
    if (b->stage() == stage) return b.get();
  return nullptr;
}

}  // namespace oryx::kernel
