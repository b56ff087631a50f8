/* SPDX-License-Identifier: Apache-2.0 */
/* share_shared.h - what the port share's BPF programs and the plugin
 * agree on: the configuration record, the application slots, the flow
 * key, the counter slots. Included by share_datapath.bpf.c (types from
 * vmlinux.h) and by user space (linux/types.h). */
#ifndef ORYX_SHARE_SHARED_H
#define ORYX_SHARE_SHARED_H

#define ORYX_SH_MAX_APPS 64
/* The owner of each destination port: TCP ports at 0..65535, UDP ports
 * at 65536..131071; a value is a group index + 1 (0: nobody). */
#define ORYX_SH_PORT_KEYS (2 * 65536)
#define ORYX_SH_UDP_BASE 65536

struct oryx_sh_config {
	__u32 uplink_ifindex;
	__u32 uplink_peer;  /* a veth whose peer is in another namespace: bpf_redirect_peer */
	__u32 default_slot; /* slot + 1 of the application that takes the rest; 0: none */
	__u32 pad;
};

/* An attached application: the host end of its veth pair (0: free). */
struct oryx_sh_app {
	__u32 ifindex;
	__u32 pad;
};

/* The applications that take a port together (the worker processes of
 * one server); an application alone is a group of one. A new connection
 * goes to member hash % count and stays with it (the flow table). */
struct oryx_sh_group {
	__u32 count;
	__u32 slots[ORYX_SH_MAX_APPS];
};

/* A connection an application opened (or a UDP flow it started), seen
 * from the uplink: the remote address (IPv4 as ::ffff:a.b.c.d), the
 * remote and local ports, the protocol. 24 bytes, no padding. */
struct oryx_sh_flow_key {
	__u8 remote[16];
	__u16 remote_port;
	__u16 local_port;
	__u8 proto;
	__u8 pad[3];
};

enum oryx_sh_counter {
	ORYX_SH_UPLINK_FRAMES = 0, /* frames received on the uplink */
	ORYX_SH_BY_RULE,           /* sent to the application owning the destination port */
	ORYX_SH_BY_FLOW,           /* sent to the application that opened the connection, or the
	                            * group member that took it */
	ORYX_SH_TO_DEFAULT,        /* ARP requests, ICMP, fragments, unclaimed ports */
	ORYX_SH_COPIES,            /* ARP replies, IPv6 neighbour/router advertisements copied */
	ORYX_SH_FROM_APPS,         /* frames the applications sent out of the uplink */
	ORYX_SH_FLOWS_LEARNED,     /* connections and UDP flows applications opened */
	ORYX_SH_DROP_NO_APP,       /* for nobody: no rule, no flow, no default application */
	ORYX_SH_DROP_MALFORMED,    /* shorter than their headers */
	ORYX_SH_DROP_FLOW_TAKEN,   /* an application's SYN on a flow another one holds */
	ORYX_SH_DROP_COPY,         /* copies the kernel could not send */
	ORYX_SH_COUNTER_MAX
};

/* Per application slot: frames steered to it, frames it sent. */
struct oryx_sh_app_stats {
	__u64 to_app;
	__u64 from_app;
};

#endif
