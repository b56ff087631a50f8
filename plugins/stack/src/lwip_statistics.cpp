// SPDX-License-Identifier: Apache-2.0
#include "lwip_statistics.hpp"

#include <lwip/priv/instance_state.h>
#include <lwip/stats.h>

namespace oryx::stack {

namespace {

// One entry per counter from kIpInReceives on, in the enum's order.
constexpr u32_t stats_mib2::*kMib2[] = {
    &stats_mib2::ipinreceives,    &stats_mib2::ipinhdrerrors,     &stats_mib2::ipinaddrerrors,
    &stats_mib2::ipinunknownprotos, &stats_mib2::ipindiscards,    &stats_mib2::ipindelivers,
    &stats_mib2::ipoutrequests,   &stats_mib2::ipoutdiscards,     &stats_mib2::ipoutnoroutes,
    &stats_mib2::ipreasmreqds,    &stats_mib2::ipreasmoks,        &stats_mib2::ipreasmfails,
    &stats_mib2::ipfragoks,       &stats_mib2::ipfragfails,       &stats_mib2::ipfragcreates,
    &stats_mib2::tcpactiveopens,  &stats_mib2::tcppassiveopens,   &stats_mib2::tcpattemptfails,
    &stats_mib2::tcpestabresets,  &stats_mib2::tcpinsegs,         &stats_mib2::tcpoutsegs,
    &stats_mib2::tcpretranssegs,  &stats_mib2::tcpinerrs,         &stats_mib2::tcpoutrsts,
    &stats_mib2::tcptimeouts,  // lwip patch 0014
    &stats_mib2::udpindatagrams,  &stats_mib2::udpnoports,        &stats_mib2::udpinerrors,
    &stats_mib2::udpoutdatagrams, &stats_mib2::icmpinmsgs,        &stats_mib2::icmpinerrors,
    &stats_mib2::icmpoutmsgs,     &stats_mib2::icmpouterrors,
};
static_assert(sizeof(kMib2) / sizeof(*kMib2) == kLwipDrops - kIpInReceives,
              "one lwIP MIB-II field per SNMP counter in glue.hpp");

// lwIP's per-protocol tallies, summed over the protocols.
stats_proto stats_::* const kProtocols[] = {&stats_::link, &stats_::etharp, &stats_::ip,
                                            &stats_::icmp, &stats_::udp,    &stats_::tcp,
                                            &stats_::ip6,  &stats_::icmp6,  &stats_::nd6};

}  // namespace

LwipStatistics::LwipStatistics() : last_(read()) {}

std::array<uint32_t, LwipStatistics::kCount> LwipStatistics::read() {
  std::array<uint32_t, kCount> now{};
  size_t i = 0;
  const stats_& stats = LWIP_INST->lwip_stats;  // the current instance's
  for (auto field : kMib2) now[i++] = stats.mib2.*field;
  uint32_t drops = 0, memory = 0;
  for (auto protocol : kProtocols) {
    drops += (stats.*protocol).drop;
    memory += (stats.*protocol).memerr;
  }
  now[kLwipDrops - kIpInReceives] = drops;
  now[kLwipMemoryErrors - kIpInReceives] = memory;
  return now;
}

void LwipStatistics::publish(uint64_t* c) {
  std::array<uint32_t, kCount> now = read();
  for (size_t i = 0; i < kCount; i++) {
    c[kIpInReceives + i] += uint32_t(now[i] - last_[i]);
    last_[i] = now[i];
  }
}

}  // namespace oryx::stack
