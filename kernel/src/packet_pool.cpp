// SPDX-License-Identifier: Apache-2.0
#include "packet_pool.hpp"

#include <rte_errno.h>
#include <rte_mbuf.h>
#include <rte_mbuf_pool_ops.h>
#include <rte_memzone.h>

#include <unistd.h>

#include <string>

namespace oryx::kernel {

namespace {

void free_zone(rte_mempool_memhdr*, void* zone) {
  rte_memzone_free(static_cast<const rte_memzone*>(zone));
}

// One memzone holding `count` packed objects, or nullptr.
rte_mempool* packed_pool(const char* name, unsigned count, unsigned cache, uint16_t data_room,
                         int socket) {
  const unsigned elt = sizeof(rte_mbuf) + data_room;
  // NO_IOVA_CONTIG: objects may straddle pages, which is safe because the
  // memzone below is IOVA-contiguous as a whole.
  rte_mempool* mp = rte_mempool_create_empty(name, count, elt, cache,
                                             sizeof(rte_pktmbuf_pool_private), socket,
                                             RTE_MEMPOOL_F_NO_IOVA_CONTIG);
  if (!mp) return nullptr;
  if (rte_mempool_set_ops_byname(mp, rte_mbuf_best_mempool_ops(), nullptr) != 0) {
    rte_mempool_free(mp);
    return nullptr;
  }
  rte_pktmbuf_pool_private priv{};
  priv.mbuf_data_room_size = data_room;
  priv.mbuf_priv_size = 0;
  rte_pktmbuf_pool_init(mp, &priv);

  size_t len = size_t(rte_mempool_calc_obj_size(elt, mp->flags, nullptr)) * count;
  std::string zone_name = std::string(name) + "_mem";
  const rte_memzone* zone = rte_memzone_reserve_aligned(
      zone_name.c_str(), len, socket, RTE_MEMZONE_IOVA_CONTIG, unsigned(getpagesize()));
  if (!zone) {
    int err = rte_errno;
    rte_mempool_free(mp);
    rte_errno = err;
    return nullptr;
  }
  int added = rte_mempool_populate_iova(mp, static_cast<char*>(zone->addr), zone->iova, zone->len,
                                        free_zone, const_cast<rte_memzone*>(zone));
  if (added < 0 || unsigned(added) != count) {
    if (added < 0) rte_memzone_free(zone);  // not handed to the pool
    rte_mempool_free(mp);
    rte_errno = added < 0 ? -added : ENOMEM;
    return nullptr;
  }
  rte_mempool_obj_iter(mp, rte_pktmbuf_init, nullptr);
  return mp;
}

}  // namespace

rte_mempool* create_packet_pool(const char* name, unsigned count, unsigned cache,
                                uint16_t data_room, int socket, bool& packed) {
  packed = true;
  if (rte_mempool* mp = packed_pool(name, count, cache, data_room, socket)) return mp;
  // No contiguous zone that large (fragmented hugepages with physical
  // addressing): DPDK's own layout.
  packed = false;
  return rte_pktmbuf_pool_create(name, count, cache, 0, data_room, socket);
}

}  // namespace oryx::kernel
