// SPDX-License-Identifier: Apache-2.0
// vlan_subinterface.hpp - what a `vlan` stage publishes about itself so the
// `vlan_demux` stage on the same parent can route received frames to it.
//
// Published through the kernel's service registry under
// "vlan.subinterface.<stage name>", so the two stage types share no global
// state of their own.
#pragma once

#include <oryx/abi.h>

#include <cstdint>
#include <string>

namespace oryx::vlan {

constexpr uint32_t kSubinterfaceServiceVersion = 1;

struct SubinterfaceInfo {
  uint32_t struct_size;
  uint16_t vid;          // 1..4094
  uint16_t parent_port;  // ethdev the tagged frames travel on
};

inline std::string subinterface_service(const std::string& stage) {
  return "vlan.subinterface." + stage;
}

}  // namespace oryx::vlan
