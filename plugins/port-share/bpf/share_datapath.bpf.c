// SPDX-License-Identifier: GPL-2.0 OR Apache-2.0
// share_datapath.bpf.c - one network interface (the uplink) shared by
// several applications, each on a veth pair of its own whose far end its
// user-space stack takes by AF_XDP. Everything is decided in the kernel,
// at TC ingress, with no user-space hop:
//
//   oryx_sh_uplink  (the uplink's ingress) a TCP or UDP frame goes to the
//                   application that claimed its destination port (among
//                   a group that claimed it together, to the member a
//                   hash of the flow picked when the connection began),
//                   else to the one that opened its connection (learned
//                   from its SYN or first datagram), else to the default
//                   application; ARP requests, ICMP and fragments go to
//                   the default; ARP replies and IPv6 neighbour and router
//                   advertisements are copied to every application (each
//                   stack resolves its own next hops).
//   oryx_sh_app     (the host end of each application's pair) what the
//                   application sent leaves by the uplink; a SYN it sends
//                   (or a UDP datagram from a port it does not own) records
//                   the flow so the answers come back to it.
#include "vmlinux.h"

#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "share_shared.h"

#define ETH_HLEN 14
#define ETH_P_IP 0x0800
#define ETH_P_IPV6 0x86DD
#define ETH_P_ARP 0x0806
#define IPPROTO_TCP 6
#define IPPROTO_UDP 17
#define IPPROTO_ICMPV6 58
#define TC_ACT_OK 0
#define TC_ACT_SHOT 2
#define ARP_REPLY 2
#define ND_ROUTER_ADVERT 134
#define ND_NEIGHBOR_ADVERT 136

char LICENSE[] SEC("license") = "Dual BSD/GPL";

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct oryx_sh_config);
} oryx_sh_config SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, ORYX_SH_MAX_APPS);
	__type(key, __u32);
	__type(value, struct oryx_sh_app);
} oryx_sh_apps SEC(".maps");

// Slot + 1 by host-end ifindex (where oryx_sh_app runs).
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, ORYX_SH_MAX_APPS);
	__type(key, __u32);
	__type(value, __u32);
} oryx_sh_slot_of SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, ORYX_SH_PORT_KEYS);
	__type(key, __u32);
	__type(value, __u32);
} oryx_sh_port_owner SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, ORYX_SH_MAX_APPS);
	__type(key, __u32);
	__type(value, struct oryx_sh_group);
} oryx_sh_groups SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);  // set from `flows` before load
	__type(key, struct oryx_sh_flow_key);
	__type(value, __u32);
} oryx_sh_flows SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, ORYX_SH_COUNTER_MAX);
	__type(key, __u32);
	__type(value, __u64);
} oryx_sh_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, ORYX_SH_MAX_APPS);
	__type(key, __u32);
	__type(value, struct oryx_sh_app_stats);
} oryx_sh_app_stats SEC(".maps");

static __always_inline void count(__u32 which) {
	__u64 *c = bpf_map_lookup_elem(&oryx_sh_stats, &which);
	if (c)
		*c += 1;
}

// What a frame is, for steering: its ports (host order) and protocol
// when it is an unfragmented TCP or UDP one, its remote address.
struct frame {
	__u16 ethertype;
	__u8 proto;  // TCP, UDP, ICMPv6 or anything else
	__u8 first_fragment_or_whole;
	__u8 tcp_flags;
	__u8 icmp6_type;
	__u8 arp_op;
	__u16 sport, dport;
	__u8 saddr[16], daddr[16];
};

static __always_inline void v4_mapped(__u8 out[16], __u32 addr) {
	__builtin_memset(out, 0, 10);
	out[10] = 0xff;
	out[11] = 0xff;
	__builtin_memcpy(out + 12, &addr, 4);
}

// 0: parsed; -1: shorter than its headers.
static __always_inline int parse(struct __sk_buff *skb, struct frame *f) {
	void *data = (void *)(long)skb->data, *end = (void *)(long)skb->data_end;
	struct ethhdr *eth = data;
	if ((void *)(eth + 1) > end)
		return -1;
	f->ethertype = bpf_ntohs(eth->h_proto);
	void *l3 = eth + 1, *l4;
	if (f->ethertype == ETH_P_ARP) {
		struct arphdr *arp = l3;
		if ((void *)(arp + 1) > end)
			return -1;
		f->arp_op = (__u8)bpf_ntohs(arp->ar_op);
		return 0;
	}
	if (f->ethertype == ETH_P_IP) {
		struct iphdr *ip = l3;
		if ((void *)(ip + 1) > end || ip->ihl < 5)
			return -1;
		f->proto = ip->protocol;
		v4_mapped(f->saddr, ip->saddr);
		v4_mapped(f->daddr, ip->daddr);
		// A later fragment has no ports: it goes to the default application.
		f->first_fragment_or_whole = (bpf_ntohs(ip->frag_off) & 0x3fff) == 0;
		l4 = l3 + ip->ihl * 4;
	} else if (f->ethertype == ETH_P_IPV6) {
		struct ipv6hdr *ip6 = l3;
		if ((void *)(ip6 + 1) > end)
			return -1;
		f->proto = ip6->nexthdr;  // an extension header: not steered by port
		__builtin_memcpy(f->saddr, &ip6->saddr, 16);
		__builtin_memcpy(f->daddr, &ip6->daddr, 16);
		f->first_fragment_or_whole = 1;
		l4 = ip6 + 1;
	} else {
		return 0;
	}
	if (!f->first_fragment_or_whole)
		return 0;
	if (f->proto == IPPROTO_TCP) {
		struct tcphdr *tcp = l4;
		if ((void *)(tcp + 1) > end)
			return -1;
		f->sport = bpf_ntohs(tcp->source);
		f->dport = bpf_ntohs(tcp->dest);
		f->tcp_flags = ((__u8 *)tcp)[13];
	} else if (f->proto == IPPROTO_UDP) {
		struct udphdr *udp = l4;
		if ((void *)(udp + 1) > end)
			return -1;
		f->sport = bpf_ntohs(udp->source);
		f->dport = bpf_ntohs(udp->dest);
	} else if (f->proto == IPPROTO_ICMPV6) {
		__u8 *type = l4;
		if ((void *)(type + 1) > end)
			return -1;
		f->icmp6_type = *type;
	}
	return 0;
}

static __always_inline int steered(__u8 proto) {
	return proto == IPPROTO_TCP || proto == IPPROTO_UDP;
}

static __always_inline int to_slot(__u32 slot_plus_one, __u32 counter) {
	__u32 slot = slot_plus_one - 1;
	struct oryx_sh_app *app = bpf_map_lookup_elem(&oryx_sh_apps, &slot);
	if (!app || !app->ifindex) {
		count(ORYX_SH_DROP_NO_APP);
		return TC_ACT_SHOT;
	}
	count(counter);
	struct oryx_sh_app_stats *s = bpf_map_lookup_elem(&oryx_sh_app_stats, &slot);
	if (s)
		s->to_app++;
	// Out of the host end: its peer's XDP hook (the application's AF_XDP
	// socket) takes it.
	return bpf_redirect(app->ifindex, 0);
}

static __always_inline int copy_to_all(struct __sk_buff *skb) {
	for (__u32 i = 0; i < ORYX_SH_MAX_APPS; i++) {
		__u32 slot = i;  // a copy: the counter itself stays in a register the verifier follows
		struct oryx_sh_app *app = bpf_map_lookup_elem(&oryx_sh_apps, &slot);
		if (!app || !app->ifindex)
			continue;
		if (bpf_clone_redirect(skb, app->ifindex, 0) != 0) {
			count(ORYX_SH_DROP_COPY);
			continue;
		}
		count(ORYX_SH_COPIES);
		struct oryx_sh_app_stats *s = bpf_map_lookup_elem(&oryx_sh_app_stats, &slot);
		if (s)
			s->to_app++;
	}
	return TC_ACT_SHOT;  // every copy is out; the original is done with
}

SEC("tc")
int oryx_sh_uplink(struct __sk_buff *skb) {
	__u32 zero = 0;
	struct oryx_sh_config *cfg = bpf_map_lookup_elem(&oryx_sh_config, &zero);
	if (!cfg)
		return TC_ACT_SHOT;
	count(ORYX_SH_UPLINK_FRAMES);
	struct frame f = {};
	if (parse(skb, &f) != 0) {
		count(ORYX_SH_DROP_MALFORMED);
		return TC_ACT_SHOT;
	}
	if ((f.ethertype == ETH_P_ARP && f.arp_op == ARP_REPLY) ||
	    (f.proto == IPPROTO_ICMPV6 &&
	     (f.icmp6_type == ND_NEIGHBOR_ADVERT || f.icmp6_type == ND_ROUTER_ADVERT)))
		return copy_to_all(skb);
	if (f.first_fragment_or_whole && steered(f.proto)) {
		struct oryx_sh_flow_key fk = {};
		__builtin_memcpy(fk.remote, f.saddr, 16);
		fk.remote_port = f.sport;
		fk.local_port = f.dport;
		fk.proto = f.proto;
		__u32 key = f.dport + (f.proto == IPPROTO_UDP ? ORYX_SH_UDP_BASE : 0);
		__u32 *owner = bpf_map_lookup_elem(&oryx_sh_port_owner, &key);
		if (owner && *owner) {
			__u32 group = *owner - 1;
			struct oryx_sh_group *g = bpf_map_lookup_elem(&oryx_sh_groups, &group);
			if (!g || g->count == 0) {
				count(ORYX_SH_DROP_NO_APP);
				return TC_ACT_SHOT;
			}
			if (g->count == 1)
				return to_slot(g->slots[0] + 1, ORYX_SH_BY_RULE);
			// A group: the member that took the connection keeps it, so
			// members coming and going move no connection.
			__u32 *taker = bpf_map_lookup_elem(&oryx_sh_flows, &fk);
			if (taker && *taker)
				return to_slot(*taker, ORYX_SH_BY_FLOW);
			__u32 pick = (bpf_get_hash_recalc(skb) % g->count) & (ORYX_SH_MAX_APPS - 1);
			__u32 slot_plus_one = g->slots[pick] + 1;
			if (f.proto != IPPROTO_TCP || (f.tcp_flags & 0x12) == 0x02) {
				bpf_map_update_elem(&oryx_sh_flows, &fk, &slot_plus_one, BPF_ANY);
				count(ORYX_SH_FLOWS_LEARNED);
			}
			return to_slot(slot_plus_one, ORYX_SH_BY_RULE);
		}
		__u32 *opener = bpf_map_lookup_elem(&oryx_sh_flows, &fk);
		if (opener && *opener)
			return to_slot(*opener, ORYX_SH_BY_FLOW);
	}
	if (!cfg->default_slot) {
		count(ORYX_SH_DROP_NO_APP);
		return TC_ACT_SHOT;
	}
	return to_slot(cfg->default_slot, ORYX_SH_TO_DEFAULT);
}

SEC("tc")
int oryx_sh_app(struct __sk_buff *skb) {
	__u32 zero = 0, ifindex = skb->ingress_ifindex;
	struct oryx_sh_config *cfg = bpf_map_lookup_elem(&oryx_sh_config, &zero);
	__u32 *slot_plus_one = bpf_map_lookup_elem(&oryx_sh_slot_of, &ifindex);
	if (!cfg || !slot_plus_one || !*slot_plus_one)
		return TC_ACT_SHOT;
	__u32 slot = *slot_plus_one - 1;
	struct frame f = {};
	if (parse(skb, &f) == 0 && f.first_fragment_or_whole && steered(f.proto)) {
		// A connection this application opens, or a UDP flow it starts
		// from a port it does not own: the answers are its.
		int opens = f.proto == IPPROTO_TCP ? (f.tcp_flags & 0x12) == 0x02 : 1;
		if (f.proto == IPPROTO_UDP) {
			// Answers from a port the application's group claimed: no flow.
			__u32 key = f.sport + ORYX_SH_UDP_BASE;
			__u32 *owner = bpf_map_lookup_elem(&oryx_sh_port_owner, &key);
			opens = !owner || !*owner;
		}
		if (opens) {
			struct oryx_sh_flow_key fk = {};
			__builtin_memcpy(fk.remote, f.daddr, 16);
			fk.remote_port = f.dport;
			fk.local_port = f.sport;
			fk.proto = f.proto;
			__u32 *holder = bpf_map_lookup_elem(&oryx_sh_flows, &fk);
			if (holder && *holder && *holder != *slot_plus_one) {
				// Another application holds this 4-tuple: its answers
				// cannot be told apart. The SYN is refused (counted).
				count(ORYX_SH_DROP_FLOW_TAKEN);
				return TC_ACT_SHOT;
			}
			if (!holder) {
				bpf_map_update_elem(&oryx_sh_flows, &fk, slot_plus_one, BPF_ANY);
				count(ORYX_SH_FLOWS_LEARNED);
			}
		}
	}
	count(ORYX_SH_FROM_APPS);
	struct oryx_sh_app_stats *s = bpf_map_lookup_elem(&oryx_sh_app_stats, &slot);
	if (s)
		s->from_app++;
	if (cfg->uplink_peer)
		return bpf_redirect_peer(cfg->uplink_ifindex, 0);
	return bpf_redirect(cfg->uplink_ifindex, 0);
}
