// SPDX-License-Identifier: Apache-2.0
// tcp_hash_test.cpp - lwip patch 0021: the connection hash is sized from
// the connections an instance may hold, and every connection is found by
// its 4-tuple before and after a resize.
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>

extern "C" {
#include "lwip/init.h"
#include "lwip/instance.h"
#include "lwip/ip_addr.h"
#include "lwip/priv/instance_state.h"
#include "lwip/priv/tcp_priv.h"
#include "lwip/tcp.h"
}

#include <vector>

// lwIP without the glue; the checksum is the glue's own (src/checksum.cpp).
#include "without_glue.hpp"

namespace {

// Connections put straight into the active list (and so into the hash
// and the port index), as tcp_input does for an accepted one; no
// interface, no thread: the core-lock check passes without a tcpip thread.
struct Connections {
  std::vector<tcp_pcb*> pcbs;
  ip_addr_t local, remote;

  explicit Connections(size_t n) {
    IP_ADDR4(&local, 198, 18, 0, 1);
    IP_ADDR4(&remote, 198, 18, 0, 2);
    for (size_t i = 0; i < n; i++) {
      tcp_pcb* pcb = tcp_new();
      REQUIRE(pcb);
      ip_addr_copy(pcb->local_ip, local);
      ip_addr_copy(pcb->remote_ip, remote);
      pcb->local_port = 80;
      pcb->remote_port = u16_t(1024 + i);
      pcb->state = ESTABLISHED;
      TCP_REG_ACTIVE(pcb);
      pcbs.push_back(pcb);
    }
  }
  ~Connections() {
    for (tcp_pcb* pcb : pcbs) tcp_pcb_remove(&LWIP_INST->tcp_active_pcbs, pcb), memp_free(MEMP_TCP_PCB, pcb);
  }
  size_t found() {
    size_t n = 0;
    for (size_t i = 0; i < pcbs.size(); i++)
      n += tcp_lookup(&local, 80, &remote, u16_t(1024 + i)) == pcbs[i];
    return n;
  }
  // How many connections are on the chain of the slot tcp_hash_slot()
  // gives for them (lwIP patch 0023: the glue prefetches that slot).
  size_t in_their_slot() {
    size_t n = 0;
    for (size_t i = 0; i < pcbs.size(); i++)
      for (tcp_pcb* p = *tcp_hash_slot(&local, 80, &remote, u16_t(1024 + i)); p; p = p->hash_next)
        if (p == pcbs[i]) {
          n++;
          break;
        }
    return n;
  }
};

struct Instance {
  Instance() {
    lwip_current_instance = lwip_instance_new();
    REQUIRE(lwip_current_instance);
    lwip_init();
  }
};

}  // namespace

TEST_CASE("the connection hash follows the connections it must hold", "[tcp][hash]") {
  static Instance instance;  // lwIP's pools are set up once per process
  CHECK(LWIP_INST->tcp_hash_bits == TCP_HASH_BITS_INITIAL);
  Connections conns(3000);
  CHECK(conns.found() == 3000);

  CHECK(tcp_hash_size(262144) == ERR_OK);  // the stack's default max_connections
  CHECK(LWIP_INST->tcp_hash_bits == 18);
  CHECK(conns.found() == 3000);  // moved to the new table
  CHECK(conns.in_their_slot() == 3000);

  CHECK(tcp_hash_size(100000) == ERR_OK);  // rounded up to a power of two
  CHECK(LWIP_INST->tcp_hash_bits == 17);
  CHECK(tcp_hash_size(16) == ERR_OK);  // never below 2^10 buckets
  CHECK(LWIP_INST->tcp_hash_bits == TCP_HASH_BITS_MIN);
  CHECK(conns.found() == 3000);  // three per bucket now, still all found
  CHECK(conns.in_their_slot() == 3000);
  CHECK(tcp_hash_size(u32_t(1) << 30) == ERR_OK);  // never above 2^22
  CHECK(LWIP_INST->tcp_hash_bits == TCP_HASH_BITS_MAX);
  CHECK(conns.found() == 3000);

  // A connection leaves the table it is in now.
  tcp_pcb* gone = conns.pcbs.back();
  conns.pcbs.pop_back();
  tcp_pcb_remove(&LWIP_INST->tcp_active_pcbs, gone);
  memp_free(MEMP_TCP_PCB, gone);
  CHECK(tcp_lookup(&conns.local, 80, &conns.remote, u16_t(1024 + 2999)) == nullptr);
  CHECK(conns.found() == 2999);
}
