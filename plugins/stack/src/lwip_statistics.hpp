// SPDX-License-Identifier: Apache-2.0
// lwip_statistics.hpp - lwIP's own statistics (LWIP_STATS, MIB2_STATS) as
// the stack stage's counters: the SNMP counters Linux shows in
// /proc/net/snmp (nstat's Ip*, Tcp*, Udp*, Icmp*), and what lwIP itself
// dropped. They are per lwIP instance (instance.hpp), the current one's;
// each stage shows what happened since it was created.
#pragma once

#include "glue.hpp"

#include <array>
#include <cstdint>

namespace oryx::stack {

class LwipStatistics {
 public:
  // Starts counting from lwIP's present totals (exact under the core lock).
  LwipStatistics();
  // Adds to `c` what lwIP counted since the last call (its counters are
  // 32 bits wide and wrap); the core lock is held.
  void publish(uint64_t* c);

 private:
  static constexpr size_t kCount = kCounterCount - kIpInReceives;
  static std::array<uint32_t, kCount> read();
  std::array<uint32_t, kCount> last_;
};

}  // namespace oryx::stack
