// SPDX-License-Identifier: Apache-2.0
// xconnect_stage.cpp - patches two ports together in both directions.
//
// Configured as `next = ["a", "b"]` with both ports' `next` pointing back at
// the xconnect: a packet that arrived on port a leaves on b and vice versa.
// The ingress port is the mbuf's ethdev port id, so the stage needs no
// per-packet metadata of its own.
#include <oryx/sdk.hpp>

#include <rte_mbuf.h>

#include <array>
#include <string>

namespace {

using oryx::sdk::Error;

enum Counter : size_t { kAtoB, kBtoA, kForeign, kCount };

constexpr auto kCounters = oryx::sdk::counter_table({
    {kAtoB,
     oryx::sdk::counter("a_to_b", "packets", "Packets patched from the first port to the second.")},
    {kBtoA,
     oryx::sdk::counter("b_to_a", "packets", "Packets patched from the second port to the first.")},
    {kForeign,
     oryx::sdk::counter("foreign", "packets", "Packets from a port that is neither end, dropped.")},
});
static_assert(kCounters.size() == kCount);

constexpr oryx_param kParams[] = {oryx::sdk::param_end()};

class XconnectStage {
 public:
  static void check(const oryx::sdk::Config&, const oryx::sdk::Edges& edges) {
    if (edges.size() != 2)
      throw Error("xconnect needs next = [\"port-a\", \"port-b\"], found " +
                  std::to_string(edges.size()) + " edge(s)");
    if (edges[0] == edges[1]) throw Error("xconnect ends must be two different ports");
  }

  explicit XconnectStage(const oryx::sdk::InstanceContext& ctx) : host_(ctx.host), ends_{} {
    check(ctx.config, ctx.edges);
    names_ = {ctx.edges[0], ctx.edges[1]};
  }

  // Ports register while their instances are created; resolve them once all
  // instances exist.
  void start() {
    for (size_t i = 0; i < 2; i++) {
      auto id = host_.find_port(names_[i]);
      if (!id) throw Error("xconnect end '" + names_[i] + "' is not a port");
      ends_[i] = *id;
    }
  }

  void process(oryx_burst& b) {
    uint64_t ab = 0, ba = 0, foreign = 0;
    for (uint16_t i = 0; i < b.count; i++) {
      uint16_t in = b.pkts[i]->port;
      if (in == ends_[0]) {
        b.next[i] = 2;  // edge 2 = second end
        ab++;
      } else if (in == ends_[1]) {
        b.next[i] = 1;
        ba++;
      } else {
        b.next[i] = ORYX_EDGE_DROP;
        foreign++;
      }
    }
    b.counters[kAtoB] += ab;
    b.counters[kBtoA] += ba;
    b.counters[kForeign] += foreign;
  }

 private:
  oryx::sdk::Host host_;
  std::array<std::string, 2> names_;
  std::array<uint16_t, 2> ends_;
};

constexpr oryx_stage_desc kXconnect = oryx::sdk::make_stage<XconnectStage>(
    {"xconnect", "Patch two ports together in both directions.", kParams, kCounters.data(), kCount,
     ORYX_STAGE_NEXT_INTERFACES});
constexpr const oryx_stage_desc* kStages[] = {&kXconnect, nullptr};
constexpr oryx_plugin_desc kPlugin = oryx::sdk::make_plugin(
    {"xconnect", "1.0.0", "Patches two ports together (forwarding and overhead tests)", nullptr,
     kStages});

}  // namespace

ORYX_PLUGIN_EXPORT(kPlugin)
