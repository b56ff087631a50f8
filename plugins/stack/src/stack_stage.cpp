// SPDX-License-Identifier: Apache-2.0
// stack_stage.cpp - the DPDK side of the stack plugin: the `stack` stage.
//
// process(): frames from the port go to lwIP without copying (the mbuf is
// wrapped, not copied; lwIP frees it when done). poll(): frames lwIP sent —
// from the worker's own input processing or from lwIP's timer thread — are
// taken from a multi-producer ring and handed to edge 1, the port.
#include "connection_table.hpp"
#include "flow_steering.hpp"
#include "glue.hpp"
#include "ipv4_reassembly.hpp"
#include "mbuf_ops.hpp"
#include "packet_validation.hpp"

#include <oryx/json_text.hpp>
#include <oryx/sdk.hpp>
#include <oryx/socket_api.h>

#include <rte_cycles.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_ip.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_tcp.h>
#include <rte_udp.h>
#include <rte_ring.h>

#include <arpa/inet.h>

#include <array>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <vector>

namespace {

using oryx::sdk::Error;
using namespace oryx::stack;

// The DPDK side's own counters follow the lwIP side's.
enum LocalCounter : size_t {
  kDropMultiSegment = kCounterCount,
  kDropBadIpv4,
  kDropBadIpv6,
  kDropBadL4,
  kDropBadChecksum,
  kReassembled,
  kDropReassOverlap,
  kDropReassTimeout,
  kDropReassTooBig,
  kDropReassTableFull,
  kReassemblyMbufs,
  kFramesSteeredOut,
  kFramesSteeredIn,
  kDropSteerRingFull,
  kDropSteerNoMbuf,
  kLocalEnd
};
constexpr auto kCounters = oryx::sdk::counter_table({
    {kRxFrames, oryx::sdk::counter("rx_frames", "frames", "Frames handed to the stack.")},
    {kRxBytes, oryx::sdk::counter("rx_bytes", "bytes", "Bytes handed to the stack.")},
    {kTxFrames, oryx::sdk::counter("tx_frames", "frames", "Frames the stack sent.")},
    {kTxBytes, oryx::sdk::counter("tx_bytes", "bytes", "Bytes the stack sent.")},
    {kRxArp, oryx::sdk::counter("rx_arp", "frames", "ARP frames received.")},
    {kTxArp, oryx::sdk::counter("tx_arp", "frames", "ARP frames sent.")},
    {kArpRequestsIn, oryx::sdk::counter("arp_requests_in", "frames", "ARP requests received.")},
    {kArpRepliesIn, oryx::sdk::counter("arp_replies_in", "frames", "ARP replies received.")},
    {kArpRequestsOut,
     oryx::sdk::counter("arp_requests_out", "frames",
                        "ARP requests sent (address misses, and gratuitous ARP).")},
    {kArpRepliesOut, oryx::sdk::counter("arp_replies_out", "frames", "ARP replies sent.")},
    {kRxIpv4, oryx::sdk::counter("rx_ipv4", "packets", "IPv4 packets received.")},
    {kTxIpv4, oryx::sdk::counter("tx_ipv4", "packets", "IPv4 packets sent.")},
    {kRxIpv6, oryx::sdk::counter("rx_ipv6", "packets", "IPv6 packets received.")},
    {kTxIpv6, oryx::sdk::counter("tx_ipv6", "packets", "IPv6 packets sent.")},
    {kRxIcmp, oryx::sdk::counter("rx_icmp", "packets", "ICMP and ICMPv6 messages received.")},
    {kTxIcmp, oryx::sdk::counter("tx_icmp", "packets", "ICMP and ICMPv6 messages sent.")},
    {kIcmpEchoRequests,
     oryx::sdk::counter("icmp_echo_requests", "packets", "Echo requests received (v4 and v6).")},
    {kIcmpEchoReplies,
     oryx::sdk::counter("icmp_echo_replies", "packets", "Echo replies sent (v4 and v6).")},
    {kRxTcp, oryx::sdk::counter("rx_tcp", "segments", "TCP segments received.")},
    {kTxTcp, oryx::sdk::counter("tx_tcp", "segments", "TCP segments sent.")},
    {kRxTcpBytes,
     oryx::sdk::counter("rx_tcp_bytes", "bytes", "TCP bytes received (headers included).")},
    {kTxTcpBytes,
     oryx::sdk::counter("tx_tcp_bytes", "bytes", "TCP bytes sent (headers included).")},
    {kRxUdp, oryx::sdk::counter("rx_udp", "datagrams", "UDP datagrams received.")},
    {kTxUdp, oryx::sdk::counter("tx_udp", "datagrams", "UDP datagrams sent.")},
    {kRxUdpBytes,
     oryx::sdk::counter("rx_udp_bytes", "bytes", "UDP bytes received (headers included).")},
    {kTxUdpBytes,
     oryx::sdk::counter("tx_udp_bytes", "bytes", "UDP bytes sent (headers included).")},
    {kTcpAccepted, oryx::sdk::counter("tcp_accepted", "connections",
                                      "TCP connections accepted (services and sockets).")},
    {kTcpClosed,
     oryx::sdk::counter("tcp_closed", "connections", "TCP connections closed in order.")},
    {kTcpReset,
     oryx::sdk::counter("tcp_reset", "connections", "TCP connections reset or aborted.")},
    {kTcpTimeWaitRecycled,
     oryx::sdk::counter("tcp_time_wait_recycled", "connections",
                        "Connections closed without TIME_WAIT: time_wait_max were waiting "
                        "already.")},
    {kDropNotForUs,
     oryx::sdk::counter("drop_not_for_us", "frames", "Frames dropped: not addressed here.")},
    {kDropTruncated,
     oryx::sdk::counter("drop_truncated", "frames", "Frames dropped: shorter than a header.")},
    {kDropUnknownEthertype,
     oryx::sdk::counter("drop_unknown_ethertype", "frames", "Frames dropped: unknown ethertype.")},
    {kDropTxNoMbuf,
     oryx::sdk::counter("drop_tx_no_mbuf", "frames", "Frames not sent: mbuf pool empty.")},
    {kDropTxRingFull,
     oryx::sdk::counter("drop_tx_ring_full", "frames", "Frames not sent: transmit ring full.")},
    {kDropTooBig,
     oryx::sdk::counter("drop_too_big", "frames", "Frames not sent: larger than the MTU.")},
    {kTcpTimerTxWaits,
     oryx::sdk::counter("tcp_timer_tx_waits", "waits",
                        "Times lwIP's TCP timers, which send in bursts (delayed ACKs, "
                        "retransmissions), stopped with the transmit ring half full to let the "
                        "worker drain it (lwIP patch 0018).")},
    {kTcpConnections, oryx::sdk::gauge("tcp_connections", "connections",
                                       "Live TCP connections (services and sockets).")},
    {kMbufsHeld, oryx::sdk::gauge("mbufs_held", "mbufs", "Received mbufs lwIP still holds.")},
    {kTcpOpened, oryx::sdk::counter("tcp_opened", "connections",
                                    "TCP connections opened actively (connect on a socket).")},
    {kTcpAcceptOverflow,
     oryx::sdk::counter("tcp_accept_overflow", "segments",
                        "Handshake ACKs dropped because every accept queue was full; the "
                        "connection waits in SYN-RCVD and the peer retries, as with Linux.")},
    {kUdpRcvbufDrops,
     oryx::sdk::counter("udp_rcvbuf_drops", "datagrams",
                        "UDP datagrams dropped: the socket's receive buffer was full.")},
    {kSocketsOpen, oryx::sdk::gauge("sockets", "sockets", "Open sockets of the socket layer.")},
    {kTcpRetransmits, oryx::sdk::counter("tcp_retransmits", "segments",
                                         "TCP segments sent again (timeout, fast or partial-ACK "
                                         "retransmission).")},
    {kTcpPartialAckRetransmits,
     oryx::sdk::counter("tcp_partial_ack_retransmits", "segments",
                        "Retransmissions on a partial ACK during fast recovery (NewReno, "
                        "added by the glue; included in tcp_retransmits).")},
    {kTcpOutOfOrder,
     oryx::sdk::counter("tcp_out_of_order", "segments",
                        "TCP segments received ahead of the next expected byte (queued).")},
    {kTcpDuplicateSegments,
     oryx::sdk::counter("tcp_duplicate_segments", "segments",
                        "TCP segments whose data had all arrived before; dropped.")},
    {kDropTcpOutOfWindow, oryx::sdk::counter("drop_tcp_out_of_window", "segments",
                                             "TCP segments dropped: beyond the receive window.")},
    {kTcpRxCompacted,
     oryx::sdk::counter("tcp_rx_compacted", "segments",
                        "Received TCP segments copied out of their mbufs because the "
                        "application had more than 64 KiB unread: the port gets its "
                        "buffers back while a slow reader catches up.")},
    {kTcpRecoveryProbes,
     oryx::sdk::counter("tcp_recovery_probes", "segments",
                        "Holes retransmitted again because a connection in SACK recovery "
                        "made no progress for a probe timeout (2 round trips, at least "
                        "10 ms: a lost retransmission), instead of waiting for the "
                        "retransmission timeout.")},
    {kTcpTailLossProbes,
     oryx::sdk::counter("tcp_tail_loss_probes", "segments",
                        "First unacknowledged segments sent again because a connection with "
                        "two or more segments in flight had no ACK for a probe timeout (2 "
                        "round trips, at least 10 ms): a tail loss found before the "
                        "retransmission timeout (RFC 8985's tail-loss probe).")},
    {kTcpConnectionLimitRefusals,
     oryx::sdk::counter("tcp_connection_limit_refusals", "connections",
                        "Connections refused because max_connections were open (TIME_WAIT "
                        "included, after the oldest one was recycled): SYNs dropped, which "
                        "the client sends again as when Linux's SYN queue is full, and "
                        "socket() calls answered ENOBUFS.")},
    {kUdpSocketLimitRefusals,
     oryx::sdk::counter("udp_socket_limit_refusals", "sockets",
                        "UDP sockets refused (socket() answered ENOBUFS) because "
                        "max_udp_sockets were open.")},
    {kTcpActive, oryx::sdk::gauge("tcp_active", "connections",
                                  "lwIP's connections in any state but LISTEN and TIME_WAIT, "
                                  "sockets' and services' alike (process-wide).")},
    {kTcpTimeWait, oryx::sdk::gauge("tcp_time_wait", "connections",
                                    "Connections in TIME_WAIT (process-wide; see time_wait_max).")},
    {kTxChecksumOffloaded,
     oryx::sdk::counter("tx_checksum_offloaded", "frames",
                        "Frames whose IPv4 header or TCP checksum the port computes (its "
                        "tx_checksum offload is on), not lwIP.")},
    {kLoadConnectionsOpen,
     oryx::sdk::gauge("load_connections_open", "connections",
                      "Load generator: its connections open now.")},
    {kLoadRequests,
     oryx::sdk::counter("load_requests", "requests",
                        "Load generator: requests answered in full (load_size bytes back).")},
    {kLoadConnectFailures,
     oryx::sdk::counter("load_connect_failures", "connections",
                        "Load generator: connections that could not be opened (refused, "
                        "timed out, no port or pcb left).")},
    {kLoadConnectionsLost,
     oryx::sdk::counter("load_connections_lost", "connections",
                        "Load generator: open connections the server closed or reset.")},
    // lwIP's own statistics, of the stage's lwIP instance, since the stage started, read
    // once a second (lwip_statistics.cpp).
    {kIpInReceives, oryx::sdk::counter("ip_in_receives", "datagrams",
                          "IP datagrams lwIP received (Linux's Ip InReceives).")},
    {kIpInHdrErrors, oryx::sdk::counter("ip_in_hdr_errors", "datagrams",
                          "IP datagrams lwIP dropped for a bad header (InHdrErrors).")},
    {kIpInAddrErrors, oryx::sdk::counter("ip_in_addr_errors", "datagrams",
                          "IP datagrams lwIP dropped: not addressed to this stack "
                          "(InAddrErrors).")},
    {kIpInUnknownProtos, oryx::sdk::counter("ip_in_unknown_protos", "datagrams",
                          "IP datagrams lwIP dropped: no handler for their protocol "
                          "(InUnknownProtos).")},
    {kIpInDiscards, oryx::sdk::counter("ip_in_discards", "datagrams",
                          "IP datagrams lwIP discarded without an error in them, e.g. for want "
                          "of memory (InDiscards).")},
    {kIpInDelivers, oryx::sdk::counter("ip_in_delivers", "datagrams",
                          "IP datagrams delivered to a protocol (InDelivers).")},
    {kIpOutRequests, oryx::sdk::counter("ip_out_requests", "datagrams",
                          "IP datagrams the protocols handed to IP to send (OutRequests).")},
    {kIpOutDiscards, oryx::sdk::counter("ip_out_discards", "datagrams",
                          "IP datagrams lwIP discarded on the way out (OutDiscards).")},
    {kIpOutNoRoutes, oryx::sdk::counter("ip_out_no_routes", "datagrams",
                          "IP datagrams with no route to their destination (OutNoRoutes).")},
    {kIpReasmReqds, oryx::sdk::counter("ip_reasm_reqds", "fragments",
                          "IP fragments lwIP had to reassemble (ReasmReqds; IPv4 fragments are "
                          "reassembled before lwIP, see ipv4_reassembled).")},
    {kIpReasmOks, oryx::sdk::counter("ip_reasm_oks", "datagrams",
                          "IP datagrams lwIP reassembled (ReasmOKs).")},
    {kIpReasmFails, oryx::sdk::counter("ip_reasm_fails", "failures",
                          "IP reassemblies lwIP gave up (ReasmFails).")},
    {kIpFragOks, oryx::sdk::counter("ip_frag_oks", "datagrams",
                          "IP datagrams lwIP fragmented to send (FragOKs).")},
    {kIpFragFails, oryx::sdk::counter("ip_frag_fails", "datagrams",
                          "IP datagrams lwIP could not fragment (FragFails).")},
    {kIpFragCreates, oryx::sdk::counter("ip_frag_creates", "fragments",
                          "IP fragments lwIP created (FragCreates).")},
    {kTcpActiveOpens, oryx::sdk::counter("tcp_active_opens", "connections",
                          "TCP connections opened by connect (Linux's Tcp ActiveOpens).")},
    {kTcpPassiveOpens, oryx::sdk::counter("tcp_passive_opens", "connections",
                          "TCP connections opened by a listener's SYN-ACK (PassiveOpens).")},
    {kTcpAttemptFails, oryx::sdk::counter("tcp_attempt_fails", "connections",
                          "TCP connections that failed while opening (AttemptFails).")},
    {kTcpEstabResets, oryx::sdk::counter("tcp_estab_resets", "connections",
                          "TCP connections reset while established or in CLOSE_WAIT "
                          "(EstabResets).")},
    {kTcpInSegs, oryx::sdk::counter("tcp_in_segs", "segments",
                          "TCP segments lwIP received, errors included (InSegs).")},
    {kTcpOutSegs, oryx::sdk::counter("tcp_out_segs", "segments",
                          "TCP segments lwIP sent, retransmissions excluded (OutSegs).")},
    {kTcpRetransSegs, oryx::sdk::counter("tcp_retrans_segs", "segments",
                          "TCP segments lwIP resent through tcp_rexmit: fast retransmit "
                          "without SACK, NewReno's partial ACK and the stack's probes "
                          "(RetransSegs). Every retransmission, SACK recovery's and a "
                          "timeout's included, is in tcp_retransmits.")},
    {kTcpInErrs, oryx::sdk::counter("tcp_in_errs", "segments",
                          "TCP segments lwIP received in error, e.g. a bad checksum or length "
                          "(InErrs).")},
    {kTcpOutRsts, oryx::sdk::counter("tcp_out_rsts", "segments",
                          "TCP segments with RST lwIP sent (OutRsts).")},
    {kTcpTimeouts, oryx::sdk::counter("tcp_timeouts", "events",
                          "Retransmission timeouts: a connection's timer expired and its "
                          "unacknowledged data was sent again (Linux's TCPTimeouts; lwIP "
                          "patch 0014).")},
    {kUdpInDatagrams, oryx::sdk::counter("udp_in_datagrams", "datagrams",
                          "UDP datagrams delivered to a socket or service (Linux's Udp "
                          "InDatagrams).")},
    {kUdpNoPorts, oryx::sdk::counter("udp_no_ports", "datagrams",
                          "UDP datagrams to a port nothing listens on (NoPorts; answered with "
                          "ICMP port unreachable).")},
    {kUdpInErrors, oryx::sdk::counter("udp_in_errors", "datagrams",
                          "UDP datagrams lwIP could not deliver for another reason (InErrors).")},
    {kUdpOutDatagrams, oryx::sdk::counter("udp_out_datagrams", "datagrams",
                          "UDP datagrams lwIP sent (OutDatagrams).")},
    {kIcmpInMsgs, oryx::sdk::counter("icmp_in_msgs", "messages",
                          "ICMP messages lwIP received (Linux's Icmp InMsgs).")},
    {kIcmpInErrors, oryx::sdk::counter("icmp_in_errors", "messages",
                          "ICMP messages lwIP received with an error in them (InErrors).")},
    {kIcmpOutMsgs, oryx::sdk::counter("icmp_out_msgs", "messages",
                          "ICMP messages lwIP sent (OutMsgs).")},
    {kIcmpOutErrors, oryx::sdk::counter("icmp_out_errors", "messages",
                          "ICMP messages lwIP could not send (OutErrors).")},
    {kLwipDrops, oryx::sdk::counter("lwip_drops", "packets",
                          "Packets lwIP itself dropped, all protocols (lwIP's drop statistics; "
                          "the checks in front of lwIP count theirs in the drop_* counters).")},
    {kLwipMemoryErrors, oryx::sdk::counter("lwip_memory_errors", "events",
                          "Times lwIP found no memory for a packet or a segment, all protocols.")},
    {kDropMultiSegment,
     oryx::sdk::counter("drop_multi_segment", "frames",
                        "Chained frames dropped: headers that go past the first segment, "
                        "or a segment without headroom for the stack's wrapper.")},
    {kDropBadIpv4,
     oryx::sdk::counter("drop_bad_ipv4_header", "packets",
                        "IPv4 packets dropped: bad version, header length, total length or "
                        "header checksum.")},
    {kDropBadIpv6, oryx::sdk::counter("drop_bad_ipv6_header", "packets",
                                      "IPv6 packets dropped: payload length beyond the frame.")},
    {kDropBadL4,
     oryx::sdk::counter("drop_bad_l4_header", "packets",
                        "TCP/UDP packets dropped: header truncated or lengths inconsistent.")},
    {kDropBadChecksum,
     oryx::sdk::counter("drop_bad_checksum", "packets",
                        "TCP/UDP packets dropped: checksum wrong (checked by the port if it "
                        "can, in software otherwise).")},
    {kReassembled,
     oryx::sdk::counter("ipv4_reassembled", "packets", "IPv4 datagrams rebuilt from fragments.")},
    {kDropReassOverlap, oryx::sdk::counter("drop_reass_overlap", "datagrams",
                                           "IPv4 datagrams dropped whole: overlapping fragments.")},
    {kDropReassTimeout, oryx::sdk::counter("drop_reass_timeout", "datagrams",
                                           "IPv4 datagrams dropped: fragments missing after 5 s.")},
    {kDropReassTooBig,
     oryx::sdk::counter("drop_reass_too_big", "fragments",
                        "IPv4 fragments dropped: beyond 65,535 bytes or misaligned.")},
    {kDropReassTableFull,
     oryx::sdk::counter("drop_reass_table_full", "fragments",
                        "IPv4 fragments dropped: 64 datagrams already in reassembly.")},
    {kReassemblyMbufs, oryx::sdk::gauge("reassembly_mbufs", "mbufs",
                                        "Fragments waiting for the rest of their datagram.")},
    {kFramesSteeredOut,
     oryx::sdk::counter("frames_steered_out", "frames",
                        "per_worker: frames a worker received for another worker's instance "
                        "(the owner of their flow) and handed to it; copies of ARP replies and "
                        "IPv6 neighbour and router advertisements, which every instance "
                        "takes, count too.")},
    {kFramesSteeredIn, oryx::sdk::counter("frames_steered_in", "frames",
                                          "per_worker: frames an instance took from other workers.")},
    {kDropSteerRingFull,
     oryx::sdk::counter("drop_steer_ring_full", "frames",
                        "per_worker: frames dropped because the owning instance's steering "
                        "ring was full (its worker falls behind).")},
    {kDropSteerNoMbuf, oryx::sdk::counter("drop_steer_no_mbuf", "frames",
                                          "per_worker: copies for every instance not made: the "
                                          "kernel's mbuf pool was empty.")},
});
static_assert(kCounters.size() == kLocalEnd);

constexpr oryx_param kParams[] = {
    oryx::sdk::param_string("address", "\"\"", "IPv4 address with prefix length, e.g. 198.18.0.10/24.",
                            ORYX_FORMAT_IPV4_PREFIX),
    oryx::sdk::param_string("gateway", "\"\"", "IPv4 default gateway.", ORYX_FORMAT_IPV4),
    oryx::sdk::param_string("ipv6", "\"\"",
                            "IPv6 address (a link-local one is always added), e.g. 2001:db8::10.",
                            ORYX_FORMAT_IPV6),
    oryx::sdk::param_string("mac", "\"\"", "MAC address; empty uses the port's.", ORYX_FORMAT_MAC),
    oryx::sdk::param_int("mtu", 0, 9000, "0",
                         "MTU; 0 uses the port's, else 68 (IPv4's minimum) up to the port's. The "
                         "TCP MSS follows it (MTU - 40, IPv6 - 60). On memif, whose driver "
                         "carries frames of any length, up to 9000 (jumbo frames)."),
    oryx::sdk::param_int("tx_ring", 64, 65536, "4096",
                         "Frames the stack may queue for the port before dropping (power of 2). "
                         "lwIP's TCP timers send in bursts (the delayed ACKs of 50 ms: at "
                         "100,000 request/response connections, thousands) and wait while it "
                         "is half full; size it, and the kernel's mbufs, to about 50 ms of the "
                         "packet rate (bench/scale_oryx.sh uses 32768 and 65535)."),
    oryx::sdk::param_int("time_wait_max", 16, 4194304, "131072",
                         "TCP connections kept in TIME_WAIT (one minute each); one that would "
                         "exceed it is closed at once (Linux's tcp_max_tw_buckets). The stacks "
                         "of one lwIP instance share the count."),
    oryx::sdk::param_int("receive_window", 65535, 8388480, "1310720",
                         "TCP receive window in bytes once window scaling is agreed (10 Gbit/s "
                         "over a 1 ms round trip needs 1310720, the default). Data waiting for "
                         "the application counts against it, so it is also what a connection "
                         "may hold unread: with many connections and slow readers, less bounds "
                         "that memory. One value per lwIP instance: every stack stage of an "
                         "instance must give the same."),
    oryx::sdk::param_int("delayed_ack_ms", 1, 500, "40",
                         "How long an ACK that no data carries waits for data to ride on, from "
                         "the segment it acknowledges (every second full segment is "
                         "acknowledged at once). 40 is Linux's minimum; less costs an ACK frame "
                         "wherever an answer takes longer, and acknowledges while the "
                         "connection is still in the CPU's cache (bench/scale_oryx.sh). One "
                         "value per lwIP instance: every stack stage of an instance must give "
                         "the same."),
    oryx::sdk::param_string("instance", "\"default\"",
                            "The lwIP instance this stack runs in. Stages that name the same "
                            "instance share one TCP/IP stack: one connection table, one core "
                            "lock, one timer thread; the sockets of `oryx run` live in the "
                            "first stack stage's instance and reach only its stages. Stages "
                            "with different instances are independent stacks (own tables, "
                            "statistics, lock and timers) that may use the same address and "
                            "ports.",
                            ORYX_FORMAT_NAME),
    oryx::sdk::param_bool("per_worker", "false",
                          "One independent lwIP instance per worker (named INSTANCE-wN), each "
                          "with its own connections, timer thread (on its worker's CPU) and "
                          "transmit ring, none waiting for another's lock. A worker hands each "
                          "frame it receives to the instance owning its flow (a hash of the "
                          "addresses and ports; counters frames_steered_*), whatever queue it "
                          "came in on; services listen in every instance, the load generator "
                          "opens its connections from every instance with local ports whose "
                          "flows hash back to it. The sockets of `oryx run` do not use a "
                          "per-worker stack yet (it has one worker, where this changes "
                          "nothing). With one worker, the same as false."),
    oryx::sdk::param_int("max_connections", 16, 4194304, "262144",
                         "TCP connections held at once, TIME_WAIT included (listening sockets "
                         "are not counted); at the ceiling the oldest TIME_WAIT one is "
                         "recycled, else a new connection is refused (its SYN dropped, "
                         "socket() ENOBUFS). About 550 bytes each, and 8 bytes of the "
                         "connection table (a bucket per connection, rounded up to a power of "
                         "two). One value per process."),
    oryx::sdk::param_int("max_udp_sockets", 16, 1048576, "65536",
                         "UDP sockets and services open at once; socket() answers ENOBUFS "
                         "beyond. One value per process."),
    oryx::sdk::param_int("tcp_echo_port", 0, 65535, "0", "TCP echo service port; 0 is off."),
    oryx::sdk::param_int("load_connections", 0, 1048576, "0",
                         "Load generator: TCP connections to open to load_targets (spread "
                         "over them in turn, at most 64,512 per target); 0 is off. Once all are "
                         "open, load_in_flight requests of load_size bytes are kept outstanding, "
                         "each next one on the connection idle longest, and a request counts "
                         "(load_requests) when load_size bytes came back, as from an echo "
                         "service. No file descriptor per connection: a client for "
                         "100,000 connections (bench/scale_oryx.sh)."),
    oryx::sdk::param_string_list("load_targets", 0, 16, "[]",
                                 "Load generator: servers, \"198.18.0.2:7\" or \"[fd00::2]:7\"."),
    oryx::sdk::param_int("load_in_flight", 0, 1048576, "0",
                         "Load generator: requests outstanding at once; 0 is one per "
                         "connection."),
    oryx::sdk::param_int("load_size", 1, 65535, "64", "Load generator: bytes per request."),
    oryx::sdk::param_int("udp_echo_port", 0, 65535, "0", "UDP echo service port; 0 is off."),
    oryx::sdk::param_int("tcp_discard_port", 0, 65535, "0", "TCP discard service port; 0 is off."),
    oryx::sdk::param_int("udp_discard_port", 0, 65535, "0", "UDP discard service port; 0 is off."),
    oryx::sdk::param_int("http_port", 0, 65535, "0", "HTTP responder port; 0 is off."),
    oryx::sdk::param_int("http_body_bytes", 0, 16777216, "128",
                         "Size of the HTTP responder's fixed response body."),
    oryx::sdk::param_end(),
};

// Marks, in the kernel's service registry, that a stack stage of this
// appliance registered the connections route.
struct RouteMarker {
  uint32_t struct_size;
};
constexpr const char* kRouteMarker = "stack.connections";
constexpr RouteMarker kRouteMarkerValue{sizeof(RouteMarker)};

// The kernel of the process (one, as lwIP is one instance).
const oryx_host_api* g_host = nullptr;
// A frame lwIP's timer thread sent must leave even when every thread that
// walks a hosted worker sleeps (cheap while somebody polls anyway).
void kick_worker() { g_host->worker_kick(0); }
unsigned tx_queued(void* ring) { return rte_ring_count(static_cast<rte_ring*>(ring)); }
int wait_polling(const uint32_t* word, uint32_t value, int64_t deadline_ns) {
  int rc = g_host->worker_wait(0, word, value, deadline_ns);
  return rc == ORYX_ERR_TIMEDOUT ? -ETIMEDOUT : rc == ORYX_ERR_INTERRUPTED ? -EINTR : 0;
}

// The socket layer's command ring: any application thread produces; the
// stack's worker consumes, and so does a caller the worker left waiting.
// The ring is in DPDK's relaxed-tail-sync mode (RTS), not the default one:
// there a producer preempted between reserving its slot and publishing it
// stalls every later producer until it runs again, and with more
// application threads than CPUs they spun on each other for seconds at a
// time (16 threads on 2 CPUs: a few requests per second). The generic
// calls follow the ring's mode.
bool command_enqueue(void* ring, void* cmd) {
  return rte_ring_enqueue(static_cast<rte_ring*>(ring), cmd) == 0;
}
unsigned command_dequeue(void* ring, void** cmds, unsigned max) {
  return rte_ring_dequeue_burst(static_cast<rte_ring*>(ring), cmds, max, nullptr);
}

// "198.18.0.10/24" -> address and dotted mask.
void split_cidr(const std::string& cidr, std::string& addr, std::string& mask) {
  size_t slash = cidr.find('/');
  addr = cidr.substr(0, slash);
  int bits = 32;
  if (slash != std::string::npos) {
    char* end = nullptr;
    long b = std::strtol(cidr.c_str() + slash + 1, &end, 10);
    if (*end || b < 0 || b > 32) throw Error("address: bad prefix length in \"" + cidr + "\"");
    bits = int(b);
  }
  in_addr a{};
  if (inet_pton(AF_INET, addr.c_str(), &a) != 1)
    throw Error("address: \"" + addr + "\" is not an IPv4 address");
  uint32_t m = bits ? htonl(~uint32_t(0) << (32 - bits)) : 0;
  char buf[INET_ADDRSTRLEN];
  inet_ntop(AF_INET, &m, buf, sizeof(buf));
  mask = buf;
}

// What validate_frame() found, as this stage's counter.
size_t counter_of(FrameVerdict v) {
  switch (v) {
    case FrameVerdict::kBadIpv4: return kDropBadIpv4;
    case FrameVerdict::kBadIpv6: return kDropBadIpv6;
    case FrameVerdict::kBadL4: return kDropBadL4;
    case FrameVerdict::kBadChecksum: return kDropBadChecksum;
    case FrameVerdict::kSplitHeaders: return kDropMultiSegment;
    case FrameVerdict::kFine: case FrameVerdict::kVerified: break;
  }
  return 0;
}

// Whether a port sends frames chained over several mbufs.
bool sends_chains(uint16_t port_id) {
  rte_eth_dev_info info{};
  return rte_eth_dev_info_get(port_id, &info) == 0 &&
         (info.tx_offload_capa & RTE_ETH_TX_OFFLOAD_MULTI_SEGS);
}

// Whether a port carries frames longer than its MTU says. DPDK 22.11's
// memif driver reports a 1,518-byte maximum and has no MTU to set, yet
// carries frames of any length as chained buffers both ways: a stack on
// memif takes jumbo frames from its own `mtu` key.
bool carries_any_length(uint16_t port_id) {
  rte_eth_dev_info info{};
  return rte_eth_dev_info_get(port_id, &info) == 0 && info.driver_name &&
         std::strcmp(info.driver_name, "net_memif") == 0 &&
         (info.tx_offload_capa & RTE_ETH_TX_OFFLOAD_MULTI_SEGS);
}

class StackStage {
 public:
  // What start-up would refuse in a table, found before anything exists
  // (--check-config runs it too). The schema already checked the formats
  // of address, gateway, ipv6 and mac.
  static void check(const oryx::sdk::Config& cfg, const oryx::sdk::Edges& edges) {
    if (edges.size() != 1)
      throw Error("a stack stage has one next edge, the port (or vlan interface) it sends on; found " +
                  std::to_string(edges.size()));
    bool v4 = !cfg.get_string("address").empty();
    if (!v4 && cfg.get_string("ipv6").empty())
      throw Error("address: give the stack an address (address = \"a.b.c.d/len\") or an ipv6 address");
    if (!v4 && !cfg.get_string("gateway").empty())
      throw Error("gateway: an IPv4 gateway needs an IPv4 address (address = \"a.b.c.d/len\")");
    int64_t mtu = cfg.get_int("mtu");
    if (mtu != 0 && mtu < 68)
      throw Error("mtu: expected 0 (the port's) or 68..9000 (68 is IPv4's minimum), found " +
                  std::to_string(mtu));
  }

  explicit StackStage(const oryx::sdk::InstanceContext& ctx)
      : name_(ctx.name), host_(ctx.host), log_(ctx.log), control_(ctx.control_counters) {
    g_host = host_;
    check(ctx.config, ctx.edges);
    port_name_ = ctx.edges[0];
    const auto& cfg = ctx.config;
    iface_.name = name_;
    if (!cfg.get_string("address").empty())
      split_cidr(cfg.get_string("address"), iface_.ipv4, iface_.ipv4_mask);
    iface_.ipv4_gateway = cfg.get_string("gateway");
    iface_.ipv6 = cfg.get_string("ipv6");
    mac_text_ = cfg.get_string("mac");
    if (!mac_text_.empty() && rte_ether_unformat_addr(mac_text_.c_str(), &mac_) != 0)
      throw Error("mac: \"" + mac_text_ + "\" is not a MAC address");
    mtu_ = uint16_t(cfg.get_int("mtu"));
    iface_.time_wait_max = size_t(cfg.get_int("time_wait_max"));
    iface_.receive_window = size_t(cfg.get_int("receive_window"));
    iface_.delayed_ack_ms = uint32_t(cfg.get_int("delayed_ack_ms"));
    iface_.instance = cfg.get_string("instance");
    // Worker 0 drives the stack (it drains the transmit ring): lwIP's timer
    // thread goes to its CPU. Under oryx run's shared model there is no
    // worker lcore, and the thread stays where it is created.
    unsigned worker0 = rte_get_next_lcore(-1, 1, 0);
    if (worker0 < RTE_MAX_LCORE) iface_.timer_cpu = int(rte_lcore_to_cpu_id(int(worker0)));
    iface_.load.connections = size_t(cfg.get_int("load_connections"));
    iface_.load.targets = cfg.get_string_list("load_targets");
    iface_.load.in_flight = size_t(cfg.get_int("load_in_flight"));
    iface_.load.size = size_t(cfg.get_int("load_size"));
    iface_.max_connections = size_t(cfg.get_int("max_connections"));
    iface_.max_udp_sockets = size_t(cfg.get_int("max_udp_sockets"));
    services_.tcp_echo_port = int(cfg.get_int("tcp_echo_port"));
    services_.udp_echo_port = int(cfg.get_int("udp_echo_port"));
    services_.tcp_discard_port = int(cfg.get_int("tcp_discard_port"));
    services_.udp_discard_port = int(cfg.get_int("udp_discard_port"));
    services_.http_port = int(cfg.get_int("http_port"));
    services_.http_body_bytes = size_t(cfg.get_int("http_body_bytes"));

    unsigned ring_size = unsigned(cfg.get_int("tx_ring"));
    if (ring_size & (ring_size - 1)) throw Error("tx_ring must be a power of 2");
    const uint32_t workers = std::max<uint32_t>(1, host_.worker_count());
    lanes_.resize(cfg.get_bool("per_worker") ? workers : 1);
    for (size_t w = 0; w < lanes_.size(); w++) {
      Lane& lane = lanes_[w];
      std::string suffix = lanes_.size() > 1 ? "_" + std::to_string(w) : "";
      // Producers: the workers (replies while handling input) and lwIP's
      // timer thread; the consumer is this stage's poll on one worker.
      lane.tx = make_ring("oryx_stack_" + name_ + suffix, ring_size, RING_F_SC_DEQ);
      if (lanes_.size() == 1) continue;
      lane.inbound = make_ring("oryx_steer_" + name_ + suffix, kSteerRingSize, RING_F_SC_DEQ);
      lane.counters.assign(kCounterCount, 0);
      lane.published.assign(kCounterCount, 0);
    }
    std::string commands_name = "oryx_sock_" + name_;
    commands_ = rte_ring_create(commands_name.c_str(), kCommandRingSize, SOCKET_ID_ANY,
                                RING_F_MP_RTS_ENQ | RING_F_MC_RTS_DEQ);
    if (!commands_)
      throw Error("cannot create ring " + commands_name + ": " + rte_strerror(rte_errno));
    const uint64_t timeout = rte_get_tsc_hz() * 5;  // Linux waits 30 s; a stage needs its mbufs
    for (uint32_t w = 0; w < workers; w++)
      reassembly_.push_back(std::make_unique<Ipv4Reassembly>(timeout));
    last_expiry_.assign(reassembly_.size(), 0);
  }

  ~StackStage() {
    for (Lane& lane : lanes_) lane.iface.reset();  // before any ring it sends on
    if (commands_) rte_ring_free(commands_);  // empty: stop() drained it
    reassembly_.clear();
  }

  // Ports exist by now: take the MAC and MTU from ours, start lwIP.
  void start() {
    auto port = host_.find_port(port_name_);
    if (!port) throw Error("next edge \"" + port_name_ + "\" is not a port or vlan interface");
    const uint16_t port_id = *port;
    if (mac_text_.empty() && rte_eth_macaddr_get(port_id, &mac_) != 0)
      throw Error("cannot read the MAC address of port " + port_name_);
    std::memcpy(iface_.mac, mac_.addr_bytes, 6);
    uint16_t port_mtu = 1500;
    rte_eth_dev_get_mtu(port_id, &port_mtu);
    if (mtu_ > port_mtu && !carries_any_length(port_id))
      throw Error("mtu " + std::to_string(mtu_) + " is larger than port " + port_name_ +
                  "'s MTU of " + std::to_string(port_mtu) +
                  ": set the port's mtu (the stack's MSS follows it)");
    iface_.mtu = mtu_ ? mtu_ : port_mtu;
    // The port's tx_checksum offload (`offloads` of the port stage) takes
    // the IPv4 header and TCP checksums off lwIP.
    rte_eth_conf port_conf{};
    constexpr uint64_t kTxSums = RTE_ETH_TX_OFFLOAD_IPV4_CKSUM | RTE_ETH_TX_OFFLOAD_TCP_CKSUM;
    iface_.tx_checksum_offload = rte_eth_dev_conf_get(port_id, &port_conf) == 0 &&
                                 (port_conf.txmode.offloads & kTxSums) == kTxSums;
    // A frame longer than one mbuf is sent chained, which only some ports
    // can send (AF_XDP sends the first segment's bytes for the whole).
    rte_mempool* pool = host_.mbuf_pool(SOCKET_ID_ANY);
    const unsigned room = rte_pktmbuf_data_room_size(pool) - RTE_PKTMBUF_HEADROOM;
    if (unsigned(iface_.mtu) + RTE_ETHER_HDR_LEN + RTE_VLAN_HLEN > room && !sends_chains(port_id))
      throw Error("mtu " + std::to_string(iface_.mtu) + ": frames of " +
                  std::to_string(iface_.mtu + RTE_ETHER_HDR_LEN) + " bytes do not fit the " +
                  std::to_string(room) + " bytes of one mbuf, and port " + port_name_ +
                  " cannot send chained mbufs; raise [kernel] mbuf_data_room");
    // Chains work, but each frame then costs several mbufs and pbufs: say
    // what holds a frame whole (bulk TCP over memif ran about 10 % faster).
    if (const unsigned frame = unsigned(iface_.mtu) + RTE_ETHER_HDR_LEN + RTE_VLAN_HLEN;
        frame > room)
      log_.info("stack ", name_, ": frames of up to ", frame, " bytes span ",
                (frame + room - 1) / room, " mbufs of ", room,
                " bytes; [kernel] mbuf_data_room = ",
                (frame + RTE_PKTMBUF_HEADROOM + 63) / 64 * 64, " holds each in one");
    MbufOps ops = dpdk_mbuf_ops(kick_worker);
    const unsigned owners = unsigned(lanes_.size());
    for (unsigned w = 0; w < owners; w++) {
      InterfaceConfig cfg = iface_;
      uint64_t* row = control_;
      if (owners > 1) {
        cfg.instance = iface_.instance + "-w" + std::to_string(w);
        cfg.timer_cpu = worker_cpu(w);
        cfg.load = share_of(iface_.load, w, owners);
        cfg.load.owner = w;
        cfg.load.owners = owners;
        row = lanes_[w].counters.data();
      }
      try {
        lanes_[w].iface = std::make_unique<Interface>(cfg, services_, ops, pool, lanes_[w].tx.get(), row);
      } catch (const std::exception& e) {
        throw Error(e.what());
      }
      lanes_[w].iface->up();
    }
    // One connections table (of every lwIP instance) and one socket layer
    // (in the first stage's instance that is not per-worker: its listeners
    // would miss the flows other instances own) for the whole process: the
    // first stack stage registers them, and a failure to do so stops
    // start-up; later stack stages share them.
    if (!host_.find<RouteMarker>(kRouteMarker, 1)) {
      host_.route("connections",
                  "Live TCP and UDP endpoints of the stack (netstat); "
                  "?proto=&state=&q=&sort=&order=&offset=&limit=",
                  &StackStage::connections, nullptr);
      host_.publish(kRouteMarker, 1, &kRouteMarkerValue);
    }
    const bool sockets_here =
        owners == 1 && !host_.find<oryx_socket_api>(ORYX_SOCKET_SERVICE, ORYX_SOCKET_API_VERSION);
    if (sockets_here) {
      SharedHooks hooks;
      hooks.worker_poll = host_->worker_poll;
      hooks.wait = wait_polling;
      hooks.hosted = host_->worker_hosted(0) == 1;
      hooks.tx_ring = lanes_[0].tx.get();
      hooks.tx_queued = tx_queued;
      hooks.burst = host_.burst_size();
      sockets_attach({commands_, command_enqueue, command_dequeue}, control_, hooks,
                     lanes_[0].iface->instance());
      host_.publish(ORYX_SOCKET_SERVICE, ORYX_SOCKET_API_VERSION,
                    static_cast<const oryx_socket_api*>(sockets_api()));
      sockets_attached_ = true;
    } else if (owners > 1) {
      log_.info("stack ", name_, " runs ", owners, " lwIP instances, ", iface_.instance,
                "-w0 to -w", owners - 1, ", one per worker; the process's sockets are not theirs");
    } else {
      log_.info("stack ", name_, " runs in lwIP instance ", iface_.instance,
                "; the process's sockets are the first stack stage's");
    }
    if (sockets_attached_) sockets_set_running(true);
    char mac[RTE_ETHER_ADDR_FMT_SIZE];
    rte_ether_format_addr(mac, sizeof(mac), &mac_);
    log_.info("stack ", name_, " up on ", port_name_, ": ", iface_.ipv4, "/", iface_.ipv4_mask,
              iface_.ipv6.empty() ? "" : " " + iface_.ipv6, " mac ", mac, " mtu ", iface_.mtu,
              iface_.tx_checksum_offload ? "; IPv4 header and TCP checksums by the port" : "");
  }

  void stop() {
    if (sockets_attached_) sockets_set_running(false);
    for (Lane& lane : lanes_)
      if (lane.iface) lane.iface->down();
  }

  void process(oryx_burst& b) {
    // Room for a burst of single-segment frames or reassembled chains.
    std::array<Interface::Frame, 512> frames;
    size_t n = 0;
    const unsigned owners = unsigned(lanes_.size());
    Lane& here = lanes_[owners > 1 ? b.worker : 0];
    Ipv4Reassembly& reass = *reassembly_[b.worker];
    for (uint16_t i = 0; i < b.count; i++) {
      rte_mbuf* m = b.pkts[i];
      b.next[i] = ORYX_EDGE_CONSUMED;
      if (!here.iface || !segments_have_headroom(m, Interface::headroom_needed())) {
        b.counters[kDropMultiSegment]++;
        rte_pktmbuf_free(m);
        continue;
      }
      FrameVerdict v = validate_frame(m);
      if (!accepted(v)) {
        b.counters[counter_of(v)]++;
        rte_pktmbuf_free(m);
        continue;
      }
      if (is_ipv4_fragment(m)) {
        m = reass.add(m, rte_rdtsc());
        if (!m) continue;
      }
      if (owners > 1 && !keep_here(b, m, v)) continue;
      // lwIP skips the checksum of what was verified here (lwIP patch
      // 0015); a datagram reassembled from fragments is lwIP's to check.
      add_frame(*here.iface, frames, n, m, v == FrameVerdict::kVerified);
    }
    if (n) here.iface->input(frames.data(), uint16_t(n));
    publish_reassembly(b);
  }

  // Nothing to wait for: what the stack sends arrives from lwIP, and every
  // frame queued outside a walk kicks the worker (mbuf_queue_tx).
  int wake_fds(uint32_t, int*, uint32_t) { return 0; }

  uint16_t poll(oryx_burst& b) {
    uint64_t now = rte_rdtsc();
    expire_reassembly(b, now);
    Lane* lane = nullptr;
    if (lanes_.size() > 1) {
      // Every worker drives its own instance.
      lane = &lanes_[b.worker];
      take_steered(b, *lane);
      publish_lane_counters(b, *lane, now);
    } else if (b.worker == 0) {
      // The transmit ring has one consumer: worker 0 sends for the stack,
      // and runs queued socket calls first so that what they send leaves now.
      lane = &lanes_[0];
      sockets_run_commands();
    } else {
      return 0;
    }
    unsigned got = rte_ring_sc_dequeue_burst(lane->tx.get(), reinterpret_cast<void**>(b.pkts),
                                             b.capacity, nullptr);
    for (unsigned i = 0; i < got; i++) b.next[i] = 1;
    return uint16_t(got);
  }

 private:
  // One lwIP instance of the stage and what it sends on: the only one, or
  // (per_worker) worker w's. Members are destroyed bottom up: the
  // interface before the rows and rings it uses.
  struct RingFree {
    void operator()(rte_ring* r) const {
      void* m;
      while (rte_ring_dequeue(r, &m) == 0) rte_pktmbuf_free(static_cast<rte_mbuf*>(m));
      rte_ring_free(r);
    }
  };
  using RingPtr = std::unique_ptr<rte_ring, RingFree>;
  struct Lane {
    RingPtr tx;       // frames the instance sends, drained by its worker
    RingPtr inbound;  // per_worker: frames other workers steered to it
    // per_worker: the lwIP half's counters, added to the worker's own row
    // by poll() (another instance's timer thread writes another row);
    // otherwise the lwIP half writes the control row.
    std::vector<uint64_t> counters;
    std::vector<uint64_t> published;  // what poll() already added
    uint64_t last_publish = 0;
    std::unique_ptr<Interface> iface;
  };
  static constexpr unsigned kSteerRingSize = 8192;

  static RingPtr make_ring(const std::string& name, unsigned size, unsigned flags) {
    rte_ring* r = rte_ring_create(name.c_str(), size, SOCKET_ID_ANY, flags);
    if (!r) throw Error("cannot create ring " + name + ": " + rte_strerror(rte_errno));
    return RingPtr(r);
  }

  // The CPU of worker w: workers take the EAL's worker lcores in order.
  static int worker_cpu(unsigned w) {
    unsigned lcore = -1;
    for (unsigned i = 0; i <= w; i++) lcore = rte_get_next_lcore(lcore, 1, 0);
    return lcore < RTE_MAX_LCORE ? int(rte_lcore_to_cpu_id(int(lcore))) : -1;
  }

  // Instance w's part of the load generator: its share of the connections
  // and of the requests in flight (at least one while it has connections).
  static LoadConfig share_of(const LoadConfig& all, unsigned w, unsigned owners) {
    LoadConfig part = all;
    part.connections = all.connections / owners + (w < all.connections % owners ? 1 : 0);
    if (all.in_flight) {
      part.in_flight = all.in_flight / owners + (w < all.in_flight % owners ? 1 : 0);
      if (part.connections && !part.in_flight) part.in_flight = 1;
    }
    return part;
  }

  // per_worker: whether a validated frame is for this worker's instance;
  // otherwise it goes to its owner's steering ring (counted), and ARP
  // replies and neighbour advertisements are copied to every other
  // instance as well. The checksum verdict rides in the mbuf's flags.
  bool keep_here(oryx_burst& b, rte_mbuf* m, FrameVerdict v) {
    int owner = steer_frame(m, unsigned(lanes_.size()));
    if (owner == kSteerHere || owner == int(b.worker)) return true;
    m->ol_flags &= ~RTE_MBUF_F_RX_L4_CKSUM_MASK;
    m->ol_flags |= v == FrameVerdict::kVerified ? RTE_MBUF_F_RX_L4_CKSUM_GOOD : RTE_MBUF_F_RX_L4_CKSUM_UNKNOWN;
    if (owner != kSteerEveryone) {
      steer_to(b, lanes_[unsigned(owner)], m);
      return false;
    }
    rte_mempool* pool = host_.mbuf_pool(SOCKET_ID_ANY);
    for (size_t w = 0; w < lanes_.size(); w++) {
      if (w == b.worker) continue;
      rte_mbuf* copy = rte_pktmbuf_copy(m, pool, 0, UINT32_MAX);
      if (!copy) {
        b.counters[kDropSteerNoMbuf]++;
        continue;
      }
      copy->ol_flags = m->ol_flags;
      steer_to(b, lanes_[w], copy);
    }
    return true;
  }

  void steer_to(oryx_burst& b, Lane& owner, rte_mbuf* m) {
    if (rte_ring_mp_enqueue(owner.inbound.get(), m) != 0) {
      b.counters[kDropSteerRingFull]++;
      rte_pktmbuf_free(m);
      return;
    }
    b.counters[kFramesSteeredOut]++;
  }

  // Appends a packet's segments to `frames` (n of them used), handing
  // the batch to lwIP first when it has no room left (only with many
  // huge datagrams in one burst).
  static void add_frame(Interface& iface, std::array<Interface::Frame, 512>& frames, size_t& n,
                        rte_mbuf* m, bool checksum_verified) {
    if (n + m->nb_segs > frames.size()) {
      iface.input(frames.data(), uint16_t(n));
      n = 0;
    }
    uint16_t added = frames_of(m, &frames[n]);
    frames[n].checksum_verified = checksum_verified;
    n += added;
  }

  // per_worker: what other workers steered to this worker's instance.
  void take_steered(oryx_burst& b, Lane& lane) {
    std::array<rte_mbuf*, 64> got;
    std::array<Interface::Frame, 512> frames;
    unsigned count = rte_ring_sc_dequeue_burst(lane.inbound.get(),
                                               reinterpret_cast<void**>(got.data()), got.size(),
                                               nullptr);
    if (count == 0) return;
    size_t n = 0;
    for (unsigned i = 0; i < count; i++)
      add_frame(*lane.iface, frames, n, got[i],
                (got[i]->ol_flags & RTE_MBUF_F_RX_L4_CKSUM_MASK) == RTE_MBUF_F_RX_L4_CKSUM_GOOD);
    lane.iface->input(frames.data(), uint16_t(n));
    b.counters[kFramesSteeredIn] += count;
  }

  // per_worker: the lwIP half's counters of this worker's instance, added
  // to the worker's row once a millisecond (its timer thread writes them
  // too, so they are read with atomic loads).
  void publish_lane_counters(oryx_burst& b, Lane& lane, uint64_t now) {
    if (now - lane.last_publish < rte_get_tsc_hz() / 1000) return;
    lane.last_publish = now;
    for (size_t k = 0; k < kCounterCount; k++) {
      uint64_t v = __atomic_load_n(&lane.counters[k], __ATOMIC_RELAXED);
      b.counters[k] += v - lane.published[k];
      lane.published[k] = v;
    }
  }

  // Ages this worker's incomplete datagrams, every 10 ms at most.
  void expire_reassembly(oryx_burst& b, uint64_t now) {
    if (now - last_expiry_[b.worker] < rte_get_tsc_hz() / 100) return;
    reassembly_[b.worker]->expire(now);
    last_expiry_[b.worker] = now;
    publish_reassembly(b);
  }

  // The worker's reassembly statistics, as absolute values in its own row.
  void publish_reassembly(oryx_burst& b) {
    const auto& r = *reassembly_[b.worker];
    b.counters[kReassembled] = r.stats().reassembled;
    b.counters[kDropReassOverlap] = r.stats().overlap;
    b.counters[kDropReassTimeout] = r.stats().timeout;
    b.counters[kDropReassTooBig] = r.stats().too_big;
    b.counters[kDropReassTableFull] = r.stats().table_full;
    b.counters[kReassemblyMbufs] = r.mbufs_held();
  }

  static void connections(void*, const oryx_http_request* req, oryx_http_response* resp) {
    nlohmann::ordered_json body;
    if (std::strcmp(req->method, "GET") != 0 && std::strcmp(req->method, "HEAD") != 0) {
      resp->status = 405;
      body = {{"error", std::string("method ") + req->method + " not allowed: the table is read-only"}};
    } else if (*req->subpath) {
      resp->status = 404;
      body = {{"error", std::string("no such resource: /api/v1/connections") + req->subpath}};
    } else {
      try {
        body = select_connections(Interface::all_connections(), parse_connection_query(req->query));
        resp->status = 200;
      } catch (const std::invalid_argument& e) {
        resp->status = 400;
        body = {{"error", e.what()}};
      }
    }
    resp->body = oryx::sdk::json_strdup(body);
  }

  std::string name_;
  oryx::sdk::Host host_;
  oryx::sdk::Logger log_;
  uint64_t* control_;
  std::string port_name_;
  InterfaceConfig iface_{};
  Services services_;
  std::string mac_text_;
  rte_ether_addr mac_{};
  uint16_t mtu_ = 0;
  static constexpr unsigned kCommandRingSize = 4096;
  rte_ring* commands_ = nullptr;  // socket calls handed to this stage's worker 0
  bool sockets_attached_ = false;  // this stage serves the process's sockets
  std::vector<std::unique_ptr<Ipv4Reassembly>> reassembly_;  // one per worker
  std::vector<uint64_t> last_expiry_;
  std::vector<Lane> lanes_;
};

constexpr oryx_stage_desc kStackStage = oryx::sdk::make_stage<StackStage>(
    {"stack", "TCP/UDP/IPv4/IPv6 on lwIP, attached to a port, with built-in services.", kParams,
     kCounters.data(), uint32_t(kCounters.size()),
     // process() consumes every frame; what the stack sends leaves from
     // poll(), so "port -> vlan -> stack -> vlan" is no cycle.
     ORYX_STAGE_SINK | ORYX_STAGE_NEXT_INTERFACES});
constexpr const oryx_stage_desc* kStages[] = {&kStackStage, nullptr};
constexpr oryx_plugin_desc kPlugin = oryx::sdk::make_plugin(
    {"stack", "0.1.0", "User-space TCP/IP stack (lwIP) with echo, discard and HTTP services",
     nullptr, kStages});

}  // namespace

ORYX_PLUGIN_EXPORT(kPlugin)
