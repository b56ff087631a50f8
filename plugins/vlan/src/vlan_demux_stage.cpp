// SPDX-License-Identifier: Apache-2.0
// vlan_demux_stage.cpp - stage `vlan_demux`: the receive side of a trunk.
//
// A port (or bond) carrying VLANs sends everything it receives here; next
// lists the `vlan` sub-interfaces of that port and, optionally, the stage
// named by `native` that takes untagged and priority-tagged (VID 0) frames.
// A tagged frame is stripped in software unless the port already did it
// (vlan_strip offload), then handed to the sub-interface of its VID. Frames
// for a VID nobody configured, untagged frames without a native stage and
// frames too short to hold their tag are counted and dropped.
#include "vlan_stages.hpp"
#include "vlan_subinterface.hpp"

#include <rte_ether.h>
#include <rte_mbuf.h>

#include <array>

namespace oryx::vlan {
namespace {

using oryx::sdk::Error;

enum Counter : size_t {
  kTagged, kHardwareStripped, kUntagged, kUnknownVid, kUntaggedDropped, kMalformed, kCount
};

constexpr auto kCounters = oryx::sdk::counter_table({
    {kTagged,
     oryx::sdk::counter("tagged", "packets", "Tagged frames handed to their sub-interface.")},
    {kHardwareStripped,
     oryx::sdk::counter(
         "hardware_stripped", "packets",
         "Frames that arrived with their tag already removed by the port (vlan_strip offload).")},
    {kUntagged,
     oryx::sdk::counter("untagged", "packets",
                        "Untagged or priority-tagged frames handed to the native stage.")},
    {kUnknownVid, oryx::sdk::counter("unknown_vid", "packets",
                                     "Tagged frames for a VID no sub-interface has, dropped.")},
    {kUntaggedDropped,
     oryx::sdk::counter("untagged_dropped", "packets",
                        "Untagged frames dropped because no native stage is configured.")},
    {kMalformed, oryx::sdk::counter("malformed", "packets",
                                    "Frames shorter than their Ethernet or VLAN header, dropped.")},
});
static_assert(kCounters.size() == kCount);

constexpr oryx_param kParams[] = {
    oryx::sdk::param_string("native", "\"\"",
                            "Stage (one of next) that gets untagged and VID 0 frames; empty "
                            "drops them."),
    oryx::sdk::param_end(),
};

constexpr uint16_t kNoEdge = 0;  // the drop edge

class VlanDemuxStage {
 public:
  explicit VlanDemuxStage(const oryx::sdk::InstanceContext& ctx)
      : host_(ctx.host), log_(ctx.log), name_(ctx.name), edges_(ctx.edges) {
    if (edges_.empty())
      throw Error("vlan_demux needs next = [\"<vlan stage>\", ...] (and the native stage, if any)");
    std::string native = ctx.config.get_string("native");
    if (!native.empty()) {
      native_edge_ = ctx.edge_to(native);
      if (native_edge_ == kNoEdge)
        throw Error("native = \"" + native + "\" is not one of this stage's next edges");
    }
    by_vid_.fill(kNoEdge);
  }

  // Sub-interfaces publish their VID when created; all exist by now.
  void start() {
    for (size_t i = 0; i < edges_.size(); i++) {
      uint16_t edge = uint16_t(i + 1);
      if (edge == native_edge_) continue;
      auto* info = host_.find<SubinterfaceInfo>(subinterface_service(edges_[i]),
                                                kSubinterfaceServiceVersion);
      if (!info)
        throw Error("next edge \"" + edges_[i] +
                    "\" is neither a vlan stage nor the native stage");
      if (by_vid_[info->vid] != kNoEdge)
        throw Error("VID " + std::to_string(info->vid) + " is served by both \"" +
                    edges_[by_vid_[info->vid] - 1] + "\" and \"" + edges_[i] + "\"");
      by_vid_[info->vid] = edge;
    }
    log_.info("vlan_demux ", name_, ": ", edges_.size() - (native_edge_ ? 1 : 0),
              " sub-interface(s), untagged frames ",
              native_edge_ ? "to " + edges_[native_edge_ - 1] : std::string("dropped"));
  }

  void process(oryx_burst& b) {
    uint64_t c[kCount] = {};
    for (uint16_t i = 0; i < b.count; i++) {
      rte_mbuf* m = b.pkts[i];
      b.next[i] = route(m, c);
    }
    for (size_t k = 0; k < kCount; k++) b.counters[k] += c[k];
  }

 private:
  uint16_t route(rte_mbuf* m, uint64_t* c) const {
    if (m->ol_flags & RTE_MBUF_F_RX_VLAN_STRIPPED) {
      c[kHardwareStripped]++;
      return to_vid(m, c);
    }
    if (m->data_len < sizeof(rte_ether_hdr)) {
      c[kMalformed]++;
      return kNoEdge;
    }
    auto* eth = rte_pktmbuf_mtod(m, const rte_ether_hdr*);
    if (eth->ether_type != rte_cpu_to_be_16(RTE_ETHER_TYPE_VLAN)) return to_native(c);
    if (m->data_len < sizeof(rte_ether_hdr) + sizeof(rte_vlan_hdr)) {
      c[kMalformed]++;
      return kNoEdge;
    }
    rte_vlan_strip(m);  // sets vlan_tci and RTE_MBUF_F_RX_VLAN_STRIPPED
    return to_vid(m, c);
  }

  uint16_t to_vid(rte_mbuf* m, uint64_t* c) const {
    uint16_t vid = m->vlan_tci & 0x0FFF;
    if (vid == 0) {  // priority tag: belongs to the untagged network
      m->ol_flags &= ~(RTE_MBUF_F_RX_VLAN | RTE_MBUF_F_RX_VLAN_STRIPPED);
      return to_native(c);
    }
    uint16_t edge = by_vid_[vid];
    if (edge == kNoEdge) {
      c[kUnknownVid]++;
      return kNoEdge;
    }
    c[kTagged]++;
    return edge;
  }

  uint16_t to_native(uint64_t* c) const {
    if (native_edge_ == kNoEdge) {
      c[kUntaggedDropped]++;
      return kNoEdge;
    }
    c[kUntagged]++;
    return native_edge_;
  }

  oryx::sdk::Host host_;
  oryx::sdk::Logger log_;
  std::string name_;
  std::vector<std::string> edges_;
  uint16_t native_edge_ = kNoEdge;
  std::array<uint16_t, 4096> by_vid_{};
};

}  // namespace

constinit const oryx_stage_desc kVlanDemuxStage = oryx::sdk::make_stage<VlanDemuxStage>(
    {"vlan_demux",
     "The receive side of a VLAN trunk: strips tags and hands each frame to its VID's "
     "sub-interface.",
     kParams, kCounters.data(), kCount});

}  // namespace oryx::vlan
