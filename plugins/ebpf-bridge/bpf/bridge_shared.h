/* SPDX-License-Identifier: Apache-2.0 */
/* bridge_shared.h - what the bridge's BPF programs and the plugin agree
 * on: the forwarding-table key and entry, the port record, the counter
 * slots. Included by bridge_datapath.bpf.c (types from vmlinux.h) and by
 * user space (linux/types.h). */
#ifndef ORYX_BRIDGE_SHARED_H
#define ORYX_BRIDGE_SHARED_H

#define ORYX_BR_MAX_PORTS 64
/* Ports with a smaller ifindex are also found by index in an array (an
 * inlined lookup, ~25 ns a frame cheaper than the hash). */
#define ORYX_BR_INDEXED_IFINDEX 16384

/* Forwarding-table key: a station's MAC on a VLAN (VID 0: untagged).
 * Exactly 8 bytes, no padding, so both sides hash the same bytes. */
struct oryx_br_fdb_key {
	__u8 mac[6];
	__u16 vlan;
};

/* Where the station was last seen and when (CLOCK_MONOTONIC_COARSE, ns). */
struct oryx_br_fdb_entry {
	__u32 ifindex;
	__u32 pad;
	__u64 seen_ns;
};

/* A bridge port, by ifindex. `slot` indexes the counters and the TC
 * flooding list. */
struct oryx_br_port {
	__u32 slot;
	__u32 flags;
};

/* oryx_br_port.flags */
#define ORYX_BR_PORT_UP 0x1      /* forwarding; frames from a port not up are dropped */
#define ORYX_BR_PORT_PEER 0x2    /* TC: a veth whose peer is in another netns (bpf_redirect_peer) */
#define ORYX_BR_PORT_TC 0x4      /* attached at TC ingress (else XDP) */
#define ORYX_BR_PORT_QDISC 0x8   /* oryxd created the clsact qdisc: remove it on detach */
#define ORYX_BR_PORT_GENERIC 0x10 /* generic (skb) XDP */
#define ORYX_BR_PORT_PRESENT 0x20 /* set in every record (tells a port from an empty array slot) */
#define ORYX_BR_PORT_ADDED 0x40  /* added through the REST API (not configured): a successor adopts it */

/* Per-port counters: a per-CPU array of ORYX_BR_MAX_PORTS rows, one
 * struct oryx_br_port_stats each (one lookup per port and frame). */
enum oryx_br_counter {
	ORYX_BR_RX_FRAMES = 0,     /* frames the port received (the bridge saw) */
	ORYX_BR_RX_BYTES,
	ORYX_BR_FORWARDED,         /* received, sent to the one port of a known destination */
	ORYX_BR_FLOODED,           /* received, sent to every other port (broadcast, multicast, unknown) */
	ORYX_BR_TX_UNICAST,        /* forwarded out of this port (the egress side of FORWARDED) */
	ORYX_BR_DROP_MALFORMED,    /* shorter than an Ethernet (or 802.1Q) header */
	ORYX_BR_DROP_SAME_PORT,    /* destination lives behind the port it came from */
	ORYX_BR_DROP_PORT_DOWN,    /* received on a port that is not forwarding */
	ORYX_BR_DROP_XMIT,         /* the kernel could not send it out (egress down, queue full) */
	ORYX_BR_LEARNED,           /* stations learned on this port */
	ORYX_BR_MOVED,             /* stations that moved to this port from another */
	ORYX_BR_COUNTER_MAX
};

struct oryx_br_port_stats {
	__u64 c[ORYX_BR_COUNTER_MAX];
};

#endif
