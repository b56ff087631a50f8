// SPDX-License-Identifier: Apache-2.0
// vlan_interface_stage.cpp - stage `vlan`: one 802.1Q sub-interface.
//
// next = ["<parent>", "<upper>"]: the parent is the port (or bond) the
// tagged frames travel on, the upper stage (a stack) gets the untagged ones.
// Both directions pass through process(); a frame the vlan_demux stage (or
// the port's hardware) has stripped carries RTE_MBUF_F_RX_VLAN_STRIPPED and
// goes up, anything else came from above and is tagged on its way down.
// The sub-interface registers itself as a port of kind "vlan" on the
// parent's ethdev, so a stack on top finds its MAC address and MTU.
#include "vlan_stages.hpp"
#include "vlan_subinterface.hpp"

#include <rte_ethdev.h>
#include <rte_ether.h>
#include <rte_mbuf.h>

namespace oryx::vlan {
namespace {

using oryx::sdk::Error;

enum Counter : size_t {
  kRxPackets, kRxBytes, kTxPackets, kTxBytes, kTxHardwareTagged, kTxTagFailed, kRxNoUpper, kCount
};

constexpr auto kCounters = oryx::sdk::counter_table({
    {kRxPackets,
     oryx::sdk::counter("rx_packets", "packets", "Frames of this VID passed up, untagged.")},
    {kRxBytes, oryx::sdk::counter("rx_bytes", "bytes", "Bytes of those frames, without the tag.")},
    {kTxPackets,
     oryx::sdk::counter("tx_packets", "packets", "Frames tagged and sent to the parent.")},
    {kTxBytes, oryx::sdk::counter("tx_bytes", "bytes", "Bytes of those frames, without the tag.")},
    {kTxHardwareTagged,
     oryx::sdk::counter("tx_hardware_tagged", "packets",
                        "Frames left for the parent's VLAN insert offload to tag.")},
    {kTxTagFailed,
     oryx::sdk::counter("tx_tag_failed", "packets",
                        "Frames dropped because the tag could not be inserted (shared or "
                        "headroom-less mbuf).")},
    {kRxNoUpper,
     oryx::sdk::counter("rx_no_upper", "packets",
                        "Received frames dropped because the stage has no upper edge.")},
});
static_assert(kCounters.size() == kCount);

constexpr oryx_param kParams[] = {
    oryx::sdk::param_int("vid", 1, 4094, nullptr, "VLAN identifier of the sub-interface."),
    oryx::sdk::param_int("priority", 0, 7, "0", "802.1p priority code point put in sent tags."),
    oryx::sdk::param_end(),
};

constexpr uint16_t kParentEdge = 1;
constexpr uint16_t kUpperEdge = 2;

class VlanInterfaceStage {
 public:
  static void check(const oryx::sdk::Config&, const oryx::sdk::Edges& edges) {
    if (edges.empty() || edges.size() > 2)
      throw Error("a vlan stage has next = [\"<parent port>\", \"<upper stage>\"], found " +
                  std::to_string(edges.size()) + " edge(s)");
  }

  explicit VlanInterfaceStage(const oryx::sdk::InstanceContext& ctx)
      : name_(ctx.name), host_(ctx.host), log_(ctx.log) {
    check(ctx.config, ctx.edges);
    parent_ = ctx.edges[0];
    has_upper_ = ctx.edges.size() == 2;
    vid_ = uint16_t(ctx.config.get_int("vid"));
    tci_ = uint16_t(vid_ | (ctx.config.get_int("priority") << 13));
    auto parent = host_.find_port(parent_);
    if (!parent)
      throw Error("parent \"" + parent_ +
                  "\" (first entry of next) is not a port or bond defined above this stage");
    parent_port_ = *parent;
    info_ = {sizeof(SubinterfaceInfo), vid_, parent_port_};
    host_.publish(subinterface_service(name_), kSubinterfaceServiceVersion, &info_);
    host_.register_port(name_, parent_port_, "vlan");
  }

  // The parent's configuration is final once every instance exists.
  void start() {
    rte_eth_conf conf{};
    if (rte_eth_dev_conf_get(parent_port_, &conf) == 0)
      hardware_insert_ = (conf.txmode.offloads & RTE_ETH_TX_OFFLOAD_VLAN_INSERT) != 0;
    log_.info("vlan ", name_, ": vid ", vid_, " on ", parent_, ", tagging in ",
              hardware_insert_ ? "the port (vlan_insert offload)" : "software");
  }

  void process(oryx_burst& b) {
    uint64_t rx = 0, rx_bytes = 0, tx = 0, tx_bytes = 0, hw = 0, failed = 0, no_upper = 0;
    for (uint16_t i = 0; i < b.count; i++) {
      rte_mbuf* m = b.pkts[i];
      if (m->ol_flags & RTE_MBUF_F_RX_VLAN_STRIPPED) {
        m->ol_flags &= ~(RTE_MBUF_F_RX_VLAN | RTE_MBUF_F_RX_VLAN_STRIPPED);
        m->vlan_tci = 0;
        if (!has_upper_) {
          b.next[i] = ORYX_EDGE_DROP;
          no_upper++;
          continue;
        }
        b.next[i] = kUpperEdge;
        rx++;
        rx_bytes += m->pkt_len;
        continue;
      }
      uint32_t len = m->pkt_len;
      m->vlan_tci = tci_;
      if (hardware_insert_) {
        m->ol_flags |= RTE_MBUF_F_TX_VLAN;
        hw++;
      } else {
        if (rte_vlan_insert(&m) != 0) {
          b.next[i] = ORYX_EDGE_DROP;
          failed++;
          continue;
        }
        // A checksum offload request counts its headers from the frame's
        // start: the tag moved them by four bytes.
        if (m->ol_flags & (RTE_MBUF_F_TX_IP_CKSUM | RTE_MBUF_F_TX_L4_MASK)) m->l2_len += RTE_VLAN_HLEN;
        b.pkts[i] = m;
      }
      b.next[i] = kParentEdge;
      tx++;
      tx_bytes += len;
    }
    b.counters[kRxPackets] += rx;
    b.counters[kRxBytes] += rx_bytes;
    b.counters[kTxPackets] += tx;
    b.counters[kTxBytes] += tx_bytes;
    b.counters[kTxHardwareTagged] += hw;
    b.counters[kTxTagFailed] += failed;
    b.counters[kRxNoUpper] += no_upper;
  }

 private:
  std::string name_;
  oryx::sdk::Host host_;
  oryx::sdk::Logger log_;
  std::string parent_;
  uint16_t parent_port_ = 0;
  uint16_t vid_ = 0;
  uint16_t tci_ = 0;
  bool has_upper_ = false;
  bool hardware_insert_ = false;
  SubinterfaceInfo info_{};
};

}  // namespace

constinit const oryx_stage_desc kVlanInterfaceStage = oryx::sdk::make_stage<VlanInterfaceStage>(
    {"vlan", "An 802.1Q sub-interface: tags what it sends to its parent, passes up its VID's frames.",
     kParams, kCounters.data(), kCount, ORYX_STAGE_INTERFACE});

}  // namespace oryx::vlan
