// SPDX-License-Identifier: GPL-2.0 OR Apache-2.0
// bridge_datapath.bpf.c - an L2 learning bridge across the ports in
// `oryx_br_ports`. Every frame teaches the forwarding table where its
// source lives (keyed by MAC and VLAN, aged by time); a frame for a known,
// fresh destination goes to that one port, anything else (broadcast,
// multicast, unknown or aged unicast) to every other port that is up.
//
// The same decision runs at two attach points:
//   XDP  unicast through a devmap, flooding with BPF_F_BROADCAST |
//        BPF_F_EXCLUDE_INGRESS (one redirect, the kernel clones);
//   TC   (ingress) unicast with bpf_redirect_peer straight into a veth
//        peer's namespace (no backlog queue, no second pass through the
//        host veth), flooding with one bpf_clone_redirect per port.
// Frames are forwarded unchanged (a VLAN tag stays on the frame).
//
// A per-CPU, per-ingress-port cache remembers the last unicast decision
// (source, destination, VLAN -> egress), so a stream of frames between the
// same two stations skips both forwarding-table lookups. An entry holds
// for CACHE_NS at most and only while `fdb_generation` is unchanged: every
// change to the table (a station learned or moved here, one deleted by
// oryxd) bumps it, so no cached decision outlives the table it came from.
#include "vmlinux.h"

#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "bridge_shared.h"

#define ETH_ALEN 6
#define ETH_HLEN 14
#define VLAN_HLEN 4
#define ETH_P_8021Q 0x8100
#define ETH_P_8021AD 0x88A8
#define VLAN_VID_MASK 0x0fff
#define TC_ACT_OK 0
#define TC_ACT_SHOT 2

// Learning refreshes an entry's time at most this often (a write per
// frame would bounce the entry's cache line between CPUs).
#define REFRESH_NS 1000000000ULL
// How long a cached forwarding decision holds without a table lookup (it
// also bounds how late the source's time is refreshed and an aged
// destination noticed).
#define CACHE_NS 250000000ULL

char LICENSE[] SEC("license") = "Dual BSD/GPL";

const volatile __u64 ageing_ns = 300ULL * 1000000000ULL;  // set before load

// Bumped by every forwarding-table change, here and in oryxd (.bss, mapped
// by the plugin).
__u64 fdb_generation = 0;

// Pinned (LIBBPF_PIN_BY_NAME): the next oryxd after a crash reuses what
// the bridge learned.
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 8192);  // set from fdb_size before load
	__type(key, struct oryx_br_fdb_key);
	__type(value, struct oryx_br_fdb_entry);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} oryx_br_fdb SEC(".maps");

// The bridge's ports by ifindex; pinned, so that after a crash the next
// oryxd knows where the last one attached.
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, ORYX_BR_MAX_PORTS);
	__type(key, __u32);
	__type(value, struct oryx_br_port);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} oryx_br_ports SEC(".maps");

// The same records by ifindex, for ifindex < ORYX_BR_INDEXED_IFINDEX.
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, ORYX_BR_INDEXED_IFINDEX);
	__type(key, __u32);
	__type(value, struct oryx_br_port);
} ports_by_ifindex SEC(".maps");

// XDP egress: the ports that are up, by ifindex.
struct {
	__uint(type, BPF_MAP_TYPE_DEVMAP_HASH);
	__uint(max_entries, ORYX_BR_MAX_PORTS);
	__type(key, __u32);
	__type(value, struct bpf_devmap_val);
} tx_ports SEC(".maps");

// TC flooding: slot -> ifindex of a port that is up (0: none).
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, ORYX_BR_MAX_PORTS);
	__type(key, __u32);
	__type(value, __u32);
} flood_ports SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, ORYX_BR_MAX_PORTS);
	__type(key, __u32);
	__type(value, struct oryx_br_port_stats);
} oryx_br_stats SEC(".maps");

// The last unicast decision of a port on this CPU. The frame's first 12
// bytes (destination, then source MAC) are kept as two words.
struct fwd_cache_entry {
	__u64 macs_lo;
	__u32 macs_hi;
	__u16 vlan;
	__u16 pad;
	__u32 egress;
	__u32 pad2;
	__u64 generation;
	__u64 checked_ns;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, ORYX_BR_MAX_PORTS);
	__type(key, __u32);
	__type(value, struct fwd_cache_entry);
} fwd_cache SEC(".maps");

static __always_inline struct oryx_br_port *port_of(__u32 ifindex)
{
	if (ifindex < ORYX_BR_INDEXED_IFINDEX) {
		struct oryx_br_port *p = bpf_map_lookup_elem(&ports_by_ifindex, &ifindex);
		return p && (p->flags & ORYX_BR_PORT_PRESENT) ? p : 0;
	}
	return bpf_map_lookup_elem(&oryx_br_ports, &ifindex);
}

static __always_inline struct oryx_br_port_stats *stats_of(__u32 slot)
{
	return bpf_map_lookup_elem(&oryx_br_stats, &slot);
}

static __always_inline void count(__u32 slot, __u32 counter, __u64 n)
{
	struct oryx_br_port_stats *st = stats_of(slot);
	if (st && counter < ORYX_BR_COUNTER_MAX)
		st->c[counter] += n;
}

enum verdict { V_PASS, V_DROP, V_FORWARD, V_FLOOD };

struct decision {
	enum verdict verdict;
	__u32 egress;       // V_FORWARD: the ifindex
	__u32 egress_flags; // its oryx_br_port.flags
};

// `tag`: the VID the kernel already took off the frame (TC), or -1.
static __always_inline struct decision decide(void *data, void *data_end, __u32 ingress,
					      __u64 len, int tag)
{
	struct decision d = {V_PASS, 0, 0};
	struct oryx_br_port *in = port_of(ingress);
	if (!in)
		return d;  // not a bridge port (a leftover attachment)
	struct oryx_br_port_stats *st = stats_of(in->slot);
	if (!st)
		return d;
	st->c[ORYX_BR_RX_FRAMES]++;
	st->c[ORYX_BR_RX_BYTES] += len;
	d.verdict = V_DROP;
	if (!(in->flags & ORYX_BR_PORT_UP)) {
		st->c[ORYX_BR_DROP_PORT_DOWN]++;
		return d;
	}
	struct ethhdr *eth = data;
	if ((void *)(eth + 1) > data_end) {
		st->c[ORYX_BR_DROP_MALFORMED]++;
		return d;
	}
	__u16 vlan = 0;
	if (tag >= 0) {
		vlan = tag & VLAN_VID_MASK;
	} else if (eth->h_proto == bpf_htons(ETH_P_8021Q) ||
		   eth->h_proto == bpf_htons(ETH_P_8021AD)) {
		__be16 *tci = (void *)(eth + 1);
		if ((void *)tci + VLAN_HLEN > data_end) {
			st->c[ORYX_BR_DROP_MALFORMED]++;
			return d;
		}
		vlan = bpf_ntohs(*tci) & VLAN_VID_MASK;
	}
	__u64 now = bpf_ktime_get_coarse_ns();

	// Unicast between unicast stations: the cached decision, if it holds.
	__u64 generation = fdb_generation;  // before any lookup (see above)
	__u64 macs_lo;
	__u32 macs_hi;
	__builtin_memcpy(&macs_lo, eth, sizeof(macs_lo));
	__builtin_memcpy(&macs_hi, (void *)eth + sizeof(macs_lo), sizeof(macs_hi));
	__u32 in_slot = in->slot;
	struct fwd_cache_entry *cached = 0;
	if (!(eth->h_source[0] & 1) && !(eth->h_dest[0] & 1))
		cached = bpf_map_lookup_elem(&fwd_cache, &in_slot);
	if (cached && cached->egress && cached->generation == generation &&
	    now - cached->checked_ns <= CACHE_NS && cached->macs_lo == macs_lo &&
	    cached->macs_hi == macs_hi && cached->vlan == vlan) {
		struct oryx_br_port *out = port_of(cached->egress);
		if (out && (out->flags & ORYX_BR_PORT_UP) && out->slot < ORYX_BR_MAX_PORTS) {
			st->c[ORYX_BR_FORWARDED]++;
			count(out->slot, ORYX_BR_TX_UNICAST, 1);
			d.verdict = V_FORWARD;
			d.egress = cached->egress;
			d.egress_flags = out->flags;
			return d;
		}
	}

	// Learn the source (a multicast source address is bogus: not learned).
	if (!(eth->h_source[0] & 1)) {
		struct oryx_br_fdb_key src = {.vlan = vlan};
		__builtin_memcpy(src.mac, eth->h_source, ETH_ALEN);
		struct oryx_br_fdb_entry *e = bpf_map_lookup_elem(&oryx_br_fdb, &src);
		if (!e || e->ifindex != ingress) {
			struct oryx_br_fdb_entry fresh = {.ifindex = ingress, .seen_ns = now};
			bpf_map_update_elem(&oryx_br_fdb, &src, &fresh, BPF_ANY);
			__sync_fetch_and_add(&fdb_generation, 1);
			st->c[e ? ORYX_BR_MOVED : ORYX_BR_LEARNED]++;
		} else if (now - e->seen_ns > REFRESH_NS) {
			e->seen_ns = now;
		}
	}

	// Broadcast, multicast, unknown or aged out, or its port went away:
	// flooded until the station is learned (again).
	d.verdict = V_FLOOD;
	struct oryx_br_port *out = 0;
	if (!(eth->h_dest[0] & 1)) {
		struct oryx_br_fdb_key dst = {.vlan = vlan};
		__builtin_memcpy(dst.mac, eth->h_dest, ETH_ALEN);
		struct oryx_br_fdb_entry *e = bpf_map_lookup_elem(&oryx_br_fdb, &dst);
		if (e && now - e->seen_ns <= ageing_ns) {
			if (e->ifindex == ingress) {
				st->c[ORYX_BR_DROP_SAME_PORT]++;
				d.verdict = V_DROP;
				return d;
			}
			d.egress = e->ifindex;
			out = port_of(d.egress);
		}
	}
	if (!out || !(out->flags & ORYX_BR_PORT_UP) || out->slot >= ORYX_BR_MAX_PORTS) {
		st->c[ORYX_BR_FLOODED]++;
		return d;
	}
	st->c[ORYX_BR_FORWARDED]++;
	count(out->slot, ORYX_BR_TX_UNICAST, 1);
	d.verdict = V_FORWARD;
	d.egress_flags = out->flags;
	if (cached) {
		cached->macs_lo = macs_lo;
		cached->macs_hi = macs_hi;
		cached->vlan = vlan;
		cached->egress = d.egress;
		cached->generation = generation;
		cached->checked_ns = now;
	}
	return d;
}

SEC("xdp")
int oryx_br_xdp(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	__u32 ingress = ctx->ingress_ifindex;
	struct decision d = decide(data, data_end, ingress, (__u64)(data_end - data), -1);
	switch (d.verdict) {
	case V_FORWARD:
		return bpf_redirect_map(&tx_ports, d.egress, XDP_DROP);
	case V_FLOOD:
		return bpf_redirect_map(&tx_ports, 0, BPF_F_BROADCAST | BPF_F_EXCLUDE_INGRESS);
	case V_DROP:
		return XDP_DROP;
	default:
		return XDP_PASS;
	}
}

SEC("tc")
int oryx_br_tc(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	__u32 ingress = skb->ifindex;
	int tag = skb->vlan_present ? (int)(skb->vlan_tci & VLAN_VID_MASK) : -1;
	struct decision d = decide(data, data_end, ingress, skb->len, tag);
	switch (d.verdict) {
	case V_FORWARD:
		if (d.egress_flags & ORYX_BR_PORT_PEER)
			return bpf_redirect_peer(d.egress, 0);
		return bpf_redirect(d.egress, 0);
	case V_FLOOD: {
		for (__u32 slot = 0; slot < ORYX_BR_MAX_PORTS; slot++) {
			__u32 *ifindex = bpf_map_lookup_elem(&flood_ports, &slot);
			if (!ifindex || !*ifindex || *ifindex == ingress)
				continue;
			if (bpf_clone_redirect(skb, *ifindex, 0) != 0)
				count(slot, ORYX_BR_DROP_XMIT, 1);  // slot == the egress port's
		}
		return TC_ACT_SHOT;  // every copy is out; the original is done with
	}
	case V_DROP:
		return TC_ACT_SHOT;
	default:
		return TC_ACT_OK;
	}
}

// XDP sends happen after the program returned; the kernel reports what a
// devmap could not send here. Counted on the egress port.
SEC("tp_btf/xdp_devmap_xmit")
int BPF_PROG(oryx_br_xmit, const struct net_device *from_dev, const struct net_device *to_dev,
	     int sent, int drops, int err)
{
	if (drops <= 0)
		return 0;
	__u32 from = from_dev->ifindex, to = to_dev->ifindex;
	if (!port_of(from))
		return 0;
	struct oryx_br_port *out = port_of(to);
	if (out && out->slot < ORYX_BR_MAX_PORTS)
		count(out->slot, ORYX_BR_DROP_XMIT, (__u64)drops);
	return 0;
}
