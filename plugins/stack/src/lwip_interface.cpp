// SPDX-License-Identifier: Apache-2.0
// lwip_interface.cpp - the lwIP side of the stack: a netif per interface,
// zero-copy receive through custom pbufs, transmit into the stage's ring,
// per-protocol counters, and the built-in services on lwIP's raw API.
//
// Locking: lwIP runs its timers in its own tcpip thread; every call into
// lwIP from elsewhere (the worker's input, the REST thread's connection
// table) holds the core lock, so the counters below, which are only
// touched from lwIP context, need no atomics.
#include "connection_prefetch.hpp"
#include "instance.hpp"
#include "glue.hpp"
#include "load_generator.hpp"
#include "lwip_statistics.hpp"
#include "services.hpp"
#include "tcp_watch.hpp"

extern "C" {
#include <lwip/etharp.h>
#include <lwip/priv/instance_state.h>
#include <lwip/ethip6.h>
#include <lwip/init.h>
#include <lwip/ip_addr.h>
#include <lwip/memp.h>
#include <lwip/nd6.h>
#include <lwip/netif.h>
#include <lwip/pbuf.h>
#include <lwip/priv/tcp_priv.h>
#include <lwip/stats.h>
#include <lwip/tcp.h>
#include <lwip/tcpip.h>
#include <lwip/udp.h>
#include <netif/ethernet.h>
}

#include <algorithm>
#include <cstring>
#include <memory>
#include <mutex>
#include <new>
#include <optional>
#include <stdexcept>
#include <type_traits>
#include <vector>

namespace oryx::stack {

namespace {

// A received mbuf seen by lwIP as a custom pbuf; lives in the mbuf headroom.
struct RxPbuf {
  pbuf_custom pc;
  void* mbuf;
  void* owner;  // Interface::Impl
};

uint16_t be16(const uint8_t* p) { return uint16_t(p[0] << 8 | p[1]); }

const char* tcp_state_name(tcp_state s) {
  static const char* names[] = {"CLOSED",     "LISTEN",     "SYN_SENT",   "SYN_RCVD",
                                "ESTABLISHED", "FIN_WAIT_1", "FIN_WAIT_2", "CLOSE_WAIT",
                                "CLOSING",    "LAST_ACK",   "TIME_WAIT"};
  return unsigned(s) < sizeof(names) / sizeof(*names) ? names[s] : "UNKNOWN";
}

std::string endpoint(const ip_addr_t* ip, u16_t port) {
  char buf[IPADDR_STRLEN_MAX];
  ipaddr_ntoa_r(ip, buf, sizeof(buf));
  std::string a = buf;
  if (IP_IS_V6(ip)) a = "[" + a + "]";
  return a + ":" + std::to_string(port);
}

}  // namespace

// A server that closes first under load collects a TIME_WAIT connection
// per close for 2*MSL (a minute). As Linux does past tcp_max_tw_buckets,
// a connection that would make more than `max` is closed at once instead:
// lwIP puts the newest first (patch 0004 counts them). Returns how many.
size_t cap_time_wait(size_t max) {
  size_t n = 0;
  for (; LWIP_INST->tcp_tw_count > max && LWIP_INST->tcp_tw_pcbs; n++)
    tcp_abort(LWIP_INST->tcp_tw_pcbs);  // freed, nothing sent
  return n;
}

// The connection gauges: the lengths of the instance's lists (every stack
// stage of an instance shares them).
void refresh_tcp_gauges(uint64_t* c) {
  c[kTcpActive] = LWIP_INST->tcp_active_count;
  c[kTcpTimeWait] = LWIP_INST->tcp_tw_count;
}

// TIME_WAIT ends and timeouts happen in lwIP's timers, with no packet to
// refresh the gauges: refresh them once a second too, and lwIP's own
// statistics with them (tcpip thread, core lock held).
constexpr u32_t kGaugeRefreshMs = 1000;
constexpr u32_t kDelayedAcksPerBurst = 64;  // lwIP patch 0022: what one burst sends at most

struct Interface::Impl {
  Instance* inst = nullptr;
  netif nif{};
  MbufOps ops;
  void* pool;
  void* ring;
  uint64_t* c;
  TxBacklog backlog;
  size_t time_wait_max = 131072;
  bool tx_checksum_offload = false;
  std::optional<LwipStatistics> stats;  // from netif_add on, under the core lock
  Services services;
  std::unique_ptr<ServiceSet> listeners;
  std::unique_ptr<LoadGenerator> load;
  bool added = false;
  // Set by down(): nothing is sent any more (lwIP's timers and the aborts
  // of a shutdown still try, while the port is stopping).
  bool stopped = false;

  // Counts a frame of `len` bytes by protocol from its first `head` bytes
  // (a chained frame's first segment); `rx` selects the direction.
  void classify(const uint8_t* f, uint32_t head, uint32_t len, bool rx) {
    c[rx ? kRxFrames : kTxFrames]++;
    c[rx ? kRxBytes : kTxBytes] += len;
    len = head;  // the headers read below are in the first segment
    if (len < 14) return;
    uint16_t type = be16(f + 12);
    const uint8_t* l3 = f + 14;
    uint32_t l3len = len - 14;
    if (type == 0x0806) {
      c[rx ? kRxArp : kTxArp]++;
      if (l3len >= 8) {
        uint16_t op = be16(l3 + 6);
        if (op == 1) c[rx ? kArpRequestsIn : kArpRequestsOut]++;
        if (op == 2) c[rx ? kArpRepliesIn : kArpRepliesOut]++;
      }
      return;
    }
    uint8_t proto = 0;
    uint16_t l4len = 0;
    uint32_t l4avail = 0;  // transport bytes in this frame
    if (type == 0x0800 && l3len >= 20) {
      c[rx ? kRxIpv4 : kTxIpv4]++;
      unsigned ihl = (l3[0] & 0x0f) * 4u;
      uint16_t frag = be16(l3 + 6) & 0x1fff;
      if (frag != 0) return;  // later fragments carry no transport header
      proto = l3[9];
      uint16_t total = be16(l3 + 2);
      l4len = total > ihl ? uint16_t(total - ihl) : 0;
      l4avail = l3len > ihl ? l3len - ihl : 0;
      l3 += ihl;
    } else if (type == 0x86dd && l3len >= 40) {
      c[rx ? kRxIpv6 : kTxIpv6]++;
      proto = l3[6];
      l4len = be16(l3 + 4);
      l4avail = l3len - 40;
      l3 += 40;
    } else {
      return;
    }
    if (proto == 1 || proto == 58) {
      c[rx ? kRxIcmp : kTxIcmp]++;
      uint8_t icmp_type = l3[0];
      if ((proto == 1 && icmp_type == 8) || (proto == 58 && icmp_type == 128))
        c[kIcmpEchoRequests] += rx ? 1 : 0;
      if ((proto == 1 && icmp_type == 0) || (proto == 58 && icmp_type == 129))
        c[kIcmpEchoReplies] += rx ? 0 : 1;
    } else if (proto == 6) {
      c[rx ? kRxTcp : kTxTcp]++;
      c[rx ? kRxTcpBytes : kTxTcpBytes] += l4len;
    } else if (proto == 17) {
      // The UDP length covers the whole datagram, also the part IPv4
      // fragmentation put in later frames.
      if (l4avail >= 8) l4len = be16(l3 + 4);
      c[rx ? kRxUdp : kTxUdp]++;
      c[rx ? kRxUdpBytes : kTxUdpBytes] += l4len;
    }
  }

  static err_t link_output(netif* n, pbuf* p) {
    auto* self = static_cast<Impl*>(n->state);
    if (self->stopped) return ERR_IF;
    if (p->tot_len > n->mtu + 18u) {
      self->c[kDropTooBig]++;
      return ERR_VAL;
    }
    TxSpan spans[kMaxTxSpans];
    unsigned count = 0;
    void* m = self->ops.alloc(self->pool, p->tot_len, spans, &count);
    if (!m) {
      self->c[kDropTxNoMbuf]++;
      return ERR_MEM;
    }
    for (unsigned i = 0, off = 0; i < count; off += spans[i++].len)
      pbuf_copy_partial(p, spans[i].data, spans[i].len, u16_t(off));
    // The headers are in the first segment (an mbuf holds 2 KiB).
    self->classify(spans[0].data, spans[0].len, p->tot_len, false);
    TcpSegment seg;
    if (parse_tcp_segment(spans[0].data, spans[0].len, p->tot_len, &seg)) watch_tx(seg, self->c);
    if (self->tx_checksum_offload && self->ops.offload_checksums(m)) self->c[kTxChecksumOffloaded]++;
    bool queued = self->ops.queue_tx(self->ring, m);
    // Half full: lwIP's timers wait for the worker before they send more.
    if (self->backlog.half_full())
      self->inst->tx_backlog.store(&self->backlog, std::memory_order_relaxed);
    if (!queued) {
      self->ops.free(m);
      self->c[kDropTxRingFull]++;
      return ERR_MEM;
    }
    return ERR_OK;
  }

  static void free_rx(pbuf* p) {
    auto* r = reinterpret_cast<RxPbuf*>(p);
    auto* owner = static_cast<Impl*>(r->owner);
    owner->c[kMbufsHeld]--;
    owner->ops.free_segment(r->mbuf);
  }

  static err_t netif_setup(netif* n) {
    n->name[0] = 'o';
    n->name[1] = 'x';
    n->output = etharp_output;
    n->output_ip6 = ethip6_output;
    n->linkoutput = link_output;
    n->hwaddr_len = ETH_HWADDR_LEN;
    n->flags = NETIF_FLAG_BROADCAST | NETIF_FLAG_ETHARP | NETIF_FLAG_ETHERNET |
               NETIF_FLAG_IGMP | NETIF_FLAG_MLD6;
    return ERR_OK;
  }
};

void Interface::refresh_tick(void* impl) {
  auto* self = static_cast<Interface::Impl*>(impl);
  refresh_tcp_gauges(self->c);
  self->stats->publish(self->c);
  sys_timeout(kGaugeRefreshMs, refresh_tick, impl);
}

size_t Interface::headroom_needed() { return sizeof(RxPbuf); }

Instance& Interface::instance() const { return *impl_->inst; }

Interface::Interface(const InterfaceConfig& cfg, const Services& services, const MbufOps& ops,
                     void* pool, void* tx_ring, uint64_t* counters)
    : impl_(new Impl()) {
  impl_->ops = ops;
  impl_->pool = pool;
  impl_->ring = tx_ring;
  impl_->c = counters;
  impl_->backlog = {tx_ring, ops.tx_fill_percent, &counters[kTcpTimerTxWaits]};
  impl_->time_wait_max = cfg.time_wait_max;
  impl_->tx_checksum_offload = cfg.tx_checksum_offload;
  impl_->services = services;
  try {
    impl_->inst = &instance_named(cfg.instance, cfg.timer_cpu);
  } catch (...) {
    delete impl_;
    throw;
  }

  ip4_addr_t addr{}, mask{}, gw{};
  if (!cfg.ipv4.empty() && !ip4addr_aton(cfg.ipv4.c_str(), &addr))
    throw std::runtime_error("bad IPv4 address " + cfg.ipv4);
  if (!cfg.ipv4_mask.empty() && !ip4addr_aton(cfg.ipv4_mask.c_str(), &mask))
    throw std::runtime_error("bad IPv4 mask " + cfg.ipv4_mask);
  if (!cfg.ipv4_gateway.empty() && !ip4addr_aton(cfg.ipv4_gateway.c_str(), &gw))
    throw std::runtime_error("bad IPv4 gateway " + cfg.ipv4_gateway);
  ip6_addr_t addr6{};
  if (!cfg.ipv6.empty() && !ip6addr_aton(cfg.ipv6.c_str(), &addr6))
    throw std::runtime_error("bad IPv6 address " + cfg.ipv6);

  CoreLock lock(*impl_->inst);
  // An instance's receive window (lwip patch 0001) is every stage's of
  // that instance, and the pools' ceilings (0013) every instance's of the
  // process: a later stack must ask for what the first one set.
  auto agree = [&](const char* key, size_t wanted, auto& current, bool fixed, const char* whose) {
    if (wanted == current) return;
    if (fixed) {
      delete impl_;
      throw std::runtime_error(std::string(key) + " " + std::to_string(wanted) +
                               " differs from the " + std::to_string(current) +
                               " of the stack already running in this " + whose);
    }
    current = std::remove_reference_t<decltype(current)>(wanted);
  };
  bool instance_used = LWIP_INST->netif_list != nullptr, process_used = any_interface();
  if (cfg.receive_window)  // 0 keeps lwIP's ceiling (TCP_WND)
    agree("receive_window", cfg.receive_window, LWIP_INST->tcp_rcv_wnd_max, instance_used,
          "lwIP instance");
  if (cfg.delayed_ack_ms)  // 0 keeps lwIP's (TCP_DELACK_DELAY)
    agree("delayed_ack_ms", cfg.delayed_ack_ms, LWIP_INST->tcp_delack_delay, instance_used,
          "lwIP instance");
  agree("max_connections", cfg.max_connections, LWIP_INST->lwip_stats.memp[MEMP_TCP_PCB]->avail,
        process_used, "process");
  agree("max_udp_sockets", cfg.max_udp_sockets, LWIP_INST->lwip_stats.memp[MEMP_UDP_PCB]->avail,
        process_used, "process");
  // A bucket per connection (lwip patch 0021): lookups walk about one pcb.
  if (cfg.max_connections && tcp_hash_size(u32_t(cfg.max_connections)) != ERR_OK) {
    delete impl_;
    throw std::runtime_error("no memory for a connection table of " +
                             std::to_string(cfg.max_connections) + " connections (max_connections)");
  }
  netif* n = &impl_->nif;
  if (!netif_add(n, &addr, &mask, &gw, impl_, Impl::netif_setup, ethernet_input)) {
    delete impl_;
    throw std::runtime_error("lwIP refused the interface");
  }
  impl_->added = true;
  impl_->inst->interfaces++;
  impl_->stats.emplace();  // this stage counts from now
  std::memcpy(n->hwaddr, cfg.mac, 6);
  n->mtu = cfg.mtu;
  n->mtu6 = cfg.mtu;
  // The port sums what lwIP would: the IPv4 header and TCP (link_output
  // marks each frame); UDP and ICMP stay lwIP's.
  if (cfg.tx_checksum_offload)
    NETIF_SET_CHECKSUM_CTRL(n, NETIF_CHECKSUM_ENABLE_ALL &
                                   ~(NETIF_CHECKSUM_GEN_IP | NETIF_CHECKSUM_GEN_TCP));
  if (!LWIP_INST->netif_default) netif_set_default(n);
  netif_create_ip6_linklocal_address(n, 1);
  if (!cfg.ipv6.empty()) {
    s8_t index = -1;
    netif_add_ip6_address(n, &addr6, &index);
    // Statically configured: usable at once (no duplicate detection wait).
    if (index >= 0) netif_ip6_addr_set_state(n, index, IP6_ADDR_PREFERRED);
  }
  impl_->listeners = std::make_unique<ServiceSet>(services, n, counters);
  if (cfg.load.connections) {
    try {
      impl_->load = std::make_unique<LoadGenerator>(cfg.load, n, counters, &impl_->backlog);
    } catch (...) {
      impl_->listeners.reset();
      netif_remove(n);
      impl_->inst->interfaces--;
      delete impl_;
      throw;
    }
  }
  sys_timeout(kGaugeRefreshMs, refresh_tick, impl_);
}

Interface::~Interface() {
  {
    CoreLock lock(*impl_->inst);
    sys_untimeout(refresh_tick, impl_);
    const TxBacklog* mine = &impl_->backlog;
    impl_->inst->tx_backlog.compare_exchange_strong(mine, nullptr);
    impl_->load.reset();
    impl_->listeners.reset();
    if (impl_->added) {
      netif_set_down(&impl_->nif);
      // The aborts above answer through the interface even when it is
      // already down (a pcb bound to it routes there), which can leave an
      // ARP or neighbour entry naming it; netif_remove only cleans a netif
      // that is up, and the instance's timers would use the entry later.
      etharp_cleanup_netif(&impl_->nif);
      nd6_cleanup_netif(&impl_->nif);
      netif_remove(&impl_->nif);
      impl_->inst->interfaces--;
    }
  }
  delete impl_;
}

void Interface::up() {
  CoreLock lock(*impl_->inst);
  impl_->stopped = false;
  // Both up: lwIP announces the address with a gratuitous ARP and starts
  // IPv6 link-local duplicate detection.
  netif_set_link_up(&impl_->nif);
  netif_set_up(&impl_->nif);
}

void Interface::down() {
  CoreLock lock(*impl_->inst);
  impl_->stopped = true;
  netif_set_link_down(&impl_->nif);
  netif_set_down(&impl_->nif);
}

void Interface::input(const Frame* frames, uint16_t count) {
  CoreLock lock(*impl_->inst);
  Impl* self = impl_;
  auto wrap = [self](const Frame& f) {
    auto* r = new (f.headroom) RxPbuf();
    r->mbuf = f.mbuf;
    r->owner = self;
    r->pc.custom_free_function = Impl::free_rx;
    self->c[kMbufsHeld]++;
    return pbuf_alloced_custom(PBUF_RAW, f.len, PBUF_REF, &r->pc, f.data, f.len);
  };
  // One packet (its frames chained when `segments` > 1); `seg` is its TCP
  // segment as parsed, or null.
  auto feed = [&](const Frame& f, uint16_t segments, const TcpSegment* seg) {
    const uint32_t frame_len = segments > 1 ? f.total_len : f.len;
    self->classify(f.data, f.len, frame_len, true);
    if (f.len < 14) {
      self->c[kDropTruncated]++;
      self->ops.free(f.mbuf);
      return;
    }
    // lwIP trusts the NIC's MAC filter; ports often run promiscuous.
    bool group = f.data[0] & 1;
    if (!group && std::memcmp(f.data, self->nif.hwaddr, 6) != 0) {
      self->c[kDropNotForUs]++;
      self->ops.free(f.mbuf);
      return;
    }
    uint16_t type = be16(f.data + 12);
    if (type != 0x0800 && type != 0x0806 && type != 0x86dd) {
      self->c[kDropUnknownEthertype]++;
      self->ops.free(f.mbuf);
      return;
    }
    RxWatch watch;
    if (seg) watch = watch_rx_before(*seg, self->c);
    pbuf* p = wrap(f);
    if (f.checksum_verified) p->flags |= PBUF_FLAG_CHECKSUM_VERIFIED;  // lwIP patch 0015
    for (uint16_t k = 1; k < segments; k++) pbuf_cat(p, wrap((&f)[k]));
    if (self->nif.input(p, &self->nif) != ERR_OK) pbuf_free(p);
    if (seg) watch_rx_after(*seg, watch, self->c);
  };
  // Packets in groups of up to kPrefetchPackets: each group's TCP segments
  // are parsed once, their connections prefetched together, then fed.
  for (uint16_t i = 0; i < count;) {
    uint16_t first[kPrefetchPackets];
    TcpSegment segs[kPrefetchPackets];
    bool tcp[kPrefetchPackets];
    uint16_t packets = 0;
    for (; i < count && packets < kPrefetchPackets; packets++) {
      const Frame& f = frames[i];
      const uint16_t segments = f.segments ? f.segments : 1;
      first[packets] = i;
      tcp[packets] = parse_tcp_segment(f.data, f.len, segments > 1 ? f.total_len : f.len,
                                       &segs[packets]);
      i = uint16_t(i + segments);
    }
    prefetch_connections(segs, tcp, packets);
    for (uint16_t k = 0; k < packets; k++) {
      const Frame& f = frames[first[k]];
      feed(f, f.segments ? f.segments : 1, tcp[k] ? &segs[k] : nullptr);
    }
  }
  // Delayed ACKs due by now leave with this burst's answers (lwIP patch
  // 0022), a bounded number per burst; lwIP's fast timer sends the rest.
  tcp_delack_send_due(kDelayedAcksPerBurst);
  self->c[kTcpTimeWaitRecycled] += cap_time_wait(self->time_wait_max);
  refresh_tcp_gauges(self->c);
}

namespace {

// A row with its numbers copied under the core lock; the endpoints and the
// state name are formatted after it.
struct UnformattedRow {
  ConnectionRow row;
  ip_addr_t local_ip, remote_ip;
  u16_t local_port = 0, remote_port = 0;
  int state = -1;  // tcp_state; -1 for UDP (no state)
};

}  // namespace

std::vector<ConnectionRow> Interface::all_connections() {
  std::vector<ConnectionRow> rows;
  for (Instance* inst : all_instances()) {
    std::vector<ConnectionRow> more = connections_of(*inst);
    rows.insert(rows.end(), std::make_move_iterator(more.begin()),
                std::make_move_iterator(more.end()));
  }
  return rows;
}

std::vector<ConnectionRow> Interface::connections() const { return connections_of(*impl_->inst); }

std::vector<ConnectionRow> Interface::connections_of(Instance& inst) {
  std::vector<UnformattedRow> raw;
  {
    CoreLock lock(inst);
    for (tcp_pcb_listen* l = LWIP_INST->tcp_listen_pcbs.listen_pcbs; l;
         l = l->next) {
      UnformattedRow& r = raw.emplace_back();
      r.row.proto = "tcp";
      r.local_ip = l->local_ip;
      r.local_port = l->local_port;
      r.state = LISTEN;
    }
    for (tcp_pcb* list : {LWIP_INST->tcp_active_pcbs, LWIP_INST->tcp_tw_pcbs})
      for (tcp_pcb* p = list; p; p = p->next) {
        UnformattedRow& r = raw.emplace_back();
        r.row.proto = "tcp";
        r.local_ip = p->local_ip;
        r.remote_ip = p->remote_ip;
        r.local_port = p->local_port;
        r.remote_port = p->remote_port;
        r.state = p->state;
        ConnectionRow& row = r.row;
        for (tcp_seg* s = p->unsent; s; s = s->next) row.send_queue += s->len;
        for (tcp_seg* s = p->unacked; s; s = s->next) row.send_queue += s->len;
        row.recv_queue = ServiceSet::pending_bytes(p);
        row.tcp = true;
        row.snd_wnd = p->snd_wnd;
        row.rcv_wnd = p->rcv_wnd;
        row.cwnd = p->cwnd;
        row.rto_ms = u32_t(p->rto) * TCP_SLOW_INTERVAL;
        row.rtime = p->rtime;
        row.rto_backoff = p->nrtx;
        row.persist_backoff = p->persist_backoff;
        row.unacked = p->unacked != nullptr;
        row.unsent = p->unsent != nullptr;
      }
    for (udp_pcb* u = LWIP_INST->udp_pcbs; u; u = u->next) {
      UnformattedRow& r = raw.emplace_back();
      r.row.proto = "udp";
      r.local_ip = u->local_ip;
      r.remote_ip = u->remote_ip;
      r.local_port = u->local_port;
      r.remote_port = u->remote_port;
    }
  }
  std::vector<ConnectionRow> rows;
  rows.reserve(raw.size());
  for (UnformattedRow& r : raw) {
    r.row.local = endpoint(&r.local_ip, r.local_port);
    r.row.remote = r.remote_port ? endpoint(&r.remote_ip, r.remote_port) : "*";
    r.row.state = r.state >= 0 ? tcp_state_name(tcp_state(r.state)) : "";
    r.row.instance = inst.name;
    rows.push_back(std::move(r.row));
  }
  return rows;
}

}  // namespace oryx::stack
