// SPDX-License-Identifier: Apache-2.0
// vlan_plugin.cpp - the vlan plugin's descriptor: two stage types.
#include "vlan_stages.hpp"

namespace {

constexpr const oryx_stage_desc* kStages[] = {&oryx::vlan::kVlanInterfaceStage,
                                              &oryx::vlan::kVlanDemuxStage, nullptr};
constexpr oryx_plugin_desc kPlugin = oryx::sdk::make_plugin(
    {"vlan", "1.0.0", "802.1Q VLAN sub-interfaces: tag on transmit, demultiplex by VID on receive",
     nullptr, kStages});

}  // namespace

ORYX_PLUGIN_EXPORT(kPlugin)
