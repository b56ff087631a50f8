// SPDX-License-Identifier: Apache-2.0
// fuzz_capture_request: any bytes as the body of POST /api/v1/captures
// and as a capture sub-path; a request's tcpdump filter is compiled by
// libpcap and loaded into DPDK's BPF library, as a capture would. The
// contract: a CaptureSpec or CaptureError(400); a filter loads or throws
// std::invalid_argument.
#include "capture_filter.hpp"
#include "capture_request.hpp"
#include "fuzz_eal.hpp"

#include <rte_mbuf.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <string>

using namespace oryx::pdump;

namespace {
rte_mempool* g_pool;
}

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  oryx::fuzz::start_eal();
  g_pool = rte_pktmbuf_pool_create("fuzz", 63, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
  if (!g_pool) std::abort();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  (void)split_path(text);
  CaptureSpec spec;
  try {
    spec = parse_capture_request(text);
  } catch (const CaptureError& e) {
    if (e.status != 400) std::abort();
    return 0;
  }
  if (spec.points.empty() || spec.points.size() > 16 || spec.snaplen < 64) std::abort();
  if (!spec.filter.empty()) {
    try {
      CaptureFilter filter(spec.filter, spec.snaplen);
      // Run it, JIT or interpreter, on the request's own bytes as a frame.
      rte_mbuf* m = rte_pktmbuf_alloc(g_pool);
      if (!m) std::abort();
      uint16_t len = uint16_t(std::min<size_t>(size, 1500));
      std::memcpy(rte_pktmbuf_append(m, len), data, len);
      (void)filter.matches(m);
      rte_pktmbuf_free(m);
    } catch (const std::invalid_argument&) {
    }
  }
  return 0;
}
