// SPDX-License-Identifier: Apache-2.0
// bond_monitor.hpp - a control thread that watches a bond's members.
//
// The bonding driver switches members on its own (link monitoring, LACP);
// it tells nobody, and it cannot see the carrier of kernel-backed members
// (member_link.hpp). This thread compares the members' links and the
// active set every interval and reports each change, so the stage can act
// on lost carrier and failovers are logged and counted.
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

  // `initial` is the state the first observation is compared with.
  BondMonitor(uint32_t interval_ms, MemberSnapshot initial, Observe observe, Changed changed);
  ~BondMonitor();  // stops and joins the thread

 private:
  void run();
  uint32_t interval_ms_;
  MemberSnapshot last_;
  Observe observe_;
  Changed changed_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace oryx::bond
