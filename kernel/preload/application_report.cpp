// SPDX-License-Identifier: Apache-2.0
#include "application_report.hpp"

#include "fd_table.hpp"
#include "runtime.hpp"

#include <arpa/inet.h>
#include <dirent.h>
#include <unistd.h>

#include <fstream>
#include <map>
#include <sstream>

namespace oryx::preload {

namespace {

constexpr size_t kMaxListed = 1000;  // descriptors listed one by one

std::string read_file(const char* path) {
  std::ifstream in(path);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string command_line() {
  std::string raw = read_file("/proc/self/cmdline");
  for (char& c : raw)
    if (c == '\0') c = ' ';
  while (!raw.empty() && raw.back() == ' ') raw.pop_back();
  return raw;
}

std::string name() {
  std::string comm = read_file("/proc/self/comm");
  return comm.substr(0, comm.find('\n'));
}

size_t entries_in(const char* dir) {
  size_t n = 0;
  if (DIR* d = opendir(dir)) {
    while (const dirent* e = readdir(d))
      if (e->d_name[0] != '.') n++;
    closedir(d);
  }
  return n;
}

// "VmRSS" and friends from /proc/self/status, in KiB.
uint64_t status_kib(const std::string& key) {
  std::istringstream in(read_file("/proc/self/status"));
  std::string line;
  while (std::getline(in, line))
    if (line.rfind(key + ":", 0) == 0) return std::stoull(line.substr(key.size() + 1));
  return 0;
}

std::string address_text(const sockaddr_storage& ss) {
  char host[INET6_ADDRSTRLEN] = "";
  if (ss.ss_family == AF_INET) {
    auto* a = reinterpret_cast<const sockaddr_in*>(&ss);
    inet_ntop(AF_INET, &a->sin_addr, host, sizeof(host));
    return std::string(host) + ":" + std::to_string(ntohs(a->sin_port));
  }
  if (ss.ss_family == AF_INET6) {
    auto* a = reinterpret_cast<const sockaddr_in6*>(&ss);
    inet_ntop(AF_INET6, &a->sin6_addr, host, sizeof(host));
    return "[" + std::string(host) + "]:" + std::to_string(ntohs(a->sin6_port));
  }
  return "";
}

std::string kind_of(const FdEntry& e) {
  if (e.kind == FdEntry::kEpoll) return "epoll";
  if (e.kind == FdEntry::kUndecided) return "undecided";
  if ((e.type & 0xf) == SOCK_DGRAM) return "udp";
  return e.backlog >= 0 ? "tcp-listen" : "tcp";
}

}  // namespace

nlohmann::json application_report() {
  const Runtime& rt = Runtime::get();
  const oryx_socket_api* api = rt.sockets_if_running();
  std::map<std::string, size_t> by_kind;
  nlohmann::json listed = nlohmann::json::array();
  size_t oryx_fds = 0;
  for (const auto& [fd, entry] : FdTable::get().snapshot()) {
    oryx_fds++;
    std::string kind = kind_of(*entry);
    by_kind[kind]++;
    if (listed.size() >= kMaxListed) continue;
    nlohmann::json row = {{"fd", fd}, {"kind", kind}};
    if (api && entry->kind == FdEntry::kOryx && entry->handle >= 0 &&
        entry->generation == rt.generation()) {
      sockaddr_storage ss{};
      socklen_t len = sizeof(ss);
      if (api->getsockname(entry->handle, reinterpret_cast<sockaddr*>(&ss), &len) == 0)
        row["local"] = address_text(ss);
      len = sizeof(ss);
      ss = {};
      if (api->getpeername(entry->handle, reinterpret_cast<sockaddr*>(&ss), &len) == 0)
        row["remote"] = address_text(ss);
    }
    listed.push_back(std::move(row));
  }
  size_t open_fds = entries_in("/proc/self/fd");
  return {{"pid", getpid()},
          {"command", command_line()},
          {"name", name()},
          {"threads", entries_in("/proc/self/task")},
          {"rss_kib", status_kib("VmRSS")},
          {"forked_child", rt.inherited()},
          {"descriptors", {{"open", open_fds}, {"managed_by_oryx", oryx_fds},
                           {"kernel", open_fds > oryx_fds ? open_fds - oryx_fds : 0}}},
          {"oryx_sockets_by_kind", by_kind},
          {"oryx_sockets", listed},
          {"oryx_sockets_truncated", oryx_fds > kMaxListed},
          {"threading", rt.threading_json()}};
}

}  // namespace oryx::preload
