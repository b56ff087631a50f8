// SPDX-License-Identifier: Apache-2.0
#include "connection_table.hpp"

#include <oryx/query.hpp>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <map>
#include <stdexcept>

namespace oryx::stack {

namespace {

const char* const kColumns[] = {"proto", "local", "remote", "state", "send_queue", "recv_queue"};

// The URL-decoded value of `name`, or `fallback` when absent.
std::string query_var(const std::string& query, const char* name, const std::string& fallback = "") {
  auto value = oryx::sdk::query_param(query, name);
  if (value && value->size() > 255)
    throw std::invalid_argument(std::string(name) + ": longer than 255 characters");
  return value ? *value : fallback;
}

size_t number_var(const std::string& query, const char* name, size_t max) {
  std::string text = query_var(query, name, "0");
  size_t v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size() || v > max)
    throw std::invalid_argument(std::string(name) + ": expected a number from 0 to " +
                                std::to_string(max) + ", got \"" + text + "\"");
  return v;
}

// Endpoints sort by address bytes, not text ("10.0.0.9" before "10.0.0.10").
std::string sort_key(const std::string& endpoint) {
  std::string key;
  size_t start = 0;
  for (size_t i = 0; i <= endpoint.size(); i++) {
    if (i == endpoint.size() || !std::isdigit(static_cast<unsigned char>(endpoint[i]))) {
      if (i > start) key += std::string(10 - std::min<size_t>(10, i - start), '0') + endpoint.substr(start, i - start);
      if (i < endpoint.size()) key += endpoint[i];
      start = i + 1;
    }
  }
  return key;
}

// What a row sorts by: numbers compare as numbers, the rest as text with
// endpoints made comparable (sort_key).
struct SortKey {
  std::string text;
  uint64_t number = 0;
  bool operator<(const SortKey& o) const { return text != o.text ? text < o.text : number < o.number; }
};

SortKey key_of(const ConnectionRow& r, const std::string& column) {
  if (column == "proto") return {r.proto};
  if (column == "remote") return {sort_key(r.remote)};
  if (column == "state") return {r.state};
  if (column == "send_queue") return {"", r.send_queue};
  if (column == "recv_queue") return {"", r.recv_queue};
  return {sort_key(r.local)};
}

nlohmann::ordered_json to_json(const ConnectionRow& r) {
  nlohmann::ordered_json j = {{"proto", r.proto},         {"local", r.local},
                      {"remote", r.remote},       {"state", r.state},
                      {"send_queue", r.send_queue}, {"recv_queue", r.recv_queue},
                      {"instance", r.instance}};
  if (r.tcp) {
    j["snd_wnd"] = r.snd_wnd;
    j["rcv_wnd"] = r.rcv_wnd;
    j["cwnd"] = r.cwnd;
    j["rto_ms"] = r.rto_ms;
    j["rto_backoff"] = r.rto_backoff;
    j["rtime"] = r.rtime;
    j["persist_backoff"] = r.persist_backoff;
    j["unacked"] = r.unacked;
    j["unsent"] = r.unsent;
  }
  return j;
}

}  // namespace

ConnectionQuery parse_connection_query(const std::string& query) {
  ConnectionQuery q;
  q.proto = query_var(query, "proto");
  if (!q.proto.empty() && q.proto != "tcp" && q.proto != "udp")
    throw std::invalid_argument("proto: expected tcp or udp, got \"" + q.proto + "\"");
  q.state = query_var(query, "state");
  std::transform(q.state.begin(), q.state.end(), q.state.begin(), ::toupper);
  q.text = query_var(query, "q");
  q.sort = query_var(query, "sort", "local");
  if (std::find(std::begin(kColumns), std::end(kColumns), q.sort) == std::end(kColumns))
    throw std::invalid_argument("sort: expected one of proto, local, remote, state, send_queue, "
                                "recv_queue, got \"" + q.sort + "\"");
  std::string order = query_var(query, "order", "asc");
  if (order != "asc" && order != "desc")
    throw std::invalid_argument("order: expected asc or desc, got \"" + order + "\"");
  q.descending = order == "desc";
  q.offset = number_var(query, "offset", 100'000'000);
  q.limit = number_var(query, "limit", 100'000);
  return q;
}

nlohmann::ordered_json select_connections(std::vector<ConnectionRow> rows, const ConnectionQuery& q) {
  std::map<std::string, size_t> by_state, by_proto;
  // Per lwIP instance (a per-worker stack has one per worker): how the
  // endpoints spread over them.
  std::map<std::string, std::map<std::string, size_t>> by_instance;
  for (const auto& r : rows) {
    by_proto[r.proto]++;
    if (!r.state.empty()) by_state[r.state]++;
    auto& instance = by_instance[r.instance];
    instance[r.proto]++;
    if (r.state == "ESTABLISHED") instance["established"]++;
  }
  for (auto& [name, counts] : by_instance)
    for (const char* key : {"tcp", "udp", "established"}) counts.try_emplace(key, 0);
  size_t total = rows.size();
  std::erase_if(rows, [&q](const ConnectionRow& r) {
    return (!q.proto.empty() && r.proto != q.proto) || (!q.state.empty() && r.state != q.state) ||
           (!q.text.empty() && r.local.find(q.text) == std::string::npos &&
            r.remote.find(q.text) == std::string::npos);
  });
  std::vector<std::pair<SortKey, size_t>> order;
  order.reserve(rows.size());
  for (size_t i = 0; i < rows.size(); i++) order.emplace_back(key_of(rows[i], q.sort), i);
  size_t begin = std::min(q.offset, rows.size());
  size_t end = q.limit ? std::min(rows.size(), begin + q.limit) : rows.size();
  // Only the rows up to the page's end need to be in order; ties keep
  // the table's order.
  std::partial_sort(order.begin(), order.begin() + ptrdiff_t(end), order.end(),
                    [&q](const auto& a, const auto& b) {
                      if (a.first < b.first || b.first < a.first)
                        return q.descending ? b.first < a.first : a.first < b.first;
                      return a.second < b.second;
                    });
  nlohmann::ordered_json page = nlohmann::ordered_json::array();
  for (size_t i = begin; i < end; i++) page.push_back(to_json(rows[order[i].second]));
  return {{"total", total},       {"matched", rows.size()}, {"offset", q.offset},
          {"limit", q.limit},     {"by_state", by_state},   {"by_proto", by_proto},
          {"by_instance", by_instance}, {"connections", page}};
}

}  // namespace oryx::stack
