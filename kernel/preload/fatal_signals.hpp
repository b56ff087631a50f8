// SPDX-License-Identifier: Apache-2.0
// fatal_signals.hpp - an application killed by a signal still releases
// Oryx's ports, queues and hugepage memory.
//
// Signals whose default action ends the process (SIGTERM, SIGINT,
// SIGSEGV, SIGABRT, ...) and that the application leaves at that default
// get a handler when the kernel starts. The handler only wakes a reaper
// thread (async-signal-safe) and parks the thread it interrupted; the
// reaper stops the kernel in ordinary thread context, then restores the
// default action and re-raises the signal, so the process ends exactly as
// it would have (same signal, same core dump). A handler the application
// installs later replaces ours: it then decides how the process ends, and
// a normal exit stops the kernel through the exit handler. SIGKILL cannot
// be caught; the next start copes (see docs/compatibility.md).
#pragma once

#include <signal.h>

namespace oryx::preload::fatal_signals {

// Blocks the handled signals in the calling thread and returns the mask
// that was in force; threads created meanwhile (the kernel's) inherit the
// block, so an asynchronous signal never parks one of them.
sigset_t block();
void restore(const sigset_t& previous);

// Installs the handlers and starts the reaper, which calls `stop` once.
void arm(void (*stop)());

// In a forked child: the parent's handlers and reaper are not ours.
void disarm_in_child();

}  // namespace oryx::preload::fatal_signals
