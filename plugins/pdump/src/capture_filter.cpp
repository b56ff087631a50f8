// SPDX-License-Identifier: Apache-2.0
// capture_filter.cpp - see capture_filter.hpp.
#include "capture_filter.hpp"

#include <pcap/pcap.h>

#include <rte_bpf.h>
#include <rte_errno.h>
#include <rte_malloc.h>

#include <stdexcept>

namespace oryx::pdump {

CaptureFilter::CaptureFilter(const std::string& expression, uint32_t snaplen) {
  pcap_t* pcap = pcap_open_dead(DLT_EN10MB, int(snaplen));
  if (!pcap) throw std::invalid_argument("libpcap cannot open a dead handle");
  bpf_program program{};
  if (pcap_compile(pcap, &program, expression.c_str(), 1, PCAP_NETMASK_UNKNOWN) != 0) {
    std::string why = pcap_geterr(pcap);
    pcap_close(pcap);
    throw std::invalid_argument("filter \"" + expression + "\": " + why);
  }
  rte_bpf_prm* prm = rte_bpf_convert(&program);
  pcap_freecode(&program);
  pcap_close(pcap);
  if (!prm)
    throw std::invalid_argument("filter \"" + expression +
                                "\": DPDK cannot convert it: " + rte_strerror(rte_errno));
  bpf_ = rte_bpf_load(prm);
  rte_free(prm);  // rte_bpf_convert allocates with rte_malloc; load copied it
  if (!bpf_)
    throw std::invalid_argument("filter \"" + expression +
                                "\": DPDK cannot load it: " + rte_strerror(rte_errno));
  rte_bpf_jit jit{};
  if (rte_bpf_get_jit(bpf_, &jit) == 0) jit_ = jit.func;
}

CaptureFilter::~CaptureFilter() { rte_bpf_destroy(bpf_); }

bool CaptureFilter::matches(rte_mbuf* m) const {
  // The classic BPF return value: 0 rejects, anything else accepts.
  return (jit_ ? jit_(m) : rte_bpf_exec(bpf_, m)) != 0;
}

}  // namespace oryx::pdump
