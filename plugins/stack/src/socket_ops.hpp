// SPDX-License-Identifier: Apache-2.0
// socket_ops.hpp - the stack-context half of each socket call: plain
// single-threaded code over lwIP's raw API, run under the core lock by
// SocketLayer. Results are >= 0 or -errno; -EAGAIN means "would block".
#pragma once

#include "socket.hpp"

#include <sys/socket.h>

#include <cstddef>
#include <cstdint>
#include <memory>

namespace oryx::stack::ops {

// The counter row the layer counts in (set once by SocketLayer::attach).
void set_counters(uint64_t* counters);
void set_udp_counters(uint64_t* counters);  // called by set_counters

// Readiness (readiness.cpp): Linux's tcp_poll/datagram_poll on our state.
uint32_t poll_mask(const Socket& s);
// Recomputes s.events; with `wake`, also wakes blocked threads and calls
// the notify callback, as Linux wakes a socket's wait queue.
// Stores the socket's readiness; with wake, bumps its futex word and calls
// its notify callback with the bits this wake-up is about (`why`, within
// the current mask; everything unless a caller narrows it).
void publish(Socket& s, bool wake, uint32_t why = ~0u);
// Reports the pending error once, as Linux does: returns -errno (or 0) and
// clears it.
int take_error(Socket& s);

// Addresses (socket_addr.cpp).
int to_ip(const Socket& s, const sockaddr* addr, socklen_t len, ip_addr_t& ip, uint16_t& port);
void from_ip(const Socket& s, const ip_addr_t& ip, uint16_t port, sockaddr* addr, socklen_t* len);
bool is_local(const ip_addr_t& ip);
// The lwIP address type of the socket's pcb: IPv4, IPv6 only, or dual stack.
u8_t ip_type(const Socket& s);

// Stream sockets (tcp_socket.cpp).
int stream_open(Socket& s);
int stream_bind(Socket& s, const ip_addr_t& ip, uint16_t port);
int stream_listen(Socket& s, int backlog);
int stream_accept(Socket& s, std::shared_ptr<Socket>& out);
int stream_connect(Socket& s, const ip_addr_t& ip, uint16_t port);
// After a blocking connect's wait: 0, -EINPROGRESS while still connecting,
// or the error that ended the attempt.
int stream_connect_result(Socket& s);
// Sends from msg's data, skipping the first `offset` bytes.
ssize_t stream_send(Socket& s, const msghdr& msg, size_t offset, int flags);
// Receives into msg's buffers from `offset` on.
ssize_t stream_recv(Socket& s, msghdr& msg, size_t offset, int flags);
int stream_shutdown(Socket& s, int how);
void stream_close(Socket& s);
void stream_apply_options(Socket& s);  // pushes stored options to the pcb

// Datagram sockets (udp_socket.cpp).
int dgram_open(Socket& s);
int dgram_bind(Socket& s, const ip_addr_t& ip, uint16_t port);
int dgram_connect(Socket& s, const ip_addr_t* ip, uint16_t port);  // null: disconnect
ssize_t dgram_send(Socket& s, const msghdr& msg, int flags);
ssize_t dgram_recv(Socket& s, msghdr& msg, int flags);
int dgram_shutdown(Socket& s, int how);
void dgram_close(Socket& s);
void dgram_apply_options(Socket& s);

// Options (socket_options.cpp).
int getsockopt(Socket& s, int level, int name, void* value, socklen_t* len);
int setsockopt(Socket& s, int level, int name, const void* value, socklen_t len);

// Copies between iovecs and pbufs (socket_addr.cpp).
size_t iov_total(const msghdr& msg);
// Copies up to n bytes from p (starting at p_off) into msg's buffers at
// msg offset `at`; returns bytes copied.
size_t copy_to_iov(const msghdr& msg, size_t at, const pbuf* p, size_t p_off, size_t n);

uint64_t now_ms();

}  // namespace oryx::stack::ops
