// SPDX-License-Identifier: Apache-2.0
// loadgen.cpp - TCP request/response load generator and echo server for
// comparing Oryx's stack with the kernel's (bench/stack.sh).
//
//   loadgen --server PORT
//   loadgen --connect HOST:PORT [--connections N] [--size BYTES]
//           [--request TEXT --reply-size BYTES] [--seconds S] [--busy-poll]
//           [--json]
//
// Each connection sends one request of --size bytes, waits for the whole
// echo, records the round-trip time, and repeats. Prints requests/s, bytes/s
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
      "               [--request TEXT --reply-size BYTES] [--seconds S] [--busy-poll] [--json]\n"
      "TCP request/response load: N connections each send BYTES and wait for the echo,\n"
      "or send TEXT (C escapes \\r \\n \\t \\\\) and wait for a reply of exactly\n"
      "--reply-size bytes.\n"
      "--busy-poll: never sleep in epoll_wait (a latency measurement without the\n"
      "client's own wake-up). Prints requests per second, throughput and RTT p50/p99/p99.9.\n");
}

void set_nodelay_nonblock(int fd) {
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
}

int run_server(int port) {
  int ls = socket(AF_INET, SOCK_STREAM, 0);
  int one = 1;
  setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
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
  bool want_out = false;  // EPOLLOUT registered: a request waits for room
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

int run_client(const std::string& target, int conns, const std::string& request, size_t reply_size,
               double seconds, bool busy_poll, bool json) {
  size_t colon = target.rfind(':');
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(uint16_t(std::atoi(target.c_str() + colon + 1)));
  if (colon == std::string::npos || inet_pton(AF_INET, target.substr(0, colon).c_str(), &a.sin_addr) != 1) {
    std::fprintf(stderr, "loadgen: bad target %s\n", target.c_str());
    return 2;
  }
  int ep = epoll_create1(0);
  std::vector<Conn> cs(static_cast<size_t>(conns));
  const size_t size = request.size();
  std::vector<char> buf(std::max<size_t>(reply_size, 65536));
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
  for (int i = 0; i < conns; i++) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a))) die("connect to " + target);
    set_nodelay_nonblock(fd);
    Conn& c = cs[size_t(i)];
    c.fd = fd;
    epoll_event ev{EPOLLIN, {.u32 = uint32_t(i)}};
    epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
    c.started = Clock::now();
    send_rest(c, uint32_t(i));
  }
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
      if (c.sent < size && (events[i].events & EPOLLOUT)) send_rest(c, index);
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
        c.sent = c.received = 0;
        c.started = now;
        send_rest(c, index);
      }
    }
  }
  double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  std::sort(rtts.begin(), rtts.end());
  auto pct = [&](double p) { return rtts.empty() ? 0.0 : rtts[std::min(rtts.size() - 1, size_t(p * rtts.size()))]; };
  double rate = double(done) / elapsed;
  double mbps = rate * double(size + reply_size) * 8 / 1e6;
  if (json)
    std::printf("{\"connections\":%d,\"size\":%zu,\"seconds\":%.2f,\"requests\":%llu,\"rate\":%.1f,"
                "\"mbit_per_s\":%.1f,\"p50_us\":%.1f,\"p99_us\":%.1f,\"p999_us\":%.1f}\n",
                conns, size, elapsed, (unsigned long long)done, rate, mbps, pct(0.5), pct(0.99), pct(0.999));
  else
    std::printf("%d conn x %zu B: %.0f req/s, %.1f Mbit/s, RTT p50 %.1f us, p99 %.1f us, p99.9 %.1f us\n",
                conns, size, rate, mbps, pct(0.5), pct(0.99), pct(0.999));
  for (auto& c : cs) close(c.fd);
  return done > 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  std::string target;
  int server_port = 0, conns = 1;
  size_t size = 64, reply_size = 0;
  std::string request;
  double seconds = 5;
  bool json = false, busy_poll = false;
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
  if (target.empty() || conns < 1 || size < 1 || reply_size < 1 || seconds <= 0) {
    usage();
    return 2;
  }
  return run_client(target, conns, request, reply_size, seconds, busy_poll, json);
}
