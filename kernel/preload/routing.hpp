// SPDX-License-Identifier: Apache-2.0
// routing.hpp - moving a socket onto Oryx, and creating its socket-layer
// socket in the process that first really uses it.
//
// A bind or listen on an Oryx address in a process whose kernel is not
// running yet is only recorded: the socket-layer socket (and the kernel
// itself) is created by the first call that needs it. That way a server
// that opens its listeners, then forks (nginx's master, anything that
// daemonizes), runs the stack in the child that serves the listener, and
// the parent never starts one.
#pragma once

#include "fd_table.hpp"

#include <oryx/socket_api.h>

namespace oryx::preload {

// The socket layer in the calling thread's threading model (starts the
// kernel on first use).
const oryx_socket_api* stack();

// Marks an undecided socket as Oryx's. When `now` is set (or the kernel
// already runs here) its socket-layer socket is created at once.
// Returns 0 or -errno.
int route_to_oryx(FdEntry& e, bool now);

// Makes sure an Oryx entry has a socket-layer socket usable in this
// process: creates a deferred one (replaying options, bind, listen), or
// fails with -EBADF for one that belongs to the stack of a process this
// one was forked from. Returns 0 or -errno.
int ensure_created(FdEntry& e);

// The stack's wake-up callback for an entry's socket.
void on_socket_woken(void* ctx, int handle, uint32_t events);

}  // namespace oryx::preload
