// SPDX-License-Identifier: Apache-2.0
// length_filter.cpp - example out-of-tree plugin: sends packets up to
// `max_length` bytes to edge 1 and longer ones to edge 2 (or drops them
// when the stage has a single edge), counting both.
#include <oryx/sdk.hpp>

#include <rte_mbuf.h>

namespace {

enum Counter : size_t { kShort, kLong, kCount };

constexpr auto kCounters = oryx::sdk::counter_table({
    {kShort,
     oryx::sdk::counter("short", "packets", "Packets up to max_length bytes, sent to edge 1.")},
    {kLong, oryx::sdk::counter("long", "packets", "Longer packets, sent to edge 2 or dropped.")},
});
static_assert(kCounters.size() == kCount);

constexpr oryx_param kParams[] = {
    oryx::sdk::param_int("max_length", 60, 9000, "1514", "Longest packet sent to edge 1, in bytes."),
    oryx::sdk::param_end(),
};

class LengthFilter {
 public:
  explicit LengthFilter(const oryx::sdk::InstanceContext& ctx)
      : max_length_(uint32_t(ctx.config.get_int("max_length"))),
        long_edge_(ctx.edges.size() >= 2 ? 2 : ORYX_EDGE_DROP) {
    if (ctx.edges.empty()) throw oryx::sdk::Error("length_filter needs at least one next stage");
    ctx.log.info("packets over ", max_length_, " bytes go to ",
                 ctx.edges.size() >= 2 ? ctx.edges[1] : std::string("the drop edge"));
  }

  void process(oryx_burst& b) {
    uint64_t n_long = 0;
    for (uint16_t i = 0; i < b.count; i++) {
      bool is_long = b.pkts[i]->pkt_len > max_length_;
      b.next[i] = is_long ? long_edge_ : 1;
      n_long += is_long;
    }
    b.counters[kLong] += n_long;
    b.counters[kShort] += b.count - n_long;
  }

 private:
  uint32_t max_length_;
  uint16_t long_edge_;
};

constexpr oryx_stage_desc kStage = oryx::sdk::make_stage<LengthFilter>(
    {"length_filter", "Split packets by length.", kParams, kCounters.data(), kCount});
constexpr const oryx_stage_desc* kStages[] = {&kStage, nullptr};
constexpr oryx_plugin_desc kPlugin = oryx::sdk::make_plugin(
    {"length_filter", "0.1.0", "Example: split packets by length", nullptr, kStages});

}  // namespace

ORYX_PLUGIN_EXPORT(kPlugin)
