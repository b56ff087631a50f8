// SPDX-License-Identifier: Apache-2.0
// port_registry.hpp - the kernel's registry of DPDK ports by stage name,
// and their state and statistics as JSON (read straight from ethdev, so
// reading never stops a worker).
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

namespace oryx::kernel {

struct PortEntry {
  std::string name;
  uint16_t port_id;
  std::string kind;
  // The registering plugin's extra state ("details"), or null.
  char* (*details)(void* ctx) = nullptr;
  void* details_ctx = nullptr;
};

class PortRegistry {
 public:
  // Returns false if the name is taken.
  bool add(const std::string& name, uint16_t port_id, const std::string& kind);
  bool lookup(const std::string& name, uint16_t& port_id) const;
  // Returns false for an unknown port or one that has a handler already.
  bool set_details(const std::string& name, char* (*handler)(void*), void* ctx);
  std::vector<PortEntry> entries() const;

  // One port's state, counters and (optionally) driver xstats.
  static nlohmann::json describe(const PortEntry& port, bool xstats);
  // The port's basic ethdev counters, or null if the device cannot say.
  static nlohmann::json counters(uint16_t port_id);

 private:
  mutable std::mutex mutex_;
  std::vector<PortEntry> ports_;
};

}  // namespace oryx::kernel
