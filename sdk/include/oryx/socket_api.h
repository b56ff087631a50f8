/* SPDX-License-Identifier: Apache-2.0 */
/*
 * oryx/socket_api.h - the stack plugin's socket layer as a C interface.
 *
 * The stack publishes one `struct oryx_socket_api` in the kernel's service
 * registry (ABI 1.2) under ORYX_SOCKET_SERVICE / ORYX_SOCKET_API_VERSION.
 * Programs that embed the kernel (the preload library) and other plugins
 * look it up with service_lookup and call it from any thread.
 *
 * Semantics are Linux's, call for call: the same arguments, the same
 * blocking and non-blocking behaviour, the same readiness masks (EPOLL*
 * bits) and the same errno values, returned negated instead of set in
 * errno (a result < 0 is -errno). Sockets are named by handles >= 0 that
 * are the layer's own, not file descriptors.
 *
 * Threading: by default a call hands its work to the stack's worker through
 * a lock-free ring and waits for the answer (separate-thread model). A
 * thread that calls set_model(ORYX_SOCKET_RUN_TO_COMPLETION) runs the stack
 * code of its own calls itself instead, under lwIP's core lock, and spins
 * on the socket's wake-up word before sleeping when it must wait
 * (run-to-completion model); packets are still received and sent by the
 * worker. With ORYX_SOCKET_SHARED (the shared-thread model, for a kernel
 * whose worker is hosted: oryx_host_api.worker_hosted) the thread also
 * polls the port: what a call sends leaves before it returns, and a
 * thread that must wait walks the worker's graph while it spins, then
 * sleeps while the kernel's keeper watches the port. Either way any thread
 * may use any socket. Readiness callbacks run in the stack's context and
 * must not call back into this interface.
 */
#ifndef ORYX_SOCKET_API_H
#define ORYX_SOCKET_API_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

#define ORYX_SOCKET_SERVICE "stack.socket"
#define ORYX_SOCKET_API_VERSION 1

enum oryx_socket_model {
	ORYX_SOCKET_SEPARATE_THREAD = 0, /* hand work to the stack worker */
	ORYX_SOCKET_RUN_TO_COMPLETION = 1, /* the calling thread runs it */
	ORYX_SOCKET_SHARED = 2 /* ... and polls the port itself (hosted worker) */
};

/* Called in the stack's context each time a socket is woken (data, space,
 * connection, error, hang-up), with the EPOLL* bits of its current mask
 * that the wake-up is about (only the writable bits when acknowledged data
 * made room, as Linux's wake-up key); the same moments at which Linux
 * wakes a socket's wait queue, so edge-triggered emulation fires exactly
 * when Linux's epoll would. */
typedef void (*oryx_socket_notify_fn)(void *ctx, int handle, uint32_t events);

struct oryx_socket_api {
	uint32_t struct_size;

	/* Which model the calling thread uses from now on. */
	int (*set_model)(int model);

	/* socket(2): AF_INET or AF_INET6; SOCK_STREAM or SOCK_DGRAM, optionally
	 * or'ed with SOCK_NONBLOCK (SOCK_CLOEXEC is accepted and ignored). */
	int (*socket)(int domain, int type, int protocol);
	int (*bind)(int handle, const struct sockaddr *addr, socklen_t len);
	int (*listen)(int handle, int backlog);
	/* accept4(2); flags may hold SOCK_NONBLOCK (and SOCK_CLOEXEC). */
	int (*accept)(int handle, struct sockaddr *addr, socklen_t *len, int flags);
	int (*connect)(int handle, const struct sockaddr *addr, socklen_t len);
	/* sendmsg(2)/recvmsg(2); flags: MSG_DONTWAIT, MSG_NOSIGNAL, MSG_MORE,
	 * MSG_PEEK, MSG_WAITALL, MSG_TRUNC. -EPIPE is returned, not raised:
	 * the caller raises SIGPIPE unless MSG_NOSIGNAL was given. */
	ssize_t (*sendmsg)(int handle, const struct msghdr *msg, int flags);
	ssize_t (*recvmsg)(int handle, struct msghdr *msg, int flags);
	int (*shutdown)(int handle, int how);
	int (*close)(int handle);
	int (*getsockopt)(int handle, int level, int name, void *value, socklen_t *len);
	int (*setsockopt)(int handle, int level, int name, const void *value, socklen_t len);
	int (*getsockname)(int handle, struct sockaddr *addr, socklen_t *len);
	int (*getpeername)(int handle, struct sockaddr *addr, socklen_t *len);
	/* FIONREAD (int *) and FIONBIO (const int *). */
	int (*ioctl)(int handle, unsigned long request, void *arg);

	/* The socket's current readiness, as poll(2) on Linux would report it
	 * (EPOLLIN, EPOLLOUT, EPOLLERR, EPOLLHUP, EPOLLRDHUP, EPOLLPRI bits). */
	uint32_t (*poll)(int handle);
	/* Registers (fn != NULL) or removes the wake-up callback of a socket. */
	int (*set_notify)(int handle, oryx_socket_notify_fn fn, void *ctx);
	/* 1 when the address is one of the stack's interfaces, else 0: the
	 * preload library routes a socket to Oryx by this. */
	int (*is_local_address)(const struct sockaddr *addr, socklen_t len);
};

#ifdef __cplusplus
}
#endif

#endif /* ORYX_SOCKET_API_H */
