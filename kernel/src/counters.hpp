// SPDX-License-Identifier: Apache-2.0
// counters.hpp - counters declared by stages, stored by the kernel: one
// cache-aligned row per worker plus one for control threads, so a worker
// only ever writes its own cache lines; readers sum the rows.
#pragma once

#include <oryx/abi.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace oryx::kernel {

struct CounterDef {
  std::string name;
  uint32_t kind;  // enum oryx_counter_kind
  std::string unit;
  std::string help;
};

class CounterBlock {
 public:
  // The kernel's own per-stage counters come first in every row.
  enum Builtin : size_t { kPackets = 0, kDrops = 1, kBuiltinCount = 2 };

  CounterBlock(std::string stage, std::string type, const oryx_counter_desc* plugin_counters,
               uint32_t plugin_count, uint32_t workers);
  ~CounterBlock();
  CounterBlock(const CounterBlock&) = delete;
  CounterBlock& operator=(const CounterBlock&) = delete;

  uint64_t* row(uint32_t worker) { return rows_ + size_t(worker) * stride_; }
  uint64_t* control_row() { return row(workers_); }
  // The part of a row the plugin sees (after the built-ins).
  static uint64_t* plugin_part(uint64_t* row) { return row + kBuiltinCount; }

  const std::string& stage() const { return stage_; }
  const std::string& type() const { return type_; }
  const std::vector<CounterDef>& defs() const { return defs_; }
  uint32_t workers() const { return workers_; }
  // Value of counter i summed over all rows; per_worker(i, w) for one row.
  uint64_t total(size_t i) const;
  uint64_t per_worker(size_t i, uint32_t worker) const;

 private:
  std::string stage_, type_;
  std::vector<CounterDef> defs_;
  uint32_t workers_;
  size_t stride_;  // uint64s per row, a multiple of a cache line
  uint64_t* rows_;
};

class CounterRegistry {
 public:
  CounterBlock* add(std::string stage, std::string type, const oryx_counter_desc* counters,
                    uint32_t count, uint32_t workers);
  const std::vector<std::unique_ptr<CounterBlock>>& blocks() const { return blocks_; }
  const CounterBlock* find(const std::string& stage) const;

 private:
  std::vector<std::unique_ptr<CounterBlock>> blocks_;
};

}  // namespace oryx::kernel
