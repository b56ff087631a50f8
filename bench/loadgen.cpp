// SPDX-License-Identifier: Apache-2.0
// loadgen.cpp - TCP request/response load generator and echo server for
// comparing Oryx's stack with the kernel's (bench/stack.sh).
//
//   loadgen --server PORT
//   loadgen --connect HOST:PORT [--connections N] [--size BYTES]
//           [--request TEXT --reply-size BYTES] [--seconds S] [--busy-poll]
//           [--in-flight K] [--sources IP,IP...] [--reset]
//           [--ready FILE --go FILE] [--json]
//
// Each connection sends one request of --size bytes, waits for the whole
// echo, records the round-trip time, and repeats. With --in-flight K fewer
// than N, only K requests are outstanding at a time and each new one goes
// to the next idle connection in turn, so all N connections carry traffic
// (bench/scale.sh: the same load spread over 100 or 100,000 connections).
// --sources binds connections to these local addresses in turn (a client
// address has at most ~64,000 ports toward one server port). --reset ends
// the connections with RST instead of FIN (paced), so that none waits in
// TIME_WAIT and the next run finds every port free. --ready and --go line
// up several client processes (a process may hold only so many
// descriptors): each creates FILE --ready once its connections are open,
// then waits for the file --go before it sends. Prints requests/s, bytes/s
// and RTT percentiles (p50, p99, p99.9). With --request, the request is TEXT
// (C escapes \r \n \t \\) and the reply is --reply-size bytes: a fixed
// request to a real server, say a redis GET (bench/apps.sh). A connection
// costs the client one write and one read per request and the epoll wait
// is shared by all of them, so one client CPU can keep a server busy.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

[[noreturn]] void die(const std::string& what) {
  std::fprintf(stderr, "loadgen: %s: %s\n", what.c_str(), std::strerror(errno));
  std::exit(1);
}

void usage() {
  std::printf(
      "Usage: loadgen --server PORT\n"
      "       loadgen --connect HOST:PORT [--connections N] [--size BYTES]\n"
      "               [--request TEXT --reply-size BYTES] [--seconds S] [--busy-poll]\n"
      "               [--in-flight K] [--sources IP,IP...] [--reset]\n"
      "               [--ready FILE --go FILE] [--json]\n"
      "TCP request/response load: N connections each send BYTES and wait for the echo,\n"
      "or send TEXT (C escapes \\r \\n \\t \\\\) and wait for a reply of exactly\n"
      "--reply-size bytes.\n"
      "--busy-poll: never sleep in epoll_wait (a latency measurement without the\n"
      "client's own wake-up).\n"
      "--in-flight K: at most K requests outstanding (default N), each new one on the next\n"
      "idle connection in turn, so all N connections are used.\n"
      "--sources: bind the connections to these local IPv4 addresses in turn.\n"
      "--reset: end the connections with RST (no TIME_WAIT left behind).\n"
      "--ready/--go: create the first file once connected, start when the second exists.\n"
      "Connections are opened 512 at a time, with progress on stderr for large N.\n"
      "Prints requests per second, throughput and RTT p50/p99/p99.9.\n");
}

void set_nodelay_nonblock(int fd) {
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
}

// Room for N sockets: raises the soft descriptor limit to the hard one,
// and fails if that is too few (raising the hard limit needs
// CAP_SYS_RESOURCE; run more processes instead).
void reserve_descriptors(size_t n) {
  rlimit r{};
  getrlimit(RLIMIT_NOFILE, &r);
  r.rlim_cur = r.rlim_max;
  setrlimit(RLIMIT_NOFILE, &r);
  if (r.rlim_cur < n + 16) {
    std::fprintf(stderr, "loadgen: %zu connections need %zu descriptors; the limit is %llu\n", n, n + 16,
                 (unsigned long long)r.rlim_cur);
    std::exit(2);
  }
}

int run_server(int port) {
  reserve_descriptors(0);  // as many as the hard limit allows
  int ls = socket(AF_INET, SOCK_STREAM, 0);
  int one = 1;
  setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  setsockopt(ls, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));  // several servers share a port
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(uint16_t(port));
  if (bind(ls, reinterpret_cast<sockaddr*>(&a), sizeof(a)) || listen(ls, 1024)) die("listen");
  set_nodelay_nonblock(ls);
  int ep = epoll_create1(0);
  epoll_event ev{EPOLLIN, {.fd = ls}};
  epoll_ctl(ep, EPOLL_CTL_ADD, ls, &ev);
  std::vector<char> buf(1 << 20);
  epoll_event events[256];
  while (true) {
    int n = epoll_wait(ep, events, 256, -1);
    for (int i = 0; i < n; i++) {
      int fd = events[i].data.fd;
      if (fd == ls) {
        int c;
        while ((c = accept(ls, nullptr, nullptr)) >= 0) {
          set_nodelay_nonblock(c);
          epoll_event cev{EPOLLIN, {.fd = c}};
          epoll_ctl(ep, EPOLL_CTL_ADD, c, &cev);
        }
        continue;
      }
      ssize_t r = read(fd, buf.data(), buf.size());
      if (r <= 0) {
        close(fd);
        continue;
      }
      // Echo everything; block briefly if the peer's window is full.
      for (ssize_t off = 0; off < r;) {
        ssize_t w = write(fd, buf.data() + off, size_t(r - off));
        if (w > 0) off += w;
        else if (errno != EAGAIN) break;
      }
    }
  }
}

struct Conn {
  int fd;
  size_t sent = 0, received = 0;
  bool busy = false;      // a request is outstanding
  bool want_out = false;  // EPOLLOUT registered: a request (or a connect) waits for room
  Clock::time_point started;
};

// TEXT with \r, \n, \t and \\ turned into their bytes.
std::string unescape(const std::string& text) {
  std::string out;
  for (size_t i = 0; i < text.size(); i++) {
    if (text[i] != '\\' || i + 1 == text.size()) {
      out += text[i];
      continue;
    }
    char c = text[++i];
    out += c == 'r' ? '\r' : c == 'n' ? '\n' : c == 't' ? '\t' : c;
  }
  return out;
}

// Opens cs.size() connections to `to`, at most 512 handshakes at a time,
// bound to `sources` in turn (the kernel picks each port for the whole
// 4-tuple: IP_BIND_ADDRESS_NO_PORT). Registers each with `ep` (data.u32 =
// index) for EPOLLIN once connected.
void open_connections(int ep, std::vector<Conn>& cs, const sockaddr_in& to,
                      const std::vector<in_addr>& sources) {
  const size_t n = cs.size();
  const bool progress = n >= 10000;
  size_t started = 0, open = 0, pending = 0;
  epoll_event events[512];
  auto deadline = Clock::now() + std::chrono::seconds(60 + n / 1000);
  while (open < n) {
    for (; started < n && pending < 512; started++, pending++) {
      int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
      if (fd < 0) die("socket");
      int one = 1;
      setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
      if (!sources.empty()) {
        setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one));
        sockaddr_in local{};
        local.sin_family = AF_INET;
        local.sin_addr = sources[started % sources.size()];
        if (bind(fd, reinterpret_cast<sockaddr*>(&local), sizeof(local))) die("bind");
      }
      if (connect(fd, reinterpret_cast<const sockaddr*>(&to), sizeof(to)) && errno != EINPROGRESS)
        die("connect (" + std::to_string(started) + " open)");
      cs[started].fd = fd;
      epoll_event ev{EPOLLOUT, {.u32 = uint32_t(started)}};
      epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
    }
    if (Clock::now() > deadline) {
      std::fprintf(stderr, "loadgen: only %zu of %zu connections open in time\n", open, n);
      std::exit(1);
    }
    int k = epoll_wait(ep, events, 512, 100);
    for (int i = 0; i < k; i++) {
      Conn& c = cs[events[i].data.u32];
      int err = 0;
      socklen_t len = sizeof(err);
      getsockopt(c.fd, SOL_SOCKET, SO_ERROR, &err, &len);
      if (err) {
        errno = err;
        die("connect (" + std::to_string(open) + " open)");
      }
      epoll_event ev{EPOLLIN, {.u32 = events[i].data.u32}};
      epoll_ctl(ep, EPOLL_CTL_MOD, c.fd, &ev);
      open++;
      pending--;
      if (progress && open % 10000 == 0) std::fprintf(stderr, "loadgen: %zu of %zu connections open\n", open, n);
    }
  }
}

int run_client(const std::string& target, int conns, size_t in_flight, const std::string& request,
               size_t reply_size, double seconds, bool busy_poll, const std::vector<in_addr>& sources,
               bool reset, const std::string& ready, const std::string& go, bool json) {
  size_t colon = target.rfind(':');
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(uint16_t(std::atoi(target.c_str() + colon + 1)));
  if (colon == std::string::npos || inet_pton(AF_INET, target.substr(0, colon).c_str(), &a.sin_addr) != 1) {
    std::fprintf(stderr, "loadgen: bad target %s\n", target.c_str());
    return 2;
  }
  reserve_descriptors(size_t(conns));
  int ep = epoll_create1(0);
  std::vector<Conn> cs(static_cast<size_t>(conns));
  const size_t size = request.size();
  std::vector<char> buf(std::max<size_t>(reply_size, 65536));
  auto opening = Clock::now();
  open_connections(ep, cs, a, sources);
  double connect_s = std::chrono::duration<double>(Clock::now() - opening).count();
  if (!ready.empty()) {
    int fd = open(ready.c_str(), O_CREAT | O_WRONLY, 0644);
    if (fd < 0) die("creating " + ready);
    close(fd);
  }
  for (int waited = 0; !go.empty() && access(go.c_str(), F_OK) != 0; waited++) {
    if (waited == 60000) die("waiting for " + go);  // 10 minutes
    usleep(10000);
  }
  // Sends what is left of c's request; waits for room only when a write
  // fell short (a request is small: almost never).
  auto send_rest = [&](Conn& c, uint32_t index) {
    ssize_t w = write(c.fd, request.data() + c.sent, size - c.sent);
    if (w > 0) c.sent += size_t(w);
    else if (errno != EAGAIN) die("write");
    bool want_out = c.sent < size;
    if (want_out == c.want_out) return;
    c.want_out = want_out;
    epoll_event ev{EPOLLIN | (want_out ? uint32_t(EPOLLOUT) : 0u), {.u32 = index}};
    epoll_ctl(ep, EPOLL_CTL_MOD, c.fd, &ev);
  };
  // Starts a request on the next idle connection in turn.
  size_t cursor = 0;
  auto start_next = [&]() {
    for (size_t tries = 0; tries < cs.size(); tries++, cursor = (cursor + 1) % cs.size()) {
      Conn& c = cs[cursor];
      if (c.busy) continue;
      c.busy = true;
      c.sent = c.received = 0;
      c.started = Clock::now();
      send_rest(c, uint32_t(cursor));
      cursor = (cursor + 1) % cs.size();
      return;
    }
  };
  for (size_t i = 0; i < in_flight; i++) start_next();
  std::vector<double> rtts;
  rtts.reserve(1 << 20);
  auto start = Clock::now();
  auto end = start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
  uint64_t done = 0;
  epoll_event events[512];
  while (Clock::now() < end) {
    int n = epoll_wait(ep, events, 512, busy_poll ? 0 : 100);
    for (int i = 0; i < n; i++) {
      uint32_t index = events[i].data.u32;
      Conn& c = cs[index];
      if (c.busy && c.sent < size && (events[i].events & EPOLLOUT)) send_rest(c, index);
      if (!(events[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR))) continue;
      ssize_t r = 0;
      while (c.received < reply_size &&
             (r = read(c.fd, buf.data(), std::min(buf.size(), reply_size - c.received))) > 0)
        c.received += size_t(r);
      if (c.received < reply_size && (r == 0 || errno != EAGAIN)) {
        std::fprintf(stderr, "loadgen: connection %u closed by the server\n", index);
        return 1;
      }
      if (c.received == reply_size) {
        auto now = Clock::now();
        rtts.push_back(std::chrono::duration<double, std::micro>(now - c.started).count());
        done++;
        c.busy = false;
        start_next();
      }
    }
  }
  double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  std::sort(rtts.begin(), rtts.end());
  auto pct = [&](double p) { return rtts.empty() ? 0.0 : rtts[std::min(rtts.size() - 1, size_t(p * rtts.size()))]; };
  double rate = double(done) / elapsed;
  double mbps = rate * double(size + reply_size) * 8 / 1e6;
  if (json)
    std::printf("{\"connections\":%d,\"in_flight\":%zu,\"size\":%zu,\"connect_s\":%.2f,\"seconds\":%.2f,"
                "\"requests\":%llu,\"rate\":%.1f,\"mbit_per_s\":%.1f,\"p50_us\":%.1f,\"p99_us\":%.1f,"
                "\"p999_us\":%.1f}\n",
                conns, in_flight, size, connect_s, elapsed, (unsigned long long)done, rate, mbps, pct(0.5),
                pct(0.99), pct(0.999));
  else
    std::printf("%d conn (%zu in flight) x %zu B: %.0f req/s, %.1f Mbit/s, RTT p50 %.1f us, p99 %.1f us, "
                "p99.9 %.1f us; opened in %.2f s\n",
                conns, in_flight, size, rate, mbps, pct(0.5), pct(0.99), pct(0.999), connect_s);
  for (size_t i = 0; i < cs.size(); i++) {
    linger abort{1, 0};
    if (reset) setsockopt(cs[i].fd, SOL_SOCKET, SO_LINGER, &abort, sizeof(abort));
    close(cs[i].fd);
    // Resets paced at 64 a millisecond: 100,000 at once overflow a
    // server's receive ring, and a lost RST leaves its connection open.
    if (reset && i % 64 == 63) usleep(1000);
  }
  return done > 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  std::string target;
  int server_port = 0, conns = 1;
  size_t size = 64, reply_size = 0;
  std::string request;
  double seconds = 5;
  bool json = false, busy_poll = false, reset = false;
  size_t in_flight = 0;
  std::vector<in_addr> sources;
  std::string ready, go;
  for (int i = 1; i < argc; i++) {
    std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) {
        usage();
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--server") server_port = std::atoi(next().c_str());
    else if (a == "--connect") target = next();
    else if (a == "--connections") conns = std::atoi(next().c_str());
    else if (a == "--size") size = size_t(std::atol(next().c_str()));
    else if (a == "--request") request = unescape(next());
    else if (a == "--reply-size") reply_size = size_t(std::atol(next().c_str()));
    else if (a == "--seconds") seconds = std::atof(next().c_str());
    else if (a == "--in-flight") in_flight = size_t(std::atol(next().c_str()));
    else if (a == "--sources") {
      std::string list = next();
      for (size_t at = 0; at <= list.size();) {
        size_t comma = std::min(list.find(',', at), list.size());
        in_addr ip{};
        if (inet_pton(AF_INET, list.substr(at, comma - at).c_str(), &ip) != 1) {
          std::fprintf(stderr, "loadgen: bad source address in %s\n", list.c_str());
          return 2;
        }
        sources.push_back(ip);
        at = comma + 1;
      }
    } else if (a == "--reset") reset = true;
    else if (a == "--ready") ready = next();
    else if (a == "--go") go = next();
    else if (a == "--json") json = true;
    else if (a == "--busy-poll") busy_poll = true;
    else if (a == "--help" || a == "-h") {
      usage();
      return 0;
    } else {
      usage();
      return 2;
    }
  }
  if (server_port > 0) return run_server(server_port);
  if (request.empty()) {  // the echo: SIZE bytes each way
    request.assign(size, 'q');
    if (!reply_size) reply_size = size;
  }
  if (!in_flight) in_flight = size_t(conns);
  if (target.empty() || conns < 1 || size < 1 || reply_size < 1 || seconds <= 0 ||
      in_flight > size_t(conns)) {
    usage();
    return 2;
  }
  return run_client(target, conns, in_flight, request, reply_size, seconds, busy_poll, sources, reset, ready, go, json);
}
