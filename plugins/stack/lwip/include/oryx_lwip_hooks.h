/* SPDX-License-Identifier: Apache-2.0 */
/* oryx_lwip_hooks.h - the hooks lwIP calls into Oryx (LWIP_HOOK_FILENAME in
 * lwipopts.h; lwIP's opt.h documents each hook). */
#ifndef ORYX_LWIP_HOOKS_H
#define ORYX_LWIP_HOOKS_H

#include "lwip/ip_addr.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The initial sequence number of a connection, as RFC 6528 asks and Linux
 * does: a keyed hash (SipHash, a secret drawn once per process) of the
 * 4-tuple plus a clock of 4 us steps. lwIP's own adds its tick counter to
 * the last ISN, so connections opened within one tick got the same ISN, and
 * anyone who saw one could predict the next (lwip/src/tcp_isn.c). */
u32_t oryx_tcp_isn(const ip_addr_t* local_ip, u16_t local_port, const ip_addr_t* remote_ip,
                   u16_t remote_port);

#ifdef __cplusplus
}
#endif

#endif /* ORYX_LWIP_HOOKS_H */
