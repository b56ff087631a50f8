// SPDX-License-Identifier: Apache-2.0
// vlan_stages.hpp - the stage descriptors the vlan plugin exports.
#pragma once

#include <oryx/sdk.hpp>

namespace oryx::vlan {

extern const oryx_stage_desc kVlanInterfaceStage;
extern const oryx_stage_desc kVlanDemuxStage;

}  // namespace oryx::vlan
