// SPDX-License-Identifier: Apache-2.0
// tcp_watch.cpp - segment-level TCP bookkeeping in the glue (see
// tcp_watch.hpp). Connections are found by 4-tuple in lwIP's connection
// hash (lwip patch 0003).
#include "tcp_watch.hpp"

#include "instance.hpp"

#include "glue.hpp"

#include <oryx_clock.h>

extern "C" {
#include <lwip/netif.h>
#include <lwip/priv/instance_state.h>
#include <lwip/priv/tcp_priv.h>
#include <lwip/tcp.h>
#include <lwip/tcpip.h>
#include <lwip/timeouts.h>
}

#include <algorithm>
#include <array>
#include <ctime>
#include <cstring>
#include <unordered_map>
#include <vector>

namespace oryx::stack {

namespace {

uint16_t be16(const uint8_t* p) { return uint16_t(p[0] << 8 | p[1]); }
uint32_t be32(const uint8_t* p) {
  return uint32_t(p[0]) << 24 | uint32_t(p[1]) << 16 | uint32_t(p[2]) << 8 | p[3];
}

ip_addr_t address_of(const uint8_t* raw, bool ipv6) {
  ip_addr_t a{};
  if (ipv6) {
    IP_SET_TYPE_VAL(a, IPADDR_TYPE_V6);
    std::memcpy(ip_2_ip6(&a)->addr, raw, 16);
    // lwIP compares zones too: a link-local address belongs to the interface.
    ip6_addr_assign_zone(ip_2_ip6(&a), IP6_UNICAST, LWIP_INST->netif_default);
  } else {
    IP_SET_TYPE_VAL(a, IPADDR_TYPE_V4);
    std::memcpy(&ip_2_ip4(&a)->addr, raw, 4);
  }
  return a;
}

// The connection a segment belongs to (tcp_lookup, a hash: lwip patch
// 0003), in TIME_WAIT or not as `time_wait` says; `rx` says which end of
// the segment is ours.
tcp_pcb* find_pcb(const TcpSegment& s, bool rx, bool time_wait) {
  ip_addr_t local = address_of(rx ? s.dst : s.src, s.ipv6);
  ip_addr_t remote = address_of(rx ? s.src : s.dst, s.ipv6);
  tcp_pcb* p = tcp_lookup(&local, rx ? s.dport : s.sport, &remote, rx ? s.sport : s.dport);
  return p && (p->state == TIME_WAIT) == time_wait ? p : nullptr;
}

}  // namespace

tcp_pcb** connection_slot(const TcpSegment& s) {
  ip_addr_t local = address_of(s.dst, s.ipv6);
  ip_addr_t remote = address_of(s.src, s.ipv6);
  return tcp_hash_slot(&local, s.dport, &remote, s.sport);
}

namespace {

uint32_t sequence_length(const TcpSegment& s) {
  return s.payload + ((s.flags & TCP_SYN) ? 1 : 0) + ((s.flags & TCP_FIN) ? 1 : 0);
}

bool accepts_data(const tcp_pcb* p) {
  return p->state == ESTABLISHED || p->state == FIN_WAIT_1 || p->state == FIN_WAIT_2;
}

// NewReno (RFC 6582): lwIP 2.1 leaves fast recovery at the first ACK that
// advances, so every further hole lost in the same window waits for a
// retransmission timeout (lwIP's timer ticks, no SACK).
// The glue remembers, per connection in recovery, the highest sequence
// sent when recovery began; an ACK below it retransmits the next hole at
// once. Keyed by pcb; an entry whose pcb is gone is dropped when it is
// next looked at or when the table is swept (WatchState, below).

// Loss probes. A loss that nothing sent after it reveals waits for lwIP's
// retransmission timer (200-300 ms): a tail loss (the last segments of a
// flight, too few behind them for three duplicate ACKs), or a hole whose
// retransmission is lost again while the sender's buffer is full of data
// behind it (an echo's is). Linux's tail-loss probe and RACK cover these
// (RFC 8985). Here a connection that agreed SACK, with two or more
// segments in flight or in SACK recovery, is checked after a probe
// timeout, PTO = 2 x the smoothed round trip (lwip patch 0012), at least
// 10 ms: if its cumulative ACK has not moved, its first unacknowledged
// segment (the first hole, unless an ACK is on its way) is sent again:
// once out of recovery (a tail-loss probe; Linux's sends new data or the
// last segment, whose SACK then starts RACK's recovery, which lwIP does
// not have), and in recovery again after twice as long, up to
// kProbeMaxMs; then the retransmission timer alone goes on. One segment
// alone in flight is the timer's, as Linux waits a round trip plus 200 ms
// for it (the peer may be delaying its ACK).
// The PTO counts from the last ACK that moved the cumulative ACK, so a
// probe leaves before the retransmission timer, which lwIP restarts then.
// The checks sit on a wheel of kProbeTickMs slots served by a timer in
// lwIP's thread, running while anything is on it, so a probe costs a
// connection one slot entry per PTO, whatever the number of connections.
constexpr uint32_t kProbeTickMs = 5, kProbeMinMs = 10, kProbeMaxMs = 320;
constexpr uint32_t kProbeNoSampleMs = 100;  // no round trip measured yet
constexpr uint32_t kWheelSlots = 128;      // 640 ms ahead: twice the longest wait
struct Probe {
  tcp_pcb* pcb;
  uint32_t lastack, wait_ms;
  ip_addr_t local, remote;  // to tell the pcb still exists (by hash)
  uint16_t local_port, remote_port;
};

// What the watch keeps, per lwIP instance (instance.hpp).
struct WatchState {
  std::unordered_map<const tcp_pcb*, uint32_t> recovery_point;  // NewReno, above
  std::array<std::vector<Probe>, kWheelSlots> wheel;
  uint32_t wheel_tick = 0;  // the last tick served (sys_now() / kProbeTickMs)
  size_t wheel_entries = 0;
  bool probe_timer_armed = false;   // a tick is due
  bool probe_timer_posted = false;  // lwIP's thread is asked to arm one
  uint64_t* probe_counters = nullptr;
};

// The current instance's (core lock held, or its timer thread).
WatchState& W() {
  Instance& inst = current_instance();
  if (!inst.watch) inst.watch = std::make_shared<WatchState>();
  return *static_cast<WatchState*>(inst.watch.get());
}

void sweep_recovery_points() {
  WatchState& w = W();
  if (w.recovery_point.size() < 256) return;
  for (auto it = w.recovery_point.begin(); it != w.recovery_point.end();) {
    bool live = false;
    for (tcp_pcb* p = LWIP_INST->tcp_active_pcbs; p && !live; p = p->next) live = p == it->first;
    it = live ? std::next(it) : w.recovery_point.erase(it);
  }
}

bool alive(const Probe& e) {
  return tcp_lookup(&e.local, e.local_port, &e.remote, e.remote_port) == e.pcb;
}

bool sends_data(const tcp_pcb* p) {
  return p->state == ESTABLISHED || p->state == CLOSE_WAIT || p->state == FIN_WAIT_1 ||
         p->state == CLOSING || p->state == LAST_ACK;
}

// SACK agreed (as Linux and RFC 8985 ask: a probe's ACK must tell what
// else arrived), and two or more segments in flight (counting one being
// sent now) or SACK recovery under way.
bool wants_probe(const tcp_pcb* p, bool sending = false) {
  return (p->flags & TF_SACK) && p->unacked && sends_data(p) &&
         (sending || p->unacked->next || (p->flags & TF_INFR));
}

// 2 x the smoothed round trip, at least kProbeMinMs, and short of the
// earliest moment the retransmission timer could fire (it counts whole
// slow-timer ticks from the last ACK), as Linux's is short of its RTO.
uint32_t probe_timeout_ms(const tcp_pcb* p) {
  uint64_t rto_ms = uint64_t(std::max<int>(p->rto, 0)) * TCP_SLOW_INTERVAL;
  uint64_t ceiling = rto_ms > TCP_SLOW_INTERVAL + kProbeMinMs + kProbeTickMs
                         ? rto_ms - TCP_SLOW_INTERVAL - kProbeTickMs
                         : kProbeMinMs;
  uint64_t pto = p->srtt_us ? (2 * uint64_t(p->srtt_us) + 999) / 1000 : kProbeNoSampleMs;
  return uint32_t(std::clamp(pto, uint64_t(kProbeMinMs), std::min<uint64_t>(kProbeMaxMs, ceiling)));
}

void probe_tick(void*);

// Runs in lwIP's thread: a timeout added from another thread would wait
// for that thread's current sleep to end.
void arm_probe_timer(void* = nullptr) {
  WatchState& w = W();
  w.probe_timer_posted = false;
  if (w.probe_timer_armed || w.wheel_entries == 0) return;
  w.probe_timer_armed = true;
  sys_timeout(kProbeTickMs, probe_tick, nullptr);
}

void schedule_probe(tcp_pcb* p, uint32_t lastack, uint32_t wait_ms) {
  WatchState& w = W();
  uint32_t now_tick = sys_now() / kProbeTickMs;
  if (w.wheel_entries == 0) w.wheel_tick = now_tick;  // an empty wheel has nothing overdue
  uint32_t due = now_tick + (wait_ms + kProbeTickMs - 1) / kProbeTickMs;
  w.wheel[due % kWheelSlots].push_back(
      {p, lastack, wait_ms, p->local_ip, p->remote_ip, p->local_port, p->remote_port});
  w.wheel_entries++;
  p->loss_probe_armed = 1;
}

void check_probe(const Probe& e) {
  if (!alive(e)) return;  // gone (its memory may serve another connection now)
  tcp_pcb* p = e.pcb;
  p->loss_probe_armed = 0;
  if (!wants_probe(p)) return;
  uint32_t wait = e.wait_ms;
  if (p->lastack != e.lastack) {  // the flight moved: a PTO from the last ACK that moved it
    uint32_t pto = probe_timeout_ms(p), quiet = sys_now() - p->loss_probe_since_ms;
    if (quiet < pto) {
      schedule_probe(p, p->lastack, pto - quiet);
      return;
    }
    wait = pto;
  }
  bool recovering = p->flags & TF_INFR;
  if (tcp_rexmit(p) == ERR_OK) {
    if (uint64_t* c = W().probe_counters) c[recovering ? kTcpRecoveryProbes : kTcpTailLossProbes]++;
    tcp_output(p);
  }
  // A tail-loss probe is sent once, as Linux's; a hole in recovery is
  // probed again after twice as long, up to kProbeMaxMs. Then only the
  // retransmission timer resends, until an ACK watches the connection again.
  if (recovering && wait * 2 <= kProbeMaxMs) schedule_probe(p, p->lastack, wait * 2);
}

void probe_tick(void*) {
  WatchState& w = W();
  w.probe_timer_armed = false;
  uint32_t now_tick = sys_now() / kProbeTickMs;
  // A late timer serves every slot it missed, each at most once.
  for (uint32_t n = 0; w.wheel_tick != now_tick && n < kWheelSlots; n++) {
    w.wheel_tick++;
    std::vector<Probe> due;
    due.swap(w.wheel[w.wheel_tick % kWheelSlots]);
    w.wheel_entries -= due.size();
    for (const Probe& e : due) check_probe(e);
  }
  w.wheel_tick = now_tick;
  arm_probe_timer();
}

void watch_probe(tcp_pcb* p, uint64_t* c, bool sending = false) {
  if (p->loss_probe_armed || !wants_probe(p, sending)) return;
  WatchState& w = W();
  w.probe_counters = c;
  p->loss_probe_since_ms = sys_now();  // a new flight, or the ACK that just moved it
  schedule_probe(p, p->lastack, probe_timeout_ms(p));
  if (!w.probe_timer_armed && !w.probe_timer_posted)
    w.probe_timer_posted = tcpip_try_callback(arm_probe_timer, nullptr) == ERR_OK;
}

}  // namespace

// lwIP's clock for round-trip times (lwipopts.h, lwip patch 0012): the
// reading of the core lock's hold, if this thread has one (oryx_clock.h).
extern "C" uint32_t oryx_now_us(void) {
  unsigned int frozen;
  if (oryx_clock_frozen_us(&frozen)) return frozen;
  timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return uint32_t(uint64_t(t.tv_sec) * 1000000u + uint64_t(t.tv_nsec) / 1000u);
}

namespace {

// A SYN for a 4-tuple this stack holds in TIME_WAIT is refused by lwIP
// with a RST. Linux (RFC 6191) accepts it when its sequence number is
// beyond the old connection's, so a client reconnecting from the same port
// works; do the same by retiring the TIME_WAIT entry first.
void retire_time_wait_for_syn(const TcpSegment& s) {
  if ((s.flags & (TCP_SYN | TCP_ACK | TCP_RST)) != TCP_SYN) return;
  tcp_pcb* p = find_pcb(s, true, true);
  if (p && TCP_SEQ_GT(s.seq, p->rcv_nxt)) tcp_abort(p);  // frees a TIME_WAIT pcb, sends nothing
}

}  // namespace

bool parse_tcp_segment(const uint8_t* f, uint32_t head, uint32_t len, TcpSegment* s) {
  if (head < 14 || head > len) return false;
  uint16_t type = be16(f + 12);
  const uint8_t* ip = f + 14;
  uint32_t rest = len - 14;
  const uint8_t* tcp;
  uint32_t l4_len;
  if (type == 0x0800) {
    if (rest < 20 || head < 14 + 20) return false;
    uint32_t ihl = (ip[0] & 0x0f) * 4u;
    uint32_t total = be16(ip + 2);
    if (ip[9] != 6 || ihl < 20 || total < ihl || total > rest || (be16(ip + 6) & 0x3fff) ||
        14 + ihl + 20 > head)
      return false;
    s->ipv6 = false;
    std::memcpy(s->src, ip + 12, 4);
    std::memcpy(s->dst, ip + 16, 4);
    tcp = ip + ihl;
    l4_len = total - ihl;
  } else if (type == 0x86dd) {
    if (rest < 40 || head < 14 + 40 + 20 || ip[6] != 6) return false;
    l4_len = be16(ip + 4);
    if (l4_len > rest - 40) return false;
    s->ipv6 = true;
    std::memcpy(s->src, ip + 8, 16);
    std::memcpy(s->dst, ip + 24, 16);
    tcp = ip + 40;
  } else {
    return false;
  }
  if (l4_len < 20) return false;
  uint32_t header = (tcp[12] >> 4) * 4u;
  if (header < 20 || header > l4_len) return false;
  s->sport = be16(tcp);
  s->dport = be16(tcp + 2);
  s->seq = be32(tcp + 4);
  s->ack = be32(tcp + 8);
  s->flags = tcp[13];
  s->payload = l4_len - header;
  return true;
}

RxWatch watch_rx_before(const TcpSegment& s, uint64_t* c) {
  if (LWIP_INST->tcp_tw_pcbs) retire_time_wait_for_syn(s);
  RxWatch w;
  tcp_pcb* p = find_pcb(s, true, false);
  if (!p) return w;
  w.pcb = p;
  w.lastack_before = p->lastack;
  w.in_recovery_before = p->flags & TF_INFR;
  w.snd_nxt_before = p->snd_nxt;
  uint32_t length = sequence_length(s);
  if (length == 0 || (s.flags & (TCP_SYN | TCP_RST)) || !accepts_data(p)) return w;
  if (TCP_SEQ_GEQ(s.seq, p->rcv_nxt + p->rcv_wnd))
    c[kDropTcpOutOfWindow]++;
  else if (TCP_SEQ_LEQ(s.seq + length, p->rcv_nxt))
    c[kTcpDuplicateSegments]++;
  else if (TCP_SEQ_GT(s.seq, p->rcv_nxt))
    c[kTcpOutOfOrder]++;
  return w;
}

void watch_rx_after(const TcpSegment& s, const RxWatch& before, uint64_t* c) {
  if (!before.pcb || !(s.flags & TCP_ACK)) return;
  auto* old = static_cast<const tcp_pcb*>(before.pcb);
  tcp_pcb* p = find_pcb(s, true, false);
  if (p != old) {  // the connection ended while lwIP handled the segment
    W().recovery_point.erase(old);
    return;
  }
  // lwIP's integer smoothing settles the RTT deviation at 3 slow-timer
  // ticks (100 ms each, lwipopts.h), so on a LAN every timeout would wait
  // 200-300 ms after the last ACK. Two ticks (the timer's second tick:
  // 100-200 ms; Linux's minimum is 200 ms, a difference the stack README
  // lists) is the shortest that cannot fire while an ACK is still on its
  // way, given a round trip under one tick (sa is the RTT in ticks, times 8).
  if ((p->sa >> 3) == 0 && p->sv > 2 && p->nrtx == 0) {
    p->sv = 2;
    p->rto = 2;
  }
  // Loss probes need SACK (wants_probe): others skip the clock read.
  if ((p->flags & TF_SACK) && p->lastack != before.lastack_before)
    p->loss_probe_since_ms = sys_now();
  watch_probe(p, c);
  if (p->flags & TF_SACK) return;  // lwIP's SACK-based recovery (lwip patch 0002) repairs holes
  WatchState& w = W();
  if (!before.in_recovery_before && (p->flags & TF_INFR)) {  // lwIP began fast recovery
    sweep_recovery_points();
    w.recovery_point[p] = before.snd_nxt_before;
    return;
  }
  auto it = w.recovery_point.find(p);
  if (it == w.recovery_point.end() || !TCP_SEQ_GT(p->lastack, before.lastack_before)) return;
  uint32_t recover = it->second;
  if ((p->flags & TF_RTO) || !TCP_SEQ_LT(p->lastack, recover) || !p->unacked) {
    w.recovery_point.erase(it);  // the timer took over, or every hole is repaired
    return;
  }
  // A partial ACK: the next hole is lost too. Retransmit it now and stay
  // in recovery (further duplicate ACKs inflate the window, no second
  // halving), as RFC 6582 does.
  if (tcp_rexmit(p) == ERR_OK) {
    tcp_set_flags(p, TF_INFR);
    c[kTcpPartialAckRetransmits]++;
    tcp_output(p);
  }
}

void watch_tx(const TcpSegment& s, uint64_t* c) {
  if (sequence_length(s) == 0) return;
  tcp_pcb* p = find_pcb(s, false, false);
  if (!p) return;
  // lwIP moves snd_nxt only after a segment is out, so a first
  // transmission starts at snd_nxt; except a connect's SYN, which lwIP
  // numbers one below it. A timeout rewinds snd_nxt and sets TF_RTO until
  // rto_end is acknowledged (a SYN's too); a fast retransmission leaves
  // snd_nxt alone.
  bool not_syn = !(s.flags & TCP_SYN);
  if ((not_syn && TCP_SEQ_LT(s.seq, p->snd_nxt)) ||
      ((p->flags & TF_RTO) && TCP_SEQ_LT(s.seq, p->rto_end)))
    c[kTcpRetransmits]++;
  else
    watch_probe(p, c, true);
}

}  // namespace oryx::stack
