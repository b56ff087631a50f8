/* SPDX-License-Identifier: Apache-2.0 */
/* sockmap_shared.h - what the BPF programs and the plugin agree on: the
 * sockhash key, the counter slots and the configuration flags. Included by
 * sockmap.bpf.c (types from vmlinux.h) and by user space (linux/types.h). */
#ifndef ORYX_SOCKMAP_SHARED_H
#define ORYX_SOCKMAP_SHARED_H

/* One TCP socket, as seen from that socket: addresses in network order,
 * ports in host order, IPv4 (and IPv4-mapped IPv6) in ip[0] with family 4.
 * The peer of a local connection has the same key with local and remote
 * swapped. Padding is explicit so both sides hash the same bytes. */
struct oryx_sock_key {
	__u32 local_ip[4];
	__u32 remote_ip[4];
	__u16 local_port;
	__u16 remote_port;
	__u8 family;   /* 4 or 6 */
	__u8 pad[3];
};

/* Per-CPU counter slots (an array map indexed by these). */
enum oryx_sockmap_counter {
	ORYX_SM_SOCKETS_ADDED = 0,    /* established sockets put into the sockhash */
	ORYX_SM_SOCKETS_REMOVED,      /* tracked sockets that closed */
	ORYX_SM_SOCKETS_SKIPPED,      /* established, but outside the allow-lists */
	ORYX_SM_INSERT_FAILED,        /* could not be inserted (kTLS or another ULP, full map) */
	ORYX_SM_MSGS_REDIRECTED,      /* sends delivered straight to the local peer */
	ORYX_SM_BYTES_REDIRECTED,
	ORYX_SM_MSGS_PASSED,          /* sends of tracked sockets with no local peer */
	ORYX_SM_BYTES_PASSED,
	ORYX_SM_BACKLOG_FALLBACKS,    /* senders moved to the normal path: peer's queue full */
	ORYX_SM_COUNTER_MAX
};

/* Bits of the `flags` global, set by user space. */
#define ORYX_SM_REDIRECT   (1u << 0) /* redirect sends (cleared while draining) */
#define ORYX_SM_PORT_LIST  (1u << 1) /* only ports in allowed_ports */
#define ORYX_SM_ADDR_LIST  (1u << 2) /* only addresses in allowed_v4/allowed_v6 */

/* LPM trie keys for the address allow-lists. */
struct oryx_sm_v4_prefix {
	__u32 prefixlen;
	__u32 addr;
};
struct oryx_sm_v6_prefix {
	__u32 prefixlen;
	__u32 addr[4];
};

#endif
