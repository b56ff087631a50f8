// SPDX-License-Identifier: Apache-2.0
// afxdp_alternating_tx - the minimal reproduction of the AF_XDP transmit
// freeze once seen when an application thread and a worker transmitted on
// one AF_XDP queue in turn (docs/architecture.md, "The AF_XDP transmit
// freeze"). Bare DPDK: no graph, no stack, no plugin.
//
// Two threads take turns, under a mutex, transmitting bursts of UDP
// frames on queue 0 of an af_xdp port: an EAL worker lcore (per-lcore
// mempool cache) and a plain pthread (no lcore, so it allocates from the
// whole pool, as application threads do). The mbuf pool is laid out either
// packed (Oryx's create_packet_pool: one IOVA-contiguous zone) or by
// rte_pktmbuf_pool_create. Prints what was sent, whether transmission
// stopped, the pool's mbufs in use, and the XDP socket's statistics
// (XDP_STATISTICS: descriptors the kernel refused as invalid).
//
// Usage: afxdp_alternating_tx [EAL args] -- IFACE packed|default FRAMES
// Exit status: 0 when the driver took every frame, 3 when transmission
// stopped for 2 s, 1 on a setup error. Whether the frames left is the
// caller's to count on the peer (tests/e2e/afxdp_alternating_tx.sh).
#include "packet_pool.hpp"

#include <rte_bus_vdev.h>
#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>

#include <dirent.h>
#include <linux/if_xdp.h>
#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>
#include <thread>

#ifndef AF_XDP
#define AF_XDP 44
#endif
#ifndef SOL_XDP
#define SOL_XDP 283
#endif

namespace {

constexpr uint16_t kBurst = 32;
constexpr uint16_t kFrameLen = 128;

uint16_t g_port;
rte_mempool* g_pool;
uint64_t g_frames;
std::mutex g_lock;
std::atomic<uint64_t> g_sent{0};
std::atomic<bool> g_stalled{false}, g_done{false};
std::atomic<int> g_turn{0};

// A broadcast UDP/IPv4 frame with a valid header checksum.
void fill(rte_mbuf* m, uint64_t seq) {
  auto* f = reinterpret_cast<uint8_t*>(rte_pktmbuf_append(m, kFrameLen));
  std::memset(f, 0, kFrameLen);
  std::memset(f, 0xff, 6);                                 // destination: broadcast
  const uint8_t src[6] = {0x02, 0, 0, 0, 0, 1};
  std::memcpy(f + 6, src, 6);
  f[12] = 0x08;                                            // IPv4
  uint8_t* ip = f + 14;
  ip[0] = 0x45;
  ip[3] = kFrameLen - 14;
  ip[8] = 64;
  ip[9] = 17;                                              // UDP
  ip[12] = 198, ip[13] = 18, ip[14] = 0, ip[15] = 9;       // 198.18.0.9
  ip[16] = 255, ip[17] = 255, ip[18] = 255, ip[19] = 255;
  uint32_t sum = 0;
  for (int i = 0; i < 20; i += 2) sum += uint32_t(ip[i] << 8 | ip[i + 1]);
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  ip[10] = uint8_t(~sum >> 8), ip[11] = uint8_t(~sum);
  uint8_t* udp = ip + 20;
  udp[0] = 0x27, udp[1] = 0x0f, udp[2] = 0x27, udp[3] = 0x0f;  // port 9999
  udp[5] = kFrameLen - 34;
  std::memcpy(udp + 8, &seq, sizeof(seq));
}

// Transmits on its turns (`who` 0 or 1) until done or stalled.
void sender(int who) {
  auto last_progress = std::chrono::steady_clock::now();
  while (!g_done.load() && !g_stalled.load()) {
    if (g_turn.load() != who) {
      std::this_thread::yield();
      continue;
    }
    std::lock_guard lock(g_lock);
    rte_mbuf* pkts[kBurst];
    uint16_t n = 0;
    for (; n < kBurst && g_sent.load() + n < g_frames; n++) {
      pkts[n] = rte_pktmbuf_alloc(g_pool);
      if (!pkts[n]) break;
      fill(pkts[n], g_sent.load() + n);
    }
    uint16_t sent = n ? rte_eth_tx_burst(g_port, 0, pkts, n) : 0;
    for (uint16_t i = sent; i < n; i++) rte_pktmbuf_free(pkts[i]);
    g_sent += sent;
    auto now = std::chrono::steady_clock::now();
    if (sent) last_progress = now;
    if (g_sent.load() >= g_frames) g_done = true;
    else if (now - last_progress > std::chrono::seconds(2)) g_stalled = true;  // nothing for 2 s
    g_turn = 1 - who;
  }
}

int worker_main(void*) {
  sender(0);
  return 0;
}

// XDP_STATISTICS of the AF_XDP sockets the port opened (there is one).
void print_xdp_statistics() {
  DIR* dir = opendir("/proc/self/fd");
  if (!dir) return;
  while (dirent* d = readdir(dir)) {
    int fd = std::atoi(d->d_name);
    int domain = 0;
    socklen_t len = sizeof(domain);
    if (fd <= 2 || getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &len) != 0 || domain != AF_XDP)
      continue;
    xdp_statistics st{};
    len = sizeof(st);
    if (getsockopt(fd, SOL_XDP, XDP_STATISTICS, &st, &len) == 0)
      std::printf("xdp socket %d: tx_invalid_descs %llu, tx_ring_empty_descs %llu\n", fd,
                  (unsigned long long)st.tx_invalid_descs,
                  (unsigned long long)st.tx_ring_empty_descs);
  }
  closedir(dir);
}

}  // namespace

int main(int argc, char** argv) {
  int used = rte_eal_init(argc, argv);
  if (used < 0) {
    std::fprintf(stderr, "EAL init failed\n");
    return 1;
  }
  argc -= used;
  argv += used;
  if (argc != 4) {
    std::fprintf(stderr, "usage: afxdp_alternating_tx [EAL args] -- IFACE packed|default FRAMES\n");
    return 1;
  }
  const std::string iface = argv[1], layout = argv[2];
  g_frames = std::strtoull(argv[3], nullptr, 10);
  const unsigned mbufs = 8191;
  bool packed = false;
  if (layout == "packed")
    g_pool = oryx::kernel::create_packet_pool("pool", mbufs, 256, RTE_MBUF_DEFAULT_BUF_SIZE,
                                              int(rte_socket_id()), packed);
  else
    g_pool = rte_pktmbuf_pool_create("pool", mbufs, 256, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
                                     int(rte_socket_id()));
  if (!g_pool || (layout == "packed") != packed) {
    std::fprintf(stderr, "cannot create the %s pool\n", layout.c_str());
    return 1;
  }
  std::string args = "iface=" + iface + ",start_queue=0,queue_count=1";
  rte_eth_conf conf{};
  if (rte_vdev_init("net_af_xdp_repro", args.c_str()) != 0 ||
      rte_eth_dev_get_port_by_name("net_af_xdp_repro", &g_port) != 0 ||
      rte_eth_dev_configure(g_port, 1, 1, &conf) != 0 ||
      rte_eth_rx_queue_setup(g_port, 0, 1024, 0, nullptr, g_pool) != 0 ||
      rte_eth_tx_queue_setup(g_port, 0, 1024, 0, nullptr) != 0 || rte_eth_dev_start(g_port) != 0) {
    std::fprintf(stderr, "cannot start an af_xdp port on %s\n", iface.c_str());
    return 1;
  }
  unsigned lcore = rte_get_next_lcore(-1, 1, 0);
  if (lcore >= RTE_MAX_LCORE) {
    std::fprintf(stderr, "give the EAL two lcores (-l 0,1)\n");
    return 1;
  }
  rte_eal_remote_launch(worker_main, nullptr, lcore);  // an EAL worker: per-lcore cache
  std::thread app([] { sender(1); });                   // like an application thread: none
  app.join();
  rte_eal_wait_lcore(lcore);
  // Let the kernel complete what it took, then reclaim completions.
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  rte_eth_tx_done_cleanup(g_port, 0, 0);
  rte_mbuf* none[1];
  rte_eth_tx_burst(g_port, 0, none, 0);  // the driver pulls its completion ring here
  unsigned in_use = rte_mempool_in_use_count(g_pool);
  std::printf("%s pool: %lu of %lu frames sent, transmission %s, %u mbufs in use (the fill "
              "ring and the caches hold some)\n",
              layout.c_str(), (unsigned long)g_sent.load(), (unsigned long)g_frames,
              g_stalled ? "STOPPED" : "ran to the end", in_use);
  print_xdp_statistics();
  rte_eth_dev_stop(g_port);
  rte_eth_dev_close(g_port);
  rte_eal_cleanup();
  return g_stalled ? 3 : 0;
}
