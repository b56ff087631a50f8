// SPDX-License-Identifier: Apache-2.0
// harness.cpp - plugins loaded, a configuration validated and its
// instances created as oryxd does it, then bursts handed to one stage.
#include "harness_state.hpp"

#include "logging.hpp"
#include "stage_instance.hpp"
#include "stage_validation.hpp"

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <thread>

namespace oryx::testing {

namespace {

using kernel::CounterBlock;

// DPDK's EAL runs once per process: in memory, without hugepages, PCI or
// runtime files, so the kit needs no root. ORYX_TEST_LOG sets the level
// printed (default "warn"; every line is kept for Harness::log()).
void start_eal_once() {
  static std::once_flag once;
  static std::string failure;
  std::call_once(once, [] {
    const char* level = std::getenv("ORYX_TEST_LOG");
    kernel::logging::init(level ? level : "warn", {}, "");
    kernel::logging::capture_dpdk_log();
    std::vector<std::string> args = {"oryx-plugin-test", "--no-huge",     "--no-shconf",
                                     "--no-pci",         "--no-telemetry", "-m",
                                     "256",              "-l",            "0"};
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    if (rte_eal_init(int(argv.size()), argv.data()) < 0)
      failure = std::string("DPDK EAL initialisation failed: ") + rte_strerror(rte_errno);
  });
  if (!failure.empty()) throw SetupError(failure);
}

std::string join_errors(const kernel::ConfigInvalid& e) {
  std::string out;
  for (const auto& err : e.errors()) out += (out.empty() ? "" : "\n") + err.str();
  return out;
}

}  // namespace

Harness::Harness(std::vector<std::string> plugins, std::string_view toml, HarnessOptions options)
    : state_(std::make_unique<State>()) {
  if (g_harness) throw SetupError("one Harness at a time (the host table has no context)");
  start_eal_once();
  State& s = *state_;
  s.options = std::move(options);
  if (const char* extra = std::getenv("ORYX_TEST_PLUGIN_PATH"))
    for (auto& dir : split_path(extra)) s.options.plugin_dirs.push_back(dir);
  if (s.options.plugin_dirs.empty())
    throw SetupError("no plugin directory: set HarnessOptions::plugin_dirs or ORYX_TEST_PLUGIN_PATH");
  g_harness = &s;
  try {
    static unsigned pools = 0;
    std::string pool_name = "oryx_test_" + std::to_string(pools++);
    s.pool = rte_pktmbuf_pool_create(pool_name.c_str(), s.options.mbufs, 0, 0,
                                     RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
    if (!s.pool) throw SetupError("cannot create the mbuf pool: " + std::string(rte_strerror(rte_errno)));

    s.config = kernel::parse_config(std::string(toml), "test.toml");
    s.loader.load(s.options.plugin_dirs, plugins, {});
    // As oryxd's check: schema, each type's check(), the graph; throws.
    kernel::validate_stages(*s.config, s.loader, fake_host());
    for (const auto& p : s.loader.plugins()) logger_for(s, p.name);
    s.loader.init_all(fake_host());
    s.plugins_up = true;

    s.stages.reserve(s.config->stages.size());
    for (size_t i = 0; i < s.config->stages.size(); i++) {
      auto& spec = s.config->stages[i];
      const kernel::LoadedPlugin* owner = nullptr;
      const oryx_stage_desc* d = s.loader.find_stage(spec.type, &owner);
      StageSlot slot;
      slot.name = spec.name;
      slot.type = spec.type;
      slot.desc = d;
      slot.counters = std::make_unique<CounterBlock>(spec.name, spec.type, d->counters,
                                                     d->counter_count, 1);
      slot.edge_names.push_back("drop");
      slot.edge_names.insert(slot.edge_names.end(), spec.next.begin(), spec.next.end());
      try {
        slot.instance = kernel::create_instance(spec, *d, fake_host(),
                                                logger_for(s, owner->name + "." + spec.name),
                                                CounterBlock::plugin_part(slot.counters->control_row()));
      } catch (const std::runtime_error& e) {
        throw SetupError(e.what());
      }
      s.stages.push_back(std::move(slot));
    }
    if (s.options.start) start();
  } catch (const kernel::ConfigInvalid& e) {
    teardown();
    throw SetupError(join_errors(e));
  } catch (const kernel::PluginError& e) {
    teardown();
    throw SetupError(e.what());
  } catch (...) {
    teardown();
    throw;
  }
}

Harness::~Harness() { teardown(); }

void Harness::teardown() {
  if (!state_) return;
  State& s = *state_;
  for (auto it = s.stages.rbegin(); it != s.stages.rend(); ++it) {
    if (it->worker_ready && it->desc->worker_fini) it->desc->worker_fini(it->instance, 0);
    it->worker_ready = false;
  }
  for (auto it = s.stages.rbegin(); it != s.stages.rend(); ++it) {
    if (it->started && it->desc->stop) it->desc->stop(it->instance);
    it->started = false;
  }
  for (auto it = s.stages.rbegin(); it != s.stages.rend(); ++it)
    if (it->instance) it->desc->instance_destroy(it->instance);
  s.stages.clear();
  if (s.plugins_up) s.loader.fini_all();
  // A pool with mbufs still out (a leak the test should have caught) stays.
  if (s.pool && rte_mempool_full(s.pool)) rte_mempool_free(s.pool);
  g_harness = nullptr;
  state_.reset();
}

void Harness::start() {
  for (auto& s : state_->stages) {
    if (s.started) continue;
    char err[512] = "";
    if (s.desc->start && s.desc->start(s.instance, err, sizeof(err)) != ORYX_OK)
      throw SetupError((s.desc->flags & ORYX_STAGE_SERVICE ? "service " : "stage ") + s.name +
                       ": start failed: " + err);
    s.started = true;
  }
  for (auto& s : state_->stages) {
    if (s.worker_ready || (s.desc->flags & ORYX_STAGE_SERVICE)) continue;
    if (s.desc->worker_init && s.desc->worker_init(s.instance, 0) != ORYX_OK)
      throw SetupError("stage " + s.name + ": worker_init failed");
    s.worker_ready = true;
  }
}

Harness::StageSlot& Harness::slot(std::string_view stage) {
  for (auto& s : state_->stages)
    if (s.name == stage) return s;
  throw std::invalid_argument("no stage named \"" + std::string(stage) + "\"");
}
const Harness::StageSlot& Harness::slot(std::string_view stage) const {
  return const_cast<Harness*>(this)->slot(stage);
}

rte_mbuf* Harness::mbuf(const Frame& frame, uint16_t port) {
  auto bytes = frame.bytes();
  rte_mbuf* m = rte_pktmbuf_alloc(state_->pool);
  if (!m) throw std::runtime_error("the kit's mbuf pool is empty");
  char* data = rte_pktmbuf_append(m, uint16_t(bytes.size()));
  if (!data) {
    rte_pktmbuf_free(m);
    throw std::invalid_argument("a frame of " + std::to_string(bytes.size()) +
                                " bytes does not fit one mbuf");
  }
  std::memcpy(data, bytes.data(), bytes.size());
  m->port = port;
  return m;
}

Result Harness::process(std::string_view stage, const std::vector<Frame>& frames,
                        uint16_t received_port) {
  std::vector<rte_mbuf*> pkts;
  for (const auto& f : frames) pkts.push_back(mbuf(f, received_port));
  return process(stage, std::move(pkts));
}

Result Harness::process(std::string_view stage, std::vector<rte_mbuf*> pkts) {
  StageSlot& s = slot(stage);
  if (!s.desc->process) throw std::invalid_argument(s.name + " has no process()");
  if (pkts.size() > UINT16_MAX) throw std::invalid_argument("a burst holds at most 65535 packets");
  std::vector<uint16_t> next(pkts.size(), ORYX_EDGE_DROP);
  uint16_t n = uint16_t(pkts.size());
  uint64_t* row = s.counters->row(0);
  oryx_burst b{sizeof(oryx_burst), 0, pkts.data(), next.data(), CounterBlock::plugin_part(row),
               n, n, 0};
  if (s.before.fn) s.before.fn(s.before.ctx, 0, pkts.data(), nullptr, n);
  s.desc->process(s.instance, &b);
  row[CounterBlock::kPackets] += n;
  if (s.after.fn) s.after.fn(s.after.ctx, 0, pkts.data(), next.data(), n);
  return finish(s, std::move(pkts), std::move(next));
}

Result Harness::poll(std::string_view stage, uint16_t capacity) {
  StageSlot& s = slot(stage);
  if (!s.desc->poll) throw std::invalid_argument(s.name + " has no poll()");
  std::vector<rte_mbuf*> pkts(capacity, nullptr);
  std::vector<uint16_t> next(capacity, ORYX_EDGE_DROP);
  uint64_t* row = s.counters->row(0);
  oryx_burst b{sizeof(oryx_burst), 0, pkts.data(), next.data(), CounterBlock::plugin_part(row),
               0, capacity, 0};
  uint16_t got = s.desc->poll(s.instance, &b);
  if (got > capacity) got = capacity;  // as the kernel: never trust more than capacity
  pkts.resize(got);
  next.resize(got);
  row[CounterBlock::kPackets] += got;
  if (s.after.fn && got) s.after.fn(s.after.ctx, 0, pkts.data(), nullptr, got);
  return finish(s, std::move(pkts), std::move(next));
}

Result Harness::poll_until(std::string_view stage, size_t want, int timeout_ms) {
  Result all;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (all.size() < want && std::chrono::steady_clock::now() < deadline) {
    Result r = poll(stage, uint16_t(std::min<size_t>(want - all.size(), state_->options.burst)));
    if (r.size() == 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    for (size_t i = 0; i < r.size(); i++) {
      all.edges_.push_back(r.edges_[i]);
      all.packets_.push_back(r.packets_[i]);
    }
    r.packets_.clear();  // moved to `all`
  }
  return all;
}

// The kernel's dispatch: drops (and edges the stage does not have) are
// counted and freed, consumed packets are the stage's, the rest are kept.
Result Harness::finish(StageSlot& s, std::vector<rte_mbuf*> pkts, std::vector<uint16_t> next) {
  Result r;
  uint64_t* row = s.counters->row(0);
  for (size_t i = 0; i < pkts.size(); i++) {
    uint16_t e = next[i];
    if (e == ORYX_EDGE_CONSUMED) {
      r.edges_.push_back("consumed");
      r.packets_.push_back(nullptr);
      continue;
    }
    if (e == ORYX_EDGE_DROP || e >= s.edge_names.size()) {
      row[CounterBlock::kDrops]++;
      rte_pktmbuf_free(pkts[i]);
      r.edges_.push_back(e == ORYX_EDGE_DROP ? "drop" : "invalid");
      r.packets_.push_back(nullptr);
      continue;
    }
    r.edges_.push_back(s.edge_names[e]);
    r.packets_.push_back(pkts[i]);
  }
  return r;
}

uint64_t Harness::counter(std::string_view stage, std::string_view name) const {
  const auto& c = *slot(stage).counters;
  for (size_t i = 0; i < c.defs().size(); i++)
    if (c.defs()[i].name == name) return c.total(i);
  throw std::invalid_argument("stage \"" + std::string(stage) + "\" has no counter \"" +
                              std::string(name) + "\"");
}

std::map<std::string, uint64_t> Harness::counters(std::string_view stage) const {
  const auto& c = *slot(stage).counters;
  std::map<std::string, uint64_t> out;
  for (size_t i = 0; i < c.defs().size(); i++) out[c.defs()[i].name] = c.total(i);
  return out;
}

rte_mempool* Harness::pool() const { return state_->pool; }
unsigned Harness::mbufs_in_use() const { return rte_mempool_in_use_count(state_->pool); }

bool Harness::has_port(std::string_view name, uint16_t* port_id) const {
  auto it = state_->ports.find(std::string(name));
  if (it == state_->ports.end()) return false;
  if (port_id) *port_id = it->second;
  return true;
}

const void* Harness::service(std::string_view name, uint32_t version) const {
  auto it = state_->services.find(std::string(name));
  return it != state_->services.end() && it->second.first == version ? it->second.second : nullptr;
}

Reply Harness::request(std::string_view method, std::string_view path, std::string_view body) {
  constexpr std::string_view kPrefix = "/api/v1/";
  if (path.substr(0, kPrefix.size()) != kPrefix)
    throw std::invalid_argument("a plugin route is under /api/v1/");
  std::string_view rest = path.substr(kPrefix.size());
  std::string query;
  if (size_t q = rest.find('?'); q != std::string_view::npos) {
    query = rest.substr(q + 1);
    rest = rest.substr(0, q);
  }
  size_t slash = rest.find('/');
  std::string name(rest.substr(0, slash));
  std::string subpath(slash == std::string_view::npos ? "" : rest.substr(slash));
  auto it = state_->routes.find(name);
  if (it == state_->routes.end()) return {404, "", ""};
  const Route& route = it->second;
  Reply reply{500, "", ""};
  if (route.endpoint) {
    if (method != "GET" || !subpath.empty()) return {405, "", ""};
    char* text = route.endpoint(route.ctx);
    reply = {text ? 200 : 500, text ? text : "", ""};
    std::free(text);
    return reply;
  }
  std::string m(method), b(body);
  oryx_http_request req{sizeof(req), 0, m.c_str(), subpath.c_str(), query.c_str(), b.c_str(),
                        b.size()};
  oryx_http_response resp{sizeof(resp), 0, nullptr, nullptr};
  route.route(route.ctx, &req, &resp);
  reply.status = resp.status ? resp.status : 500;
  if (resp.body) reply.body = resp.body;
  if (resp.file) reply.file = resp.file;
  std::free(resp.body);
  std::free(resp.file);
  return reply;
}

std::vector<LogLine> Harness::log() const {
  std::lock_guard lock(state_->log_mutex);
  return state_->log;
}
uint64_t Harness::kicks() const { return state_->kicks; }

// ---- Result ---------------------------------------------------------------

Result::Result(Result&& o) noexcept : edges_(std::move(o.edges_)), packets_(std::move(o.packets_)) {
  o.packets_.clear();
}
Result& Result::operator=(Result&& o) noexcept {
  if (this != &o) {
    release();
    edges_ = std::move(o.edges_);
    packets_ = std::move(o.packets_);
    o.packets_.clear();
  }
  return *this;
}
Result::~Result() { release(); }

void Result::release() {
  for (rte_mbuf* m : packets_)
    if (m) rte_pktmbuf_free(m);
  packets_.clear();
}

size_t Result::count(std::string_view name) const {
  size_t n = 0;
  for (const auto& e : edges_) n += e == name;
  return n;
}

std::vector<uint8_t> Result::bytes(size_t i) const {
  rte_mbuf* m = packets_.at(i);
  if (!m) throw std::invalid_argument("packet " + std::to_string(i) + " took edge " + edges_[i]);
  std::vector<uint8_t> out(rte_pktmbuf_pkt_len(m));
  const void* p = rte_pktmbuf_read(m, 0, uint32_t(out.size()), out.data());
  if (p != out.data()) std::memcpy(out.data(), p, out.size());
  return out;
}

}  // namespace oryx::testing
