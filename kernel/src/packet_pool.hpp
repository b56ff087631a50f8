// SPDX-License-Identifier: Apache-2.0
// packet_pool.hpp - the kernel's mbuf pool, laid out so that every driver,
// AF_XDP's zero-copy path included, can use every mbuf.
//
// DPDK's AF_XDP driver registers the pool's memory as the socket's UMEM in
// place: from the first memory chunk's page, populated objects x object
// size. rte_pktmbuf_pool_create keeps objects from crossing pages (without
// hugepages: one 2.3 KiB mbuf per 4 KiB page) and may spread a pool over
// many chunks (24 with hugepages here), so a large share of the mbufs
// fell outside the UMEM: frames sent from them vanished in the kernel
// (invalid descriptors) and the mbufs never came back. This pool is one
// IOVA-contiguous memzone with the objects packed back to back, which is
// also what DMA-capable drivers need.
#pragma once

#include <rte_mempool.h>

namespace oryx::kernel {

// Returns nullptr (rte_errno set) if the memory cannot be had. `packed`
// is false when no contiguous zone was available and DPDK's own layout,
// which AF_XDP cannot use in full, was taken instead.
rte_mempool* create_packet_pool(const char* name, unsigned count, unsigned cache,
                                uint16_t data_room, int socket, bool& packed);

}  // namespace oryx::kernel
