// SPDX-License-Identifier: Apache-2.0
// fdb.cpp - batched forwarding-table reads (BPF_MAP_LOOKUP_BATCH).
#include "fdb.hpp"

#include <bpf/bpf.h>

#include <algorithm>

namespace oryx::bridge {
namespace {
constexpr __u32 kBatch = 1024;
}

std::vector<Station> read_stations(int fdb_fd, size_t limit, bool* truncated) {
  std::vector<Station> out;
  std::vector<oryx_br_fdb_key> keys(kBatch);
  std::vector<oryx_br_fdb_entry> entries(kBatch);
  __u64 token = 0;  // where the next batch starts (a bucket number for hash maps)
  bool first = true;
  bpf_map_batch_opts opts{};
  opts.sz = sizeof(opts);
  for (;;) {
    __u32 count = kBatch;
    int rc = bpf_map_lookup_batch(fdb_fd, first ? nullptr : &token, &token, keys.data(),
                                  entries.data(), &count, &opts);
    first = false;
    for (__u32 i = 0; i < count; i++) {
      if (out.size() == limit) {
        if (truncated) *truncated = true;
        return out;
      }
      out.push_back({keys[i], entries[i]});
    }
    if (rc != 0) break;  // -ENOENT: that was the last batch
  }
  return out;
}

size_t forget_stations_if(int fdb_fd, const std::function<bool(const Station&)>& doomed) {
  size_t n = 0;
  for (const auto& s : read_stations(fdb_fd))
    if (doomed(s) && bpf_map_delete_elem(fdb_fd, &s.key) == 0) n++;
  return n;
}

}  // namespace oryx::bridge
