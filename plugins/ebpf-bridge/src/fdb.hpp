// SPDX-License-Identifier: Apache-2.0
// fdb.hpp - reading and pruning the bridge's forwarding table from user
// space, in batches (a table of a million stations is read in about a
// thousand system calls, not two million).
#pragma once

#include <linux/types.h>

#include "bridge_shared.h"

#include <cstddef>
#include <functional>
#include <limits>
#include <vector>

namespace oryx::bridge {

struct Station {
  oryx_br_fdb_key key;
  oryx_br_fdb_entry entry;
};

// The table's stations, at most `limit` (it may change meanwhile);
// *truncated says whether more were left.
std::vector<Station> read_stations(int fdb_fd, size_t limit = std::numeric_limits<size_t>::max(),
                                   bool* truncated = nullptr);

// Deletes the stations for which `doomed` holds; returns how many went.
size_t forget_stations_if(int fdb_fd, const std::function<bool(const Station&)>& doomed);

}  // namespace oryx::bridge
