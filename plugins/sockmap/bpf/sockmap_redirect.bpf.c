// SPDX-License-Identifier: GPL-2.0 OR Apache-2.0
// sockmap_redirect.bpf.c - same-host TCP shortcut. sockops puts each established TCP
// socket of the attached cgroups into a sockhash under its 4-tuple; the
// sk_msg program hands every send of such a socket straight to the
// receive queue of its peer socket when the peer is tracked too (both
// ends local); an sk_skb verdict passes everything, and exists only
// because kernels 6.6.128+/6.12.75+/6.18.14+ lose FIONREAD and epoll
// wakeups for sockhash sockets without one.
//
// Back-pressure: the kernel queues redirected bytes at the peer up to
// the host's TCP memory limit and then fails the sender with ENOMEM (not
// EAGAIN, and without blocking). So a send that would take the peer's
// queue of unread redirected bytes past its receive buffer (SO_RCVBUF if
// the application set one, else tcp_rmem's maximum) is not redirected,
// and that sender
// stays on the normal TCP path for good (TCP's window then pushes back;
// staying there keeps the byte order: the peer reads its redirected
// queue before what TCP delivers).
#include "vmlinux.h"

#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "sockmap_shared.h"

#define AF_INET 2
#define AF_INET6 10

char LICENSE[] SEC("license") = "Dual BSD/GPL";

// Survive an oryxd restart: a restarted oryxd reuses them (LIBBPF_PIN_BY_NAME).
struct {
	__uint(type, BPF_MAP_TYPE_SOCKHASH);
	__uint(max_entries, 65536);  // set from max_sockets before load
	__type(key, struct oryx_sock_key);
	__type(value, __u64);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} oryx_socks SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, ORYX_SM_COUNTER_MAX);
	__type(key, __u32);
	__type(value, __u64);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} oryx_sm_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 65536);
	__type(key, __u32);  // the port, host order
	__type(value, __u8); // 1: allowed
} allowed_ports SEC(".maps");

static __always_inline int port_allowed(__u32 port)
{
	__u8 *v = bpf_map_lookup_elem(&allowed_ports, &port);
	return v && *v;
}

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 256);
	__type(key, struct oryx_sm_v4_prefix);
	__type(value, __u8);
	__uint(map_flags, BPF_F_NO_PREALLOC);
} allowed_v4 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 256);
	__type(key, struct oryx_sm_v6_prefix);
	__type(value, __u8);
	__uint(map_flags, BPF_F_NO_PREALLOC);
} allowed_v6 SEC(".maps");

// Each tracked socket's struct sock, by key, for the back-pressure check:
// sk_msg programs may not hold a socket reference, so the peer's queue is
// read through this address with bpf_probe_read_kernel (fault-safe). The
// entry goes when the socket closes.
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);  // set from max_sockets before load
	__type(key, struct oryx_sock_key);
	__type(value, __u64);
} sock_addrs SEC(".maps");

// Senders that left the shortcut for good (value 1).
struct {
	__uint(type, BPF_MAP_TYPE_SK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, __u32);
} fallen_back SEC(".maps");

volatile __u32 flags = 0;  // ORYX_SM_* bits, written by user space at run time

static __always_inline void count(__u32 slot, __u64 n)
{
	__u64 *v = bpf_map_lookup_elem(&oryx_sm_stats, &slot);
	if (v)
		*v += n;
}

static __always_inline int is_v4_mapped(const __u32 ip[4])
{
	return ip[0] == 0 && ip[1] == 0 && ip[2] == bpf_htonl(0xffff);
}

// Fills `k` from a context that has the bpf_sock_ops / sk_msg_md fields.
// IPv4-mapped IPv6 becomes IPv4, so a dual-stack socket and its IPv4 peer
// agree on the key. Returns 0 for a family we do not track.
#define ORYX_FILL_KEY(k, ctx)                                                          \
	({                                                                             \
		int ok_ = 1;                                                           \
		__builtin_memset(k, 0, sizeof(*(k)));                                  \
		(k)->local_port = (__u16)(ctx)->local_port;                            \
		(k)->remote_port = (__u16)bpf_ntohl((ctx)->remote_port);               \
		if ((ctx)->family == AF_INET) {                                        \
			(k)->family = 4;                                               \
			(k)->local_ip[0] = (ctx)->local_ip4;                           \
			(k)->remote_ip[0] = (ctx)->remote_ip4;                         \
		} else if ((ctx)->family == AF_INET6) {                                \
			(k)->family = 6;                                               \
			(k)->local_ip[0] = (ctx)->local_ip6[0];                        \
			(k)->local_ip[1] = (ctx)->local_ip6[1];                        \
			(k)->local_ip[2] = (ctx)->local_ip6[2];                        \
			(k)->local_ip[3] = (ctx)->local_ip6[3];                        \
			(k)->remote_ip[0] = (ctx)->remote_ip6[0];                      \
			(k)->remote_ip[1] = (ctx)->remote_ip6[1];                      \
			(k)->remote_ip[2] = (ctx)->remote_ip6[2];                      \
			(k)->remote_ip[3] = (ctx)->remote_ip6[3];                      \
			if (is_v4_mapped((k)->local_ip) && is_v4_mapped((k)->remote_ip)) { \
				(k)->family = 4;                                       \
				(k)->local_ip[0] = (k)->local_ip[3];                   \
				(k)->remote_ip[0] = (k)->remote_ip[3];                 \
				(k)->local_ip[1] = (k)->local_ip[2] = (k)->local_ip[3] = 0; \
				(k)->remote_ip[1] = (k)->remote_ip[2] = (k)->remote_ip[3] = 0; \
			}                                                              \
		} else {                                                               \
			ok_ = 0;                                                       \
		}                                                                      \
		ok_;                                                                   \
	})

static __always_inline int address_allowed(const struct oryx_sock_key *k, const __u32 ip[4])
{
	if (k->family == 4) {
		struct oryx_sm_v4_prefix p = {.prefixlen = 32, .addr = ip[0]};
		return bpf_map_lookup_elem(&allowed_v4, &p) != 0;
	}
	struct oryx_sm_v6_prefix p = {.prefixlen = 128};
	__builtin_memcpy(p.addr, ip, 16);
	return bpf_map_lookup_elem(&allowed_v6, &p) != 0;
}

// Symmetric in local and remote, so both ends of a connection decide alike.
static __always_inline int allowed(const struct oryx_sock_key *k)
{
	__u32 f = flags;
	if (f & ORYX_SM_PORT_LIST) {
		if (!port_allowed(k->local_port) && !port_allowed(k->remote_port))
			return 0;
	}
	if (f & ORYX_SM_ADDR_LIST) {
		if (!address_allowed(k, k->local_ip) && !address_allowed(k, k->remote_ip))
			return 0;
	}
	return 1;
}

static __noinline void remember_address(struct bpf_sock *sk, const struct oryx_sock_key *key)
{
	if (!sk)
		return;
	struct tcp_sock *tp = bpf_skc_to_tcp_sock(sk);
	if (!tp)
		return;
	__u64 addr = (__u64)tp;
	bpf_map_update_elem(&sock_addrs, key, &addr, BPF_ANY);
}

SEC("sockops")
int oryx_sockops(struct bpf_sock_ops *skops)
{
	struct oryx_sock_key key;

	switch (skops->op) {
	case BPF_SOCK_OPS_ACTIVE_ESTABLISHED_CB:
	case BPF_SOCK_OPS_PASSIVE_ESTABLISHED_CB:
		if (!ORYX_FILL_KEY(&key, skops))
			return 1;
		if (!allowed(&key)) {
			count(ORYX_SM_SOCKETS_SKIPPED, 1);
			return 1;
		}
		// BPF_ANY: a closed socket leaves the map by itself, so an entry
		// under this tuple can only be one being replaced.
		if (bpf_sock_hash_update(skops, &oryx_socks, &key, BPF_ANY) != 0) {
			count(ORYX_SM_INSERT_FAILED, 1);
			return 1;
		}
		count(ORYX_SM_SOCKETS_ADDED, 1);
		remember_address(skops->sk, &key);
		bpf_sock_ops_cb_flags_set(skops, skops->bpf_sock_ops_cb_flags |
						 BPF_SOCK_OPS_STATE_CB_FLAG);
		break;
	case BPF_SOCK_OPS_STATE_CB:
		// args[1] is the new state; only tracked sockets asked for this.
		if (skops->args[1] == BPF_TCP_CLOSE) {
			count(ORYX_SM_SOCKETS_REMOVED, 1);
			if (ORYX_FILL_KEY(&key, skops))
				bpf_map_delete_elem(&sock_addrs, &key);
		}
		break;
	}
	return 1;
}

// net.ipv4.tcp_rmem's maximum, written by user space before load.
volatile __u32 rcvbuf_auto_max = 6291456;
#define ORYX_SOCK_RCVBUF_LOCK 2  // sk_userlocks: the application set SO_RCVBUF

// sk_user_data keeps flag bits below the psock pointer.
#define ORYX_SK_USER_DATA_PTRMASK (~7UL)

// Whether the peer's queue of unread redirected bytes has room for `size`
// more within its receive buffer. Kernels without psock->msg_tot_len
// (before 6.18.14 / 6.12.75 / 6.6.128) get no check.
static __always_inline int peer_has_room(const struct oryx_sock_key *peer, __u32 size)
{
	__u64 *addr = bpf_map_lookup_elem(&sock_addrs, peer);
	if (!addr)
		return 1;
	struct sock *sk = (struct sock *)*addr;
	unsigned long ud = (unsigned long)BPF_CORE_READ(sk, sk_user_data);
	struct sk_psock *psock = (struct sk_psock *)(ud & ORYX_SK_USER_DATA_PTRMASK);
	if (!psock || !bpf_core_field_exists(psock->msg_tot_len))
		return 1;
	__u64 queued = BPF_CORE_READ(psock, msg_tot_len);
	__u64 limit = (__u32)BPF_CORE_READ(sk, sk_rcvbuf);
	// Without an explicit SO_RCVBUF, TCP would let the window grow to
	// tcp_rmem's maximum; so may the redirected queue.
	if (!(BPF_CORE_READ(sk, sk_userlocks) & ORYX_SOCK_RCVBUF_LOCK) && limit < rcvbuf_auto_max)
		limit = rcvbuf_auto_max;
	return queued + size <= limit;
}

SEC("sk_msg")
int oryx_msg_redirect(struct sk_msg_md *msg)
{
	struct oryx_sock_key self, peer;
	__u64 size = msg->size;

	struct bpf_sock *sender = msg->sk;
	if (!sender)
		goto pass;
	__u32 *gone = bpf_sk_storage_get(&fallen_back, sender, 0, 0);
	if (gone && *gone)
		goto pass;
	if ((flags & ORYX_SM_REDIRECT) && ORYX_FILL_KEY(&self, msg)) {
		__builtin_memset(&peer, 0, sizeof(peer));
		peer.family = self.family;
		__builtin_memcpy(peer.local_ip, self.remote_ip, 16);
		__builtin_memcpy(peer.remote_ip, self.local_ip, 16);
		peer.local_port = self.remote_port;
		peer.remote_port = self.local_port;
		if (!peer_has_room(&peer, size)) {
			gone = bpf_sk_storage_get(&fallen_back, sender, 0, BPF_SK_STORAGE_GET_F_CREATE);
			if (gone)
				*gone = 1;
			count(ORYX_SM_BACKLOG_FALLBACKS, 1);
			goto pass;
		}
		if (bpf_msg_redirect_hash(msg, &oryx_socks, &peer, BPF_F_INGRESS) == SK_PASS) {
			count(ORYX_SM_MSGS_REDIRECTED, 1);
			count(ORYX_SM_BYTES_REDIRECTED, size);
			return SK_PASS;
		}
	}
pass:	// No local peer, redirect off, or the peer is full: the normal TCP path.
	count(ORYX_SM_MSGS_PASSED, 1);
	count(ORYX_SM_BYTES_PASSED, size);
	return SK_PASS;
}

SEC("sk_skb")  // attached as BPF_SK_SKB_VERDICT (libbpf 1.1 lacks the section name)
int oryx_skb_pass(struct __sk_buff *skb)
{
	return SK_PASS;
}
