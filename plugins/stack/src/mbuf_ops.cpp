// SPDX-License-Identifier: Apache-2.0
// mbuf_ops.cpp - see mbuf_ops.hpp.
#include "mbuf_ops.hpp"

#include <rte_mbuf.h>
#include <rte_ring.h>

#include <algorithm>

namespace oryx::stack {

namespace {

void (*g_after_tx)() = nullptr;  // one per process, as lwIP is one instance

void* mbuf_alloc(void* pool, uint32_t len, TxSpan* spans, unsigned* count) {
  auto* mp = static_cast<rte_mempool*>(pool);
  rte_mbuf* head = nullptr;
  unsigned n = 0;
  for (uint32_t left = len; left || !head;) {
    rte_mbuf* m = n < kMaxTxSpans ? rte_pktmbuf_alloc(mp) : nullptr;
    if (!m) {
      rte_pktmbuf_free(head);
      return nullptr;
    }
    uint16_t take = uint16_t(std::min<uint32_t>(left, rte_pktmbuf_tailroom(m)));
    spans[n++] = {reinterpret_cast<uint8_t*>(rte_pktmbuf_append(m, take)), take};
    left -= take;
    if (!head) {
      head = m;
    } else if (rte_pktmbuf_chain(head, m) != 0) {
      rte_pktmbuf_free(m);
      rte_pktmbuf_free(head);
      return nullptr;
    }
  }
  *count = n;
  return head;
}

void mbuf_free(void* m) { rte_pktmbuf_free(static_cast<rte_mbuf*>(m)); }

void mbuf_free_segment(void* m) { rte_pktmbuf_free_seg(static_cast<rte_mbuf*>(m)); }

bool mbuf_queue_tx(void* ring, void* m) {
  if (rte_ring_mp_enqueue(static_cast<rte_ring*>(ring), m) != 0) return false;
  if (g_after_tx) g_after_tx();
  return true;
}

}  // namespace

uint16_t frames_of(rte_mbuf* m, Interface::Frame* out) {
  uint16_t n = 0;
  for (rte_mbuf* s = m; s; s = s->next)
    out[n++] = {s, rte_pktmbuf_mtod(s, uint8_t*), s->data_len, static_cast<uint8_t*>(s->buf_addr),
                uint16_t(s == m ? m->nb_segs : 0), m->pkt_len};
  return n;
}

MbufOps dpdk_mbuf_ops(void (*after_tx)()) {
  g_after_tx = after_tx;
  return {mbuf_alloc, mbuf_free, mbuf_free_segment, mbuf_queue_tx};
}

}  // namespace oryx::stack
