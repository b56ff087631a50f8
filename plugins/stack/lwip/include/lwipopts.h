/* SPDX-License-Identifier: Apache-2.0 */
/* lwipopts.h - the options Oryx compiles lwIP with (lwIP's opt.h documents
 * each; the stack README says what they mean to an operator). Everything
 * that includes an lwIP header sees these, so the stack's glue and lwIP
 * agree on every structure's layout. */
#ifndef ORYX_LWIPOPTS_H
#define ORYX_LWIPOPTS_H

/* ---- system ------------------------------------------------------------
 * lwIP's tcpip thread runs the timers (retransmission, delayed ACK, ARP and
 * reassembly ageing); every other entry into lwIP holds the core lock
 * (LOCK_TCPIP_CORE) instead of posting to that thread. Oryx uses the raw
 * API only: no netconn, no lwIP sockets (the stack has its own socket
 * layer with Linux's semantics). */
#define NO_SYS 0
#define LWIP_TCPIP_CORE_LOCKING 1
#define LWIP_TCPIP_CORE_LOCKING_INPUT 1
#define LWIP_NETCONN 0
#define LWIP_SOCKET 0
#define TCPIP_MBOX_SIZE 64
#define DEFAULT_THREAD_STACKSIZE 65536

/* Memory comes from the C library: connection and buffer counts are
 * limited by the stack's configuration (max_connections and friends), not
 * by pools sized at compile time. */
#define MEM_LIBC_MALLOC 1
#define MEMP_MEM_MALLOC 1
#define MEM_USE_POOLS 0
/* Pool statistics stay on (lwIP turns them off with MEMP_MEM_MALLOC):
 * each pool's count in use is what its ceiling is checked against
 * (patches/0013; max_connections, max_udp_sockets). */
#define MEMP_STATS 1
#define MEM_ALIGNMENT 8

/* ---- link and network layers ------------------------------------------- */
#define LWIP_ARP 1
#define LWIP_ETHERNET 1
#define ARP_QUEUEING 1
#define ARP_QUEUE_LEN 10
#define LWIP_NETIF_TX_SINGLE_PBUF 1
#define LWIP_NETIF_LOOPBACK 1
#define LWIP_HAVE_LOOPIF 0
#define LWIP_IPV4 1
#define LWIP_ICMP 1
#define LWIP_IGMP 1
#define LWIP_RAW 1
/* Oryx answers for its own addresses; it is not a router. */
#define IP_FORWARD 0
#define LWIP_IPV6 1
#define LWIP_ICMP6 1
#define LWIP_IPV6_MLD 1
#define LWIP_IPV6_FORWARD 0
#define LWIP_IPV6_DUP_DETECT_ATTEMPTS 1
#define LWIP_IPV6_SEND_ROUTER_SOLICIT 1
#define LWIP_IPV6_AUTOCONFIG 1
#define LWIP_IPV6_NUM_ADDRESSES 6
#define MEMP_NUM_MLD6_GROUP 16
#if defined __LP64__
#define IPV6_FRAG_COPYHEADER 1
#endif

/* ---- transport ---------------------------------------------------------- */
#define LWIP_UDP 1
#define LWIP_UDPLITE 0
#define LWIP_TCP 1
#define LWIP_TCP_KEEPALIVE 1
#define SO_REUSE 1
#define LWIP_RANDOMIZE_INITIAL_LOCAL_PORTS 1
#define LWIP_CHECKSUM_ON_COPY 1
/* The largest MSS announced: a jumbo frame's (MTU 9,000). Each connection
 * announces and uses what its interface's MTU allows (lwIP's
 * TCP_CALCULATE_EFF_SEND_MSS: MTU - 40 for IPv4, - 60 for IPv6), so 1,460
 * on a port of MTU 1,500. */
#define TCP_MSS 8960
/* The receive window: scaled by 2^7, so up to 8 MiB. TCP_WND is the
 * ceiling; the stack's `receive_window` chooses each stack's window up to
 * it (patches/0001-receive-window-setting.patch). */
#define LWIP_WND_SCALE 1
#define TCP_RCV_SCALE 7
#define TCP_WND (0xFFFFU << TCP_RCV_SCALE)
/* The send buffer: 256 KiB, so that a 64 KiB message is queued whole (a
 * buffer of 65,535 bytes left a message's last byte waiting for an ACK)
 * and a 10 Gbit/s path of 100 us stays full. With window scaling lwIP
 * keeps it in 32 bits (tcp_sndbuf() reads at most 65,535 of it; the
 * socket layer reads pcb->snd_buf). */
#define TCP_SND_BUF (256 * 1024)
/* Segments a send buffer may be cut into, counted at the smallest MSS a
 * peer may announce (lwIP's default counts at TCP_MSS, which would allow
 * only 30 segments of 1,460 bytes per 64 KiB). */
#define TCP_SND_QUEUELEN ((4 * TCP_SND_BUF + 535) / 536)
/* Used by lwIP's netconn API only (the socket layer's readiness has its
 * own rule, Linux's); lwIP's check wants it below 65,535 - 4 MSS. */
#define TCP_SNDLOWAT 16384
/* Segments that arrive ahead of a gap wait in the out-of-order queue,
 * which is bounded by the window in bytes and by a count of buffers
 * (each one an mbuf the port cannot reuse meanwhile). */
#define TCP_QUEUE_OOSEQ 1
#define TCP_OOSEQ_BYTES_LIMIT(pcb) (LWIP_INST->tcp_rcv_wnd_max)
#define TCP_OOSEQ_PBUFS_LIMIT(pcb) 512
/* Selective acknowledgements (RFC 2018) both ways: the receiver reports
 * what arrived behind a loss, and the sender resends only what is missing
 * (patches/0002-sack-loss-recovery.patch). */
#define LWIP_TCP_SACK_OUT 1
#define LWIP_TCP_MAX_SACK_NUM 4
/* lwIP's TCP timers tick every 50 ms (delayed ACKs, like Linux's 40 ms
 * minimum) and 100 ms (retransmission timeouts in steps of 100 ms, so the
 * shortest is 200 ms, Linux's minimum) instead of 250 and 500 ms: a loss
 * nothing else reveals costs a fifth. They run only while connections
 * exist. */
#define TCP_TMR_INTERVAL 50
/* A delayed ACK leaves 40 ms after the data it acknowledges (Linux's
 * minimum), each on its own deadline (patches/0022), not in a burst at
 * the fast timer's tick. */
#define TCP_DELACK_DELAY 40
/* Round-trip times in microseconds beside lwIP's ticks (patches/0012), for
 * the loss probe's timeout and TCP_INFO; the glue's monotonic clock. */
unsigned int oryx_now_us(void);
#define LWIP_TCP_NOW_US() oryx_now_us()
/* The initial congestion window of RFC 6928, as Linux: 10 segments
 * (lwIP's own is RFC 2581's 3; patches/0006 lets it be chosen here). */
#define LWIP_TCP_CALC_INITIAL_CWND(mss) \
  ((tcpwnd_size_t)LWIP_MIN((10U * (mss)), LWIP_MAX((2U * (mss)), 14600U)))
/* The TCP timers let the worker in between two connections: while the
 * transmit ring is backlogged, and every few hundred microseconds
 * (patches/0018; the stack's instance.cpp). */
void oryx_tcp_timer_pause_point(void);
#define LWIP_TCP_TIMER_PAUSE_POINT() oryx_tcp_timer_pause_point()
/* Initial sequence numbers per RFC 6528 (a keyed hash of the 4-tuple and
 * a clock), not lwIP's counter: oryx_lwip_hooks.h. */
#define LWIP_HOOK_FILENAME "oryx_lwip_hooks.h"
#define LWIP_HOOK_TCP_ISN oryx_tcp_isn
/* TIME_WAIT lasts 2*TCP_MSL = 60 s, as Linux's TCP_TIMEWAIT_LEN (lwIP's
 * default is 2 minutes); the stack's time_wait_max caps how many wait. */
#define TCP_MSL 30000UL
/* A connection the application closed waits for the peer's FIN at most
 * 60 s in FIN-WAIT-2, Linux's tcp_fin_timeout (lwIP's default is 20 s);
 * TCP_LINGER2 chooses it per socket (patches/0011). */
#define TCP_FIN_WAIT_TIMEOUT 60000

/* Checksums with DPDK's rte_raw_cksum, built to vectorize
 * (src/checksum.cpp), in place of lwIP's 16-bit loop: the same sum, about
 * four times faster. lwIP's own stays compiled for the test that compares
 * the two. */
unsigned short oryx_lwip_chksum(const void* data, int len);
#define LWIP_CHKSUM oryx_lwip_chksum
#define LWIP_CHKSUM_ALGORITHM 2

/* Checksum generation per interface: a stack whose port has the
 * tx_checksum offload leaves the IPv4 header and TCP checksums to it. */
#define LWIP_CHECKSUM_CTRL_PER_NETIF 1

/* ---- statistics and checks ---------------------------------------------- */
/* lwIP's own counts (the SNMP counters Linux shows in /proc/net/snmp, and
 * its drops) become the stack stage's counters (src/lwip_statistics.cpp);
 * 32-bit counters, which the stage widens. */
#define LWIP_STATS 1
#define LWIP_STATS_LARGE 1
#define MIB2_STATS 1
#define LWIP_STATS_DISPLAY 0
/* lwIP's assertions on its own invariants stay on (LWIP_NOASSERT unset);
 * a failed argument check returns an error (LWIP_ERROR without
 * LWIP_DEBUG). */

/* The core lock, and the check that it is held, come from the port
 * (Debian's port/sys_arch.c in the source package). */
void sys_check_core_locking(void);
#define LWIP_ASSERT_CORE_LOCKED() sys_check_core_locking()
void sys_mark_tcpip_thread(void);
#define LWIP_MARK_TCPIP_THREAD() sys_mark_tcpip_thread()
void sys_lock_tcpip_core(void);
#define LOCK_TCPIP_CORE() sys_lock_tcpip_core()
void sys_unlock_tcpip_core(void);
#define UNLOCK_TCPIP_CORE() sys_unlock_tcpip_core()

#endif /* ORYX_LWIPOPTS_H */
