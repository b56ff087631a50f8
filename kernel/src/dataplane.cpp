// SPDX-License-Identifier: Apache-2.0
// dataplane.cpp - rte_graph nodes wrapping plugin stages, and workers.
//
// Each configured stage becomes one or two rte_graph nodes whose process
// function is a kernel trampoline: it hands the burst to the plugin, counts,
// then enqueues every packet on the edge the plugin chose. DPDK's graph
// library does the scheduling, stream management and per-node statistics.
#include "dataplane.hpp"

#include "logging.hpp"

#include <rte_cycles.h>
#include <rte_errno.h>
#include <rte_graph.h>
#include <rte_graph_worker.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>

#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <thread>

namespace oryx::kernel {

// Pointed to from rte_node::ctx; set by Dataplane::build() right after
// rte_graph_create, before any walk.
struct Dataplane::NodeWorkerCtx {
  StageRuntime* stage;
  Worker* worker;
  uint64_t* row;
  uint16_t burst;
  uint16_t edge_count;  // of this node, drop edge included
  NodeTaps* taps;
};
static_assert(sizeof(Dataplane::NodeWorkerCtx*) <= RTE_NODE_CTX_SZ);

namespace {

using NodeWorkerCtx = Dataplane::NodeWorkerCtx;

constexpr const char* kDropNode = "oryx-drop";
constexpr uint16_t kChunk = 256;

NodeWorkerCtx* ctx_of(rte_node* node) {
  NodeWorkerCtx* c;
  std::memcpy(&c, node->ctx, sizeof(c));
  return c;
}

// True when every packet of the burst has the same edge.
bool all_same(const uint16_t* next, uint16_t n) {
  for (uint16_t i = 1; i < n; i++)
    if (next[i] != next[0]) return false;
  return true;
}

// True when every packet goes to the same real forward edge (not drop, not
// consumed, within range).
// Runs the tap in `slot`, if any (see abi.h oryx_capture_fn).
inline void run_tap(const std::atomic<const CaptureTap*>& slot, uint32_t worker, rte_mbuf** pkts,
                    const uint16_t* next, uint16_t n) {
  if (const CaptureTap* t = slot.load(std::memory_order_acquire)) [[unlikely]]
    t->fn(t->ctx, worker, pkts, next, n);
}

bool uniform_to_edge(const NodeWorkerCtx* c, const uint16_t* next, uint16_t n) {
  return next[0] != ORYX_EDGE_DROP && next[0] < c->edge_count && all_same(next, n);
}

// Enqueues packets on their chosen edges; counts drops and bad edges.
void dispatch(rte_graph* graph, rte_node* node, NodeWorkerCtx* c, rte_mbuf** pkts,
              uint16_t* next, uint16_t n) {
  uint16_t edges = c->edge_count;
  uint16_t first = next[0];
  if (first != ORYX_EDGE_CONSUMED && first < edges && all_same(next, n)) {
    if (first == ORYX_EDGE_DROP) c->row[CounterBlock::kDrops] += n;
    rte_node_enqueue(graph, node, first, reinterpret_cast<void**>(pkts), n);
    return;
  }
  for (uint16_t i = 0; i < n; i++) {
    uint16_t e = next[i];
    if (e == ORYX_EDGE_CONSUMED) continue;
    if (e >= edges) e = ORYX_EDGE_DROP;  // a plugin bug must not corrupt the graph
    if (e == ORYX_EDGE_DROP) c->row[CounterBlock::kDrops]++;
    rte_node_enqueue_x1(graph, node, e, pkts[i]);
  }
}

uint16_t source_trampoline(rte_graph* graph, rte_node* node, void**, uint16_t) {
  NodeWorkerCtx* c = ctx_of(node);
  uint16_t next[kChunk];
  // Poll straight into the stream of edge 1, the usual destination, so the
  // common case (every packet to one edge) copies no pointers at all.
  const bool direct = c->edge_count > 1;
  rte_mbuf** pkts = direct ? reinterpret_cast<rte_mbuf**>(
                                 rte_node_next_stream_get(graph, node, 1, c->burst))
                           : nullptr;
  rte_mbuf* local[kChunk];
  if (!direct) pkts = local;
  oryx_burst b{sizeof(oryx_burst), c->worker->index, pkts, next,
               CounterBlock::plugin_part(c->row), 0, c->burst, 0};
  uint16_t got = c->stage->desc->poll(c->stage->instance, &b);
  if (got == 0) return 0;
  if (got > c->burst) got = c->burst;  // never trust a count beyond capacity
  c->row[CounterBlock::kPackets] += got;
  c->worker->polled += got;
  run_tap(c->taps->after, c->worker->index, pkts, nullptr, got);
  if (direct) {
    uint16_t i = 0;
    while (i < got && next[i] == 1) i++;
    if (i == got) {
      rte_node_next_stream_put(graph, node, 1, got);
      return got;
    }
    // Mixed edges: the packets sit in unclaimed stream slots; move them out
    // before dispatching, since dispatch may write to that same stream.
    std::memcpy(local, pkts, got * sizeof(*pkts));
    pkts = local;
  }
  dispatch(graph, node, c, pkts, next, got);
  return got;
}

uint16_t input_trampoline(rte_graph* graph, rte_node* node, void** objs, uint16_t n) {
  NodeWorkerCtx* c = ctx_of(node);
  uint16_t next[kChunk];
  for (uint16_t done = 0; done < n;) {
    uint16_t count = std::min<uint16_t>(kChunk, n - done);
    rte_mbuf** pkts = reinterpret_cast<rte_mbuf**>(objs + done);
    oryx_burst b{sizeof(oryx_burst), c->worker->index, pkts, next,
                 CounterBlock::plugin_part(c->row), count, count, 0};
    run_tap(c->taps->before, c->worker->index, pkts, nullptr, count);
    c->stage->desc->process(c->stage->instance, &b);
    c->row[CounterBlock::kPackets] += count;
    run_tap(c->taps->after, c->worker->index, pkts, next, count);
    if (count == n && uniform_to_edge(c, next, count)) {
      // Every packet to one forward edge: hand the whole stream over.
      rte_node_next_stream_move(graph, node, next[0]);
      return n;
    }
    dispatch(graph, node, c, pkts, next, count);
    done += count;
  }
  return n;
}

uint16_t drop_process(rte_graph*, rte_node*, void** objs, uint16_t n) {
  rte_pktmbuf_free_bulk(reinterpret_cast<rte_mbuf**>(objs), n);
  return n;
}

rte_node_t register_node(const std::string& name, bool source, rte_node_process_t process,
                         const std::vector<std::string>& edges) {
  size_t size = sizeof(rte_node_register) + edges.size() * sizeof(const char*);
  auto* reg = static_cast<rte_node_register*>(std::calloc(1, size));
  std::snprintf(reg->name, sizeof(reg->name), "%s", name.c_str());
  reg->flags = source ? RTE_NODE_SOURCE_F : 0;
  reg->process = process;
  reg->nb_edges = rte_edge_t(edges.size());
  for (size_t i = 0; i < edges.size(); i++) reg->next_nodes[i] = strdup(edges[i].c_str());
  // The registration is copied by DPDK; node names live for the process.
  rte_node_t id = __rte_node_register(reg);
  for (size_t i = 0; i < edges.size(); i++) std::free(const_cast<char*>(reg->next_nodes[i]));
  std::free(reg);
  return id;
}

}  // namespace

Dataplane::Dataplane(const GraphPlan& plan, std::vector<StageRuntime>& stages,
                     DataplaneOptions options)
    : plan_(plan), stages_(stages), options_(std::move(options)) {
  size_t count = options_.hosted ? 1 : options_.lcores.size();
  for (size_t i = 0; i < count; i++) {
    auto* w = new Worker();
    w->index = uint32_t(i);
    w->lcore = options_.hosted ? UINT32_MAX : options_.lcores[i];
    workers_.push_back(w);
  }
}

Dataplane::~Dataplane() {
  stop();
  // Application threads of an `oryx run` process may still hold the hosted
  // worker while the kernel stops at exit; it is retired, and kept.
  (void)hosted_.release();
  for (auto* w : workers_) {
    if (w->graph) rte_graph_destroy(w->graph_id);
    delete w;
  }
  for (auto& t : taps_) {  // taps a plugin never detached; no worker runs now
    delete t->before.exchange(nullptr);
    delete t->after.exchange(nullptr);
  }
}

void Dataplane::build() {
  auto log = logging::get("oryx");
  if (rte_node_from_name(kDropNode) == RTE_NODE_ID_INVALID &&
      register_node(kDropNode, false, drop_process, {}) == RTE_NODE_ID_INVALID)
    throw std::runtime_error("cannot register the drop node");

  std::vector<const char*> patterns;
  for (const auto& n : plan_.nodes) {
    StageRuntime* st = &stages_[n.stage];
    taps_.push_back(std::make_unique<NodeTaps>());
    node_runtimes_.push_back({st, n.source, uint16_t(n.edges.size() + 1), taps_.back().get()});
    graph_node_names_.push_back(n.name);
    if (!n.reachable) {
      log->info("node {} is fed by no stage; left out of the graph", n.name);
      continue;
    }
    std::vector<std::string> edges = {kDropNode};
    for (size_t e : n.edges) edges.push_back(plan_.nodes[e].name);
    if (register_node(n.name, n.source, n.source ? source_trampoline : input_trampoline, edges) ==
        RTE_NODE_ID_INVALID)
      throw std::runtime_error("cannot register graph node " + n.name);
  }

  std::vector<std::string> pattern_store;
  for (const auto& n : plan_.nodes)
    if (n.reachable) pattern_store.push_back(n.name);
  bool has_source = false;
  for (const auto& n : plan_.nodes) has_source |= n.source;
  if (!has_source) {
    if (plan_.nodes.empty())
      log->info("no packet stages (services only); workers will sleep");
    else
      log->warn("no stage produces packets; workers will sleep");
    return;
  }
  pattern_store.push_back(kDropNode);
  for (const auto& p : pattern_store) patterns.push_back(p.c_str());

  for (auto* w : workers_) {
    std::string gname = "worker-" + std::to_string(w->index);
    rte_graph_param prm{};
    prm.socket_id = options_.hosted ? int(rte_socket_id()) : int(rte_lcore_to_socket_id(w->lcore));
    prm.nb_node_patterns = uint16_t(patterns.size());
    prm.node_patterns = patterns.data();
    rte_graph_t id = rte_graph_create(gname.c_str(), &prm);
    if (id == RTE_GRAPH_ID_INVALID)
      throw std::runtime_error("rte_graph_create failed for " + gname + ": " +
                               rte_strerror(rte_errno));
    w->graph_id = id;
    // Each node's context for this worker, before the graph is walked.
    for (size_t i = 0; i < plan_.nodes.size(); i++) {
      if (!plan_.nodes[i].reachable) continue;
      rte_node* node = rte_graph_node_get_by_name(gname.c_str(), graph_node_names_[i].c_str());
      if (!node) throw std::runtime_error("graph " + gname + " lacks node " + graph_node_names_[i]);
      const NodeRuntime& rt = node_runtimes_[i];
      contexts_.push_back(std::make_unique<NodeWorkerCtx>(NodeWorkerCtx{
          rt.stage, w, rt.stage->counters->row(w->index), options_.burst, rt.edge_count, rt.taps}));
      NodeWorkerCtx* c = contexts_.back().get();
      std::memcpy(node->ctx, &c, sizeof(c));
    }
    w->graph = rte_graph_lookup(gname.c_str());
  }
  log->info("graph built: {} nodes on {} worker(s)", pattern_store.size(), workers_.size());
}

namespace {

// One walk of a worker's graph with its bookkeeping; returns the packets
// its sources received.
uint64_t walk_once(Worker* w, uint64_t& last) {
  w->polled = 0;
  if (w->graph) rte_graph_walk(w->graph);
  __atomic_store_n(&w->walks, w->walks + 1, __ATOMIC_RELEASE);
  uint64_t now = rte_rdtsc();
  if (w->polled) {
    w->busy_walks++;
    w->busy_cycles += now - last;
  } else {
    w->idle_cycles += now - last;
  }
  last = now;
  return w->polled;
}

struct LaunchArgs {
  Worker* worker;
  std::vector<StageRuntime>* stages;
  bool busy_poll;
  uint32_t sleep_max_us;
  const std::atomic<bool>* stop;
};

int run_worker(void* arg) {
  auto* a = static_cast<LaunchArgs*>(arg);
  Worker* w = a->worker;
  auto log = logging::get("oryx");
  for (auto& s : *a->stages)
    if (s.desc->worker_init && s.desc->worker_init(s.instance, w->index) != ORYX_OK)
      log->error("stage {}: worker_init failed on worker {}", s.name, w->index);
  w->running.store(true);
  // Services only: nothing to poll, so the worker only waits for the stop
  // (spinning or backing off would cost the services' own traffic CPU).
  while (!w->graph && !a->stop->load(std::memory_order_relaxed))
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  uint32_t idle_walks = 0;
  uint32_t sleep_us = 1;
  uint64_t last = rte_rdtsc();
  while (!a->stop->load(std::memory_order_relaxed)) {
    if (walk_once(w, last)) {
      idle_walks = 0;
      sleep_us = 1;
      continue;
    }
    if (!a->busy_poll && ++idle_walks > 256) {
      // Adaptive back-off: sleep longer the longer the worker stays idle,
      // so the other programs on a small machine get the CPU.
      std::this_thread::sleep_for(std::chrono::microseconds(sleep_us));
      w->sleeps++;
      sleep_us = std::min(sleep_us * 2, a->sleep_max_us);
      uint64_t now = rte_rdtsc();
      w->idle_cycles += now - last;
      last = now;
    }
  }
  for (auto& s : *a->stages)
    if (s.desc->worker_fini) s.desc->worker_fini(s.instance, w->index);
  w->running.store(false);
  delete a;
  return 0;
}

}  // namespace

void Dataplane::launch() {
  if (options_.hosted) return launch_hosted();
  stop_requested_.store(false);
  for (auto* w : workers_) {
    auto* a = new LaunchArgs{w, &stages_, options_.busy_poll, options_.idle_sleep_max_us,
                             &stop_requested_};
    int rc = rte_eal_remote_launch(run_worker, a, w->lcore);
    if (rc != 0) {
      delete a;
      stop();
      throw std::runtime_error("cannot launch worker on lcore " + std::to_string(w->lcore) +
                               ": " + strerror(-rc));
    }
  }
  launched_ = true;
  logging::get("oryx")->info("{} worker(s) running ({})", workers_.size(),
                             options_.busy_poll ? "busy-poll" : "adaptive idle back-off");
}

std::vector<int> Dataplane::source_wake_fds(bool& timer_poll) const {
  std::vector<int> fds;
  timer_poll = false;
  for (const auto& n : plan_.nodes) {
    if (!n.source || !n.reachable) continue;
    const StageRuntime& st = stages_[n.stage];
    const oryx_stage_desc* d = st.desc;
    bool has_op = d->struct_size >= offsetof(oryx_stage_desc, wake_fds) + sizeof(d->wake_fds) &&
                  d->wake_fds;
    int got[16];
    int r = has_op ? d->wake_fds(st.instance, 0, got, 16) : -1;
    if (r < 0) {
      timer_poll = true;  // the keeper polls this source on a timer when idle
      logging::get("oryx")->info("stage {} has no wake descriptor: polled on a timer when idle",
                                 st.name);
      continue;
    }
    fds.insert(fds.end(), got, got + std::min(r, 16));
  }
  return fds;
}

void Dataplane::launch_hosted() {
  Worker* w = workers_.at(0);
  auto log = logging::get("oryx");
  for (auto& s : stages_)
    if (s.desc->worker_init && s.desc->worker_init(s.instance, w->index) != ORYX_OK)
      log->error("stage {}: worker_init failed on the hosted worker", s.name);
  w->running.store(true);
  bool timer_poll = false;
  std::vector<int> fds = source_wake_fds(timer_poll);
  auto last = std::make_shared<uint64_t>(rte_rdtsc());
  hosted_ = std::make_unique<HostedWorker>(
      options_.hosted_options, [w, last] { return walk_once(w, *last); }, fds, timer_poll);
  hosted_->start();
  launched_ = true;
  log->info("hosted worker: the application's threads poll (spin {} us, {} wake descriptor(s){})",
            options_.hosted_options.spin_us, fds.size(), timer_poll ? ", timer polling" : "");
}

void Dataplane::stop() {
  if (!launched_) return;
  if (hosted_) {
    // Application threads may still call in: from now on their polls walk
    // nothing, and the object stays (it is never freed, see ~Dataplane).
    hosted_->retire();
    Worker* w = workers_.at(0);
    for (auto& s : stages_)
      if (s.desc->worker_fini) s.desc->worker_fini(s.instance, w->index);
    w->running.store(false);
    launched_ = false;
    return;
  }
  stop_requested_.store(true);
  for (auto* w : workers_) rte_eal_wait_lcore(w->lcore);
  launched_ = false;
}

nlohmann::json Dataplane::workers_json() const {
  nlohmann::json arr = nlohmann::json::array();
  for (const auto* w : workers_) {
    uint64_t busy = __atomic_load_n(&w->busy_cycles, __ATOMIC_RELAXED);
    uint64_t idle = __atomic_load_n(&w->idle_cycles, __ATOMIC_RELAXED);
    arr.push_back({{"index", w->index},
                   {"lcore", hosted_ ? nlohmann::json() : nlohmann::json(w->lcore)},
                   {"hosted", hosted_ != nullptr},
                   {"running", w->running.load()},
                   {"walks", __atomic_load_n(&w->walks, __ATOMIC_RELAXED)},
                   {"busy_walks", __atomic_load_n(&w->busy_walks, __ATOMIC_RELAXED)},
                   {"busy_cycles", busy},
                   {"idle_cycles", idle},
                   {"sleeps", __atomic_load_n(&w->sleeps, __ATOMIC_RELAXED)},
                   {"tsc_hz", rte_get_tsc_hz()}});
  }
  return arr;
}

nlohmann::json Dataplane::node_stats_json() const {
  nlohmann::json out = nlohmann::json::object();
  for (const auto& n : plan_.nodes) {
    if (!n.reachable) continue;
    rte_node_t id = rte_node_from_name(n.name.c_str());
    uint64_t calls = 0, objs = 0, cycles = 0;
    for (const auto* w : workers_) {
      if (!w->graph) continue;
      rte_node* node = rte_graph_node_get(w->graph_id, id);
      if (!node) continue;
      calls += __atomic_load_n(&node->total_calls, __ATOMIC_RELAXED);
      objs += __atomic_load_n(&node->total_objs, __ATOMIC_RELAXED);
      cycles += __atomic_load_n(&node->total_cycles, __ATOMIC_RELAXED);
    }
    out[n.name] = {{"calls", calls}, {"objs", objs}, {"cycles", cycles}};
  }
  return out;
}

uint64_t Dataplane::total_drops() const {
  uint64_t drops = 0;
  for (const auto& s : stages_)
    if (s.counters) drops += s.counters->total(CounterBlock::kDrops);
  return drops;
}

std::vector<CapturePoint> Dataplane::capture_point_list() const {
  std::vector<CapturePoint> out;
  for (size_t i = 0; i < plan_.nodes.size() && i < taps_.size(); i++) {
    const auto& n = plan_.nodes[i];
    if (!n.reachable) continue;
    const StageRuntime& st = stages_[n.stage];
    const bool port = (st.desc->flags & ORYX_STAGE_SOURCE) && is_port_ && is_port_(st.name);
    if (n.source) {
      out.push_back({n.name, st.name, port ? "received" : "emitted", port, i, true});
      continue;
    }
    out.push_back({st.name + ".in", st.name, "before", port, i, false});
    if (port) out.push_back({st.name + ".tx", st.name, "before", port, i, false});
    if (!(st.desc->flags & ORYX_STAGE_SINK))
      out.push_back({st.name + ".out", st.name, "after", port, i, true});
  }
  return out;
}

nlohmann::ordered_json Dataplane::capture_points() const {
  nlohmann::ordered_json arr = nlohmann::ordered_json::array();
  for (const auto& p : capture_point_list()) {
    const StageRuntime& st = stages_[plan_.nodes[p.node].stage];
    std::string help = p.where == "received"  ? "packets port " + p.stage + " received"
                       : p.where == "emitted" ? "packets stage " + p.stage + " sends out"
                       : p.where == "after"   ? "packets stage " + p.stage + " passes on"
                       : p.port               ? "packets port " + p.stage + " transmits"
                                              : "packets entering stage " + p.stage;
    // Direction as pcapng records it: a port's receive side is in, what
    // reaches a port goes out; elsewhere in the graph it is unknown.
    std::string direction = !p.port ? "" : p.where == "received" ? "in" : "out";
    arr.push_back({{"point", p.name},
                   {"stage", p.stage},
                   {"type", st.type},
                   {"where", p.where},
                   {"direction", direction},
                   {"help", help}});
  }
  return arr;
}

int Dataplane::capture_attach(const std::string& point, oryx_capture_fn fn, void* ctx) {
  if (!fn) return ORYX_ERR_INVALID;
  std::lock_guard lock(capture_mutex_);
  for (const auto& p : capture_point_list()) {
    if (p.name != point) continue;
    auto& slot = p.after ? taps_[p.node]->after : taps_[p.node]->before;
    if (slot.load()) return ORYX_ERR_UNSUPPORTED;
    slot.store(new CaptureTap{fn, ctx}, std::memory_order_release);
    return ORYX_OK;
  }
  return ORYX_ERR_INVALID;
}

int Dataplane::capture_detach(const std::string& point) {
  std::lock_guard lock(capture_mutex_);
  for (const auto& p : capture_point_list()) {
    if (p.name != point) continue;
    auto& slot = p.after ? taps_[p.node]->after : taps_[p.node]->before;
    const CaptureTap* old = slot.exchange(nullptr);
    if (!old) return ORYX_ERR_INVALID;
    // A walk that started before the exchange may still run the tap; once
    // every running worker has finished a walk, none can. A hosted
    // worker's walks are serialised: one of our own waits for the rest.
    if (hosted_) {
      hosted_->poll();
      delete old;
      return ORYX_OK;
    }
    std::vector<uint64_t> seen;
    for (const auto* w : workers_) seen.push_back(__atomic_load_n(&w->walks, __ATOMIC_ACQUIRE));
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
    for (size_t i = 0; i < workers_.size(); i++)
      while (workers_[i]->running.load() &&
             __atomic_load_n(&workers_[i]->walks, __ATOMIC_ACQUIRE) == seen[i]) {
        if (std::chrono::steady_clock::now() > deadline) {
          logging::get("oryx")->error("capture point {}: worker {} did not finish a walk in 2 s; "
                                      "the tap is leaked rather than freed", point, i);
          return ORYX_OK;
        }
        std::this_thread::sleep_for(std::chrono::microseconds(50));
      }
    delete old;
    return ORYX_OK;
  }
  return ORYX_ERR_INVALID;
}

}  // namespace oryx::kernel
