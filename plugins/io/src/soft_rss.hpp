// SPDX-License-Identifier: Apache-2.0
// soft_rss.hpp - a single-queue port made to look like a multi-queue NIC
// with receive-side scaling (the seeds' user-space veth: software queues
// and rte_softrss), so that RSS and the per-worker stack's balancing can
// be tested on a machine without such a NIC. The worker that owns the
// device's queue reads it and hands each frame to software queue
// hash -> queue (oryx/rss.hpp: Toeplitz with the default key, a 128-entry
// redirection table), with the hash in the mbuf as a NIC puts it there;
// software queue q is polled by worker q modulo the worker count. The
// device has one transmit queue too: worker 0 sends on it, the other
// workers through a software queue worker 0 drains.
#pragma once

#include <rte_mbuf.h>
#include <rte_ring.h>

#include <cstdint>
#include <string>
#include <vector>

namespace oryx::io {

class SoftRss {
 public:
  // Throws oryx::sdk::Error when a ring cannot be made.
  SoftRss(const std::string& stage, unsigned queues, unsigned ring_size, int socket);
  ~SoftRss();
  SoftRss(const SoftRss&) = delete;
  SoftRss& operator=(const SoftRss&) = delete;

  // Receives one burst from the device's queue 0 and spreads it; adds to
  // *spread the frames queued, to *ring_full those dropped (freed) for a
  // full software queue.
  void spread(uint16_t port_id, uint64_t* spread, uint64_t* ring_full);
  // Frames from the software queues `worker` polls, at most `capacity`.
  uint16_t collect(uint32_t worker, uint32_t workers, rte_mbuf** pkts, uint16_t capacity);
  // Worker 0: sends what the other workers queued; adds to *sent and
  // *bytes what the device took, to *full what it refused (freed).
  void drain_tx(uint16_t port_id, uint64_t* sent, uint64_t* bytes, uint64_t* full);
  // Another worker: queues frames for the device; returns how many it
  // took (the rest stay the caller's).
  uint16_t queue_tx(rte_mbuf** pkts, uint16_t n);
  unsigned queues() const { return unsigned(rings_.size()); }

  // The queue a frame goes to (and its hash in m->hash.rss, flagged):
  // TCP and UDP by addresses and ports, other IP by addresses, anything
  // else to queue 0.
  static unsigned classify(rte_mbuf* m, unsigned queues);

 private:
  std::vector<rte_ring*> rings_;
  rte_ring* tx_ = nullptr;  // the other workers' frames for the device
};

}  // namespace oryx::io
