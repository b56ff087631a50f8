// SPDX-License-Identifier: Apache-2.0
// bond_monitor.hpp - a control thread that watches a bond's members.
//
// The bonding driver switches members on its own (link monitoring, LACP);
// it tells nobody. This thread compares the active member set every
// interval and reports each change, so failovers are logged and counted.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace oryx::bond {

struct MemberSnapshot {
  std::vector<uint16_t> active;  // in the driver's order
  int primary = -1;              // the member carrying traffic (active-backup, alb)
  std::vector<bool> link_up;     // per configured member

  bool operator==(const MemberSnapshot&) const = default;
};

class BondMonitor {
 public:
  using Observe = std::function<MemberSnapshot()>;
  using Changed = std::function<void(const MemberSnapshot& before, const MemberSnapshot& now)>;

  BondMonitor(uint32_t interval_ms, Observe observe, Changed changed);
  ~BondMonitor();  // stops and joins the thread

 private:
  void run();
  uint32_t interval_ms_;
  Observe observe_;
  Changed changed_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace oryx::bond
