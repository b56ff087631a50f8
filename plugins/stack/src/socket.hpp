// SPDX-License-Identifier: Apache-2.0
// socket.hpp - one socket of the socket layer (lwIP side).
//
// Everything but the atomics is touched only in stack context, that is
// under lwIP's core lock: by the worker running queued socket calls, by a
// run-to-completion caller, or by lwIP's callbacks. Application threads
// read the atomics (readiness, FIONREAD, blocking mode) without the lock.
#pragma once

extern "C" {
#include <lwip/ip_addr.h>
#include <lwip/pbuf.h>
}

#include <sys/socket.h>

#include <atomic>
#include <cstdint>
#include <deque>
#include <memory>
#include <vector>

struct tcp_pcb;
struct udp_pcb;

namespace oryx::stack {

struct Socket;

// Shutdown bits, as Linux's sk_shutdown.
constexpr uint8_t kRcvShutdown = 1;
constexpr uint8_t kSendShutdown = 2;

enum class Phase : uint8_t {
  kFresh,       // created, maybe bound: Linux TCP_CLOSE before any connect
  kListening,
  kConnecting,  // SYN sent
  kConnected,   // established, close-wait, or half closed
  kClosed,      // reset, timed out, refused, or both directions finished
};

// Listening sockets sharing one lwIP listen pcb (SO_REUSEPORT); a plain
// listener is a group of one. New connections go round-robin to members
// whose accept queue has room.
struct ListenGroup {
  tcp_pcb* pcb = nullptr;
  std::vector<Socket*> members;
  size_t next = 0;
};

struct Datagram {
  pbuf* p;
  ip_addr_t from;
  uint16_t port;
};

struct Socket {
  int handle = -1;  // -1 until accept() hands a queued connection out
  int domain = 0;   // AF_INET or AF_INET6
  int type = 0;     // SOCK_STREAM or SOCK_DGRAM
  Phase phase = Phase::kFresh;
  uint8_t shut = 0;
  int error = 0;  // pending SO_ERROR, a positive errno

  tcp_pcb* tcp = nullptr;  // null once lwIP freed it or we let it go
  udp_pcb* udp = nullptr;
  std::shared_ptr<ListenGroup> group;  // listening sockets
  bool bound = false;
  ip_addr_t local_ip{}, remote_ip{};  // kept for get*name after the pcb is gone
  uint16_t local_port = 0, remote_port = 0;

  // Receive side. Stream: pbufs in arrival order, rx_off bytes of the
  // first already read. Datagram: one entry per datagram.
  std::deque<pbuf*> rx;
  size_t rx_off = 0;
  std::deque<Datagram> dgrams;
  size_t rx_bytes = 0;
  std::deque<std::shared_ptr<Socket>> accept_queue;
  int backlog = 0;

  // Options (Linux names).
  bool v6only = false, reuseaddr = false, reuseport = false, broadcast = false;
  bool keepalive = false, nodelay = false, cork = false;
  bool linger_on = false;
  int linger_seconds = 0;
  int rcvbuf = 0, sndbuf = 0;  // as getsockopt reports them (Linux doubles)
  uint32_t user_timeout_ms = 0;
  uint16_t user_mss = 0;  // TCP_MAXSEG; 0 unset (lwIP patch 0010)
  int fastopen_queue = 0;  // TCP_FASTOPEN, kept for getsockopt only
  uint32_t notsent_lowat = 0;  // TCP_NOTSENT_LOWAT; 0: no limit (Linux's default)
  int linger2_s = 0;  // TCP_LINGER2: FIN-WAIT-2 seconds; 0 the default, -1 none
  uint32_t keep_idle_s = 7200, keep_intvl_s = 75, keep_cnt = 9;
  uint8_t tos = 0, ttl = 64;
  bool counted_live = false;  // in the tcp_connections gauge
  uint64_t connect_started_ms = 0;
  bool peer_fin = false;  // the peer's FIN arrived (CLOSE_WAIT unless we sent ours)
  // A connect() answered EINPROGRESS whose outcome no connect() has
  // reported yet: Linux gives it (0 or the error) to the next connect().
  bool connect_unreported = false;
  uint64_t last_progress_ms = 0;  // last time sent data was acknowledged

  // Wake-up callback (oryx_socket_notify_fn), stack context only.
  void (*notify)(void* ctx, int handle, uint32_t events) = nullptr;
  void* notify_ctx = nullptr;

  // Shared with application threads.
  std::atomic<uint32_t> events{0};    // current EPOLL* mask
  std::atomic<uint32_t> wake_seq{0};  // futex word, bumped on every wake-up
  std::atomic<uint32_t> waiters{0};   // threads blocked on wake_seq
  std::atomic<uint32_t> readable{0};  // FIONREAD
  std::atomic<bool> nonblocking{false};
  std::atomic<bool> listening{false};
  std::atomic<int64_t> rcvtimeo_us{0}, sndtimeo_us{0};  // 0 = forever

  bool is_stream() const { return type == SOCK_STREAM; }
};

}  // namespace oryx::stack
