// SPDX-License-Identifier: Apache-2.0
// shim_semantics.cpp - liboryx-preload.so seen from an ordinary program:
// which descriptors it routes to Oryx, epoll/poll/select over Oryx sockets
// and kernel descriptors together, non-blocking calls, and bad input.
//
// The program does not link the library: tests/e2e/preload_semantics.sh
// runs it under `oryx run`, so every socket call below is interposed and
// the Oryx sockets are served by the real stack on an AF_XDP port, with
// Linux sockets in a namespace at the far end (semantics_peer.py).
// Where Linux's exact answer matters, the same steps also run on kernel
// sockets over loopback (127.0.0.1 is never Oryx's) in this process, and
// the two sets of results must be equal.
//
// Environment: ORYX_TEST_SELF (the stack's address), ORYX_TEST_PEER (the
// namespace's address), ORYX_TEST_PORT_FILE (host:port of the REST API of
// the kernel running inside this process).
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;
long ms_since(Clock::time_point t) {
  return long(std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t).count());
}

std::string need_env(const char* name) {
  const char* v = std::getenv(name);
  if (!v || !*v) throw std::runtime_error(std::string("set ") + name + " (run by preload_semantics.sh)");
  return v;
}

struct Setup {
  std::string self = need_env("ORYX_TEST_SELF");  // the stack's address
  std::string peer = need_env("ORYX_TEST_PEER");  // Linux, in the namespace
  std::string port_file = need_env("ORYX_TEST_PORT_FILE");
  int echo = 7;        // tcp and udp echo
  int control = 6000;  // the far end obeys line commands (semantics_peer.py)
  int closed = 1;      // nothing listens there
  // Every test runs with the kernel already started in this process (a
  // first connection starts it), whichever tests are selected.
  Setup() {
    int s = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(uint16_t(echo));
    inet_pton(AF_INET, peer.c_str(), &to.sin_addr);
    int r = connect(s, reinterpret_cast<sockaddr*>(&to), sizeof(to));
    int err = errno;
    close(s);
    if (r != 0) throw std::runtime_error(std::string("first connection to the peer: ") + strerror(err));
  }
};
const Setup& S() {
  static Setup s;
  return s;
}

// Owns a descriptor, so that a failed check leaks nothing into later tests.
class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  Fd(Fd&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  Fd& operator=(Fd&& o) noexcept {
    reset(std::exchange(o.fd_, -1));
    return *this;
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() { reset(); }
  operator int() const { return fd_; }
  int release() { return std::exchange(fd_, -1); }
  void reset(int fd = -1) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = fd;
  }

 private:
  int fd_ = -1;
};

// A kernel pipe, the reference every readiness check compares Oryx with.
struct Pipe {
  Fd r, w;
};
Pipe kernel_pipe(int flags = 0) {
  int p[2];
  REQUIRE(pipe2(p, flags) == 0);
  return {Fd(p[0]), Fd(p[1])};
}

// The result of a call, or -errno when it fails.
template <typename F>
long call(F f) {
  errno = 0;
  long r = long(f());
  return r < 0 ? -long(errno) : r;
}

sockaddr_in v4(const std::string& ip, int port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(uint16_t(port));
  if (inet_pton(AF_INET, ip.c_str(), &a.sin_addr) != 1) throw std::runtime_error("bad address " + ip);
  return a;
}
const sockaddr* sa(const sockaddr_in& a) { return reinterpret_cast<const sockaddr*>(&a); }
sockaddr* sa(sockaddr_in& a) { return reinterpret_cast<sockaddr*>(&a); }

std::string ip_of(const sockaddr_in& a) {
  char buf[INET_ADDRSTRLEN];
  return inet_ntop(AF_INET, &a.sin_addr, buf, sizeof(buf));
}
sockaddr_in name_of(int fd) {
  sockaddr_in a{};
  socklen_t len = sizeof(a);
  REQUIRE(getsockname(fd, sa(a), &len) == 0);
  return a;
}
sockaddr_in peer_of(int fd) {
  sockaddr_in a{};
  socklen_t len = sizeof(a);
  REQUIRE(getpeername(fd, sa(a), &len) == 0);
  return a;
}

Fd tcp(int flags = 0) {
  Fd f(socket(AF_INET, SOCK_STREAM | flags, 0));
  REQUIRE(f >= 0);
  return f;
}

// A blocking connection from an Oryx socket to the namespace peer.
Fd connect_peer(int port, int flags = 0) {
  Fd f = tcp(flags);
  sockaddr_in to = v4(S().peer, port);
  REQUIRE(connect(f, sa(to), sizeof(to)) == 0);
  return f;
}

// An Oryx listener on the stack's address.
Fd listen_self(int port, int backlog = 16) {
  Fd f = tcp();
  sockaddr_in at = v4(S().self, port);
  REQUIRE(bind(f, sa(at), sizeof(at)) == 0);
  REQUIRE(listen(f, backlog) == 0);
  return f;
}

// One command line to the peer's control port, on the connection it drives.
void say(int fd, const std::string& line) {
  std::string l = line + "\n";
  REQUIRE(send(fd, l.data(), l.size(), MSG_NOSIGNAL) == ssize_t(l.size()));
}

// Reads until n bytes, EOF, an error or `ms` have passed.
std::string read_n(int fd, size_t n, int ms = 3000) {
  std::string out;
  auto t0 = Clock::now();
  while (out.size() < n) {
    long left = ms - ms_since(t0);
    if (left <= 0) break;
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, int(left)) <= 0) continue;
    char buf[4096];
    size_t want = std::min(sizeof(buf), n - out.size());
    ssize_t r = recv(fd, buf, want, MSG_DONTWAIT);
    if (r < 0 && errno == ENOTSOCK) r = read(fd, buf, want);  // a pipe
    if (r < 0 && errno == EAGAIN) continue;
    if (r <= 0) break;
    out.append(buf, size_t(r));
  }
  return out;
}

int so_error(int fd) {
  int e = -1;
  socklen_t len = sizeof(e);
  REQUIRE(getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &len) == 0);
  return e;
}

// Kernel sockets over loopback: a listener, a connected `a` and its peer `b`.
struct Loopback {
  Fd listener, a, b;
};
Loopback loopback() {
  Loopback p;
  p.listener = tcp();
  sockaddr_in at = v4("127.0.0.1", 0);
  REQUIRE(bind(p.listener, sa(at), sizeof(at)) == 0);
  REQUIRE(listen(p.listener, 16) == 0);
  at = name_of(p.listener);
  p.a = tcp();
  REQUIRE(connect(p.a, sa(at), sizeof(at)) == 0);
  p.b = Fd(accept(p.listener, nullptr, nullptr));
  REQUIRE(p.b >= 0);
  return p;
}

// A loopback port nothing listens on.
sockaddr_in closed_loopback_port() {
  Fd s = tcp();
  sockaddr_in at = v4("127.0.0.1", 0);
  REQUIRE(bind(s, sa(at), sizeof(at)) == 0);
  return name_of(s);  // closed again when `s` goes
}

// Whether the kernel's TCP or UDP table (this namespace) holds a socket
// with this local address: the proof that a socket is, or is not, the kernel's.
bool kernel_table_has(const char* table, const sockaddr_in& a) {
  char want[32];
  std::snprintf(want, sizeof(want), "%08X:%04X", a.sin_addr.s_addr, unsigned(ntohs(a.sin_port)));
  std::ifstream f(std::string("/proc/net/") + table);
  std::string line;
  std::getline(f, line);
  while (std::getline(f, line)) {
    std::istringstream in(line);
    std::string slot, local;
    in >> slot >> local;
    if (local == want) return true;
  }
  return false;
}

int open_fds() {
  int n = 0;
  DIR* d = opendir("/proc/self/fd");
  REQUIRE(d);
  while (dirent* e = readdir(d))
    if (e->d_name[0] != '.') n++;
  closedir(d);
  return n - 1;  // the directory's own descriptor
}

// ---- epoll helpers ----

void ep_add(int ep, int fd, uint32_t events, uint64_t data) {
  epoll_event ev{};
  ev.events = events;
  ev.data.u64 = data;
  REQUIRE(epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) == 0);
}

long ep_ctl(int ep, int op, int fd, uint32_t events, uint64_t data = 0) {
  epoll_event ev{};
  ev.events = events;
  ev.data.u64 = data;
  return call([&] { return epoll_ctl(ep, op, fd, &ev); });
}

std::vector<epoll_event> ep_wait(int ep, int ms, int max = 16) {
  std::vector<epoll_event> ev(static_cast<size_t>(max));
  int n = epoll_wait(ep, ev.data(), max, ms);
  REQUIRE(n >= 0);
  ev.resize(size_t(n));
  return ev;
}

// For a set holding one level-triggered registration: waits until it
// reports every bit of `bits`; returns the last mask seen (0: nothing).
uint32_t ep_wait_for(int ep, uint32_t bits, int ms = 3000) {
  auto t0 = Clock::now();
  uint32_t last = 0;
  while (ms_since(t0) < ms) {
    auto ev = ep_wait(ep, 50);
    if (ev.empty()) continue;
    last = ev[0].events;
    if ((last & bits) == bits) return last;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return last;
}

uint32_t mask_of(const std::vector<epoll_event>& ev) { return ev.empty() ? 0 : ev[0].events; }

std::string bits(long m) {
  static const std::pair<uint32_t, const char*> names[] = {
      {EPOLLIN, "IN"},         {EPOLLPRI, "PRI"},       {EPOLLOUT, "OUT"},
      {EPOLLERR, "ERR"},       {EPOLLHUP, "HUP"},       {POLLNVAL, "NVAL"},
      {EPOLLRDNORM, "RDNORM"}, {EPOLLRDBAND, "RDBAND"}, {EPOLLWRNORM, "WRNORM"},
      {EPOLLWRBAND, "WRBAND"}, {EPOLLMSG, "MSG"},       {EPOLLRDHUP, "RDHUP"}};
  std::string s;
  for (auto& [bit, name] : names)
    if (uint32_t(m) & bit) s += (s.empty() ? "" : "|") + std::string(name);
  return s.empty() ? "0" : s;
}

// ---- the far end of a connection, driven from this program ----

struct Far {
  virtual ~Far() = default;
  virtual void send(int n) = 0;  // n bytes of data
  virtual void shutwr() = 0;     // FIN
  virtual void close() = 0;      // close in order
  virtual void rst() = 0;        // close with SO_LINGER {1, 0}
};

// A kernel socket in this process.
struct KernelFar : Far {
  Fd b;
  explicit KernelFar(Fd fd) : b(std::move(fd)) {}
  void send(int n) override {
    std::string d(size_t(n), 'x');
    REQUIRE(::send(b, d.data(), d.size(), MSG_NOSIGNAL) == n);
  }
  void shutwr() override { REQUIRE(::shutdown(b, SHUT_WR) == 0); }
  void close() override { b.reset(); }
  void rst() override {
    linger l{1, 0};
    REQUIRE(setsockopt(b, SOL_SOCKET, SO_LINGER, &l, sizeof(l)) == 0);
    b.reset();
  }
};

// The namespace peer's control port, commanded over the connection itself.
struct PeerFar : Far {
  int fd;
  explicit PeerFar(int f) : fd(f) {}
  void send(int n) override { say(fd, "send " + std::to_string(n)); }
  void shutwr() override { say(fd, "shutwr"); }
  void close() override { say(fd, "close"); }
  void rst() override { say(fd, "rst"); }
};

struct Conn {
  Fd fd;  // ours
  std::unique_ptr<Far> far;
  Fd listener;
};

Conn kernel_conn() {
  Loopback lb = loopback();
  Conn c;
  c.fd = std::move(lb.a);
  c.far = std::make_unique<KernelFar>(std::move(lb.b));
  c.listener = std::move(lb.listener);
  return c;
}

Conn oryx_conn() {
  Conn c;
  c.fd = connect_peer(S().control);
  c.far = std::make_unique<PeerFar>(c.fd);
  return c;
}

// What a scenario saw, step by step, to compare Oryx's run with Linux's.
struct Seen {
  std::vector<std::pair<std::string, long>> steps;
  void operator()(std::string what, long value) { steps.emplace_back(std::move(what), value); }
  long operator[](const std::string& what) const {  // the first step of that name
    for (const auto& [w, v] : steps)
      if (w == what) return v;
    throw std::runtime_error("no step " + what);
  }
};

std::string show(const std::string& what, long v) {
  std::ostringstream o;
  if (what.find("mask") != std::string::npos || what.find("revents") != std::string::npos)
    o << bits(v);
  else if (v < 0)
    o << strerrorname_np(int(-v));
  else if (what.find("SO_ERROR") != std::string::npos && v > 0)
    o << strerrorname_np(int(v));
  else
    o << v;
  return o.str();
}

void same_as_linux(const Seen& linux_, const Seen& oryx) {
  REQUIRE(linux_.steps.size() == oryx.steps.size());
  for (size_t i = 0; i < linux_.steps.size(); i++) {
    const auto& [what, want] = linux_.steps[i];
    long got = oryx.steps[i].second;
    INFO("step " << i << ", " << what << ": Linux " << show(what, want) << ", Oryx " << show(what, got));
    CHECK(got == want);
  }
}

// ---- scenarios run on a kernel connection and an Oryx one ----

// The peer shuts down its sending side; level-triggered registration.
Seen half_close_level(Conn& c) {
  Seen seen;
  Fd ep(epoll_create1(EPOLL_CLOEXEC));
  ep_add(ep, c.fd, EPOLLIN | EPOLLOUT | EPOLLRDHUP, 42);
  auto ev = ep_wait(ep, 0);
  seen("idle: events", long(ev.size()));
  seen("idle: mask", mask_of(ev));
  c.far->shutwr();
  seen("after the peer's FIN: mask", ep_wait_for(ep, EPOLLRDHUP));
  ev = ep_wait(ep, 0);
  seen("reported again: events", long(ev.size()));
  seen("data", ev.empty() ? 0 : long(ev[0].data.u64));
  char ch;
  seen("recv at EOF", call([&] { return recv(c.fd, &ch, 1, MSG_DONTWAIT); }));
  seen("shutdown(SHUT_WR)", call([&] { return shutdown(c.fd, SHUT_WR); }));
  seen("after our shutdown: mask", ep_wait_for(ep, EPOLLHUP));
  seen("send after our shutdown", call([&] { return send(c.fd, "a", 1, MSG_NOSIGNAL); }));
  return seen;
}

// Data then FIN from the peer; edge-triggered registration.
Seen half_close_edge(Conn& c) {
  Seen seen;
  Fd ep(epoll_create1(0));
  ep_add(ep, c.fd, EPOLLIN | EPOLLRDHUP | EPOLLET, 7);
  seen("idle: events", long(ep_wait(ep, 0).size()));
  c.far->send(3);
  auto ev = ep_wait(ep, 3000);
  seen("first arrival: events", long(ev.size()));
  seen("first arrival: mask", mask_of(ev));
  seen("nothing new: events", long(ep_wait(ep, 150).size()));
  c.far->send(2);
  ev = ep_wait(ep, 3000);
  seen("second arrival, first not read: events", long(ev.size()));
  seen("second arrival: mask", mask_of(ev));
  seen("nothing new: events", long(ep_wait(ep, 150).size()));
  seen("bytes read", long(read_n(c.fd, 5).size()));
  seen("drained: events", long(ep_wait(ep, 150).size()));
  c.far->shutwr();
  ev = ep_wait(ep, 3000);
  seen("FIN: events", long(ev.size()));
  seen("FIN: mask", mask_of(ev));
  seen("nothing new: events", long(ep_wait(ep, 150).size()));
  seen("shutdown(SHUT_WR)", call([&] { return shutdown(c.fd, SHUT_WR); }));
  ev = ep_wait(ep, 1000);
  seen("our own shutdown: events", long(ev.size()));
  seen("our own shutdown: mask", mask_of(ev));
  return seen;
}

// The peer closes; we write into the closed connection and get its RST.
Seen write_after_peer_close(Conn& c) {
  Seen seen;
  Fd ep(epoll_create1(0));
  ep_add(ep, c.fd, EPOLLIN | EPOLLOUT | EPOLLRDHUP, 1);
  c.far->close();
  seen("after the peer's close: mask", ep_wait_for(ep, EPOLLRDHUP));
  char ch;
  seen("recv", call([&] { return recv(c.fd, &ch, 1, MSG_DONTWAIT); }));
  seen("send into the closed connection", call([&] { return send(c.fd, "a", 1, MSG_NOSIGNAL); }));
  seen("after the RST: mask", ep_wait_for(ep, EPOLLERR | EPOLLHUP));
  // A RST in CLOSE_WAIT is EPIPE (Linux's tcp_reset), not ECONNRESET.
  seen("SO_ERROR", so_error(c.fd));
  seen("after SO_ERROR was read: mask", mask_of(ep_wait(ep, 0)));
  seen("send again", call([&] { return send(c.fd, "a", 1, MSG_NOSIGNAL); }));
  seen("recv", call([&] { return recv(c.fd, &ch, 1, MSG_DONTWAIT); }));
  return seen;
}

// The peer resets the connection: epoll, poll and select all see it.
Seen reset_by_peer(Conn& c) {
  Seen seen;
  Fd ep(epoll_create1(0));
  ep_add(ep, c.fd, EPOLLIN | EPOLLOUT | EPOLLRDHUP, 1);
  Fd ep_out(epoll_create1(0));
  ep_add(ep_out, c.fd, EPOLLOUT, 2);  // ERR and HUP come whether asked or not
  c.far->rst();
  seen("after the RST: mask", ep_wait_for(ep, EPOLLERR));
  seen("EPOLLOUT only: mask", mask_of(ep_wait(ep_out, 0)));
  pollfd p[2] = {{c.fd, 0, 0}, {c.fd, POLLIN | POLLOUT | POLLRDHUP, 0}};
  seen("poll", poll(p, 2, 0));
  seen("poll, no events asked: revents", p[0].revents);
  seen("poll IN|OUT|RDHUP: revents", p[1].revents);
  fd_set r, w, x;
  FD_ZERO(&r);
  FD_ZERO(&w);
  FD_ZERO(&x);
  FD_SET(c.fd, &r);
  FD_SET(c.fd, &w);
  FD_SET(c.fd, &x);
  timeval tv{0, 0};
  seen("select", select(c.fd + 1, &r, &w, &x, &tv));
  seen("select: readable", FD_ISSET(c.fd, &r) != 0);
  seen("select: writable", FD_ISSET(c.fd, &w) != 0);
  seen("select: exception", FD_ISSET(c.fd, &x) != 0);
  char ch;
  seen("recv", call([&] { return recv(c.fd, &ch, 1, MSG_DONTWAIT); }));
  seen("SO_ERROR after recv", so_error(c.fd));
  seen("mask after the error was reported", mask_of(ep_wait(ep, 0)));
  seen("recv again", call([&] { return recv(c.fd, &ch, 1, MSG_DONTWAIT); }));
  seen("send", call([&] { return send(c.fd, "a", 1, MSG_NOSIGNAL); }));
  return seen;
}

// Connecting to a port nothing listens on.
Seen refused(const sockaddr_in& to) {
  Seen seen;
  {
    Fd s = tcp();
    seen("blocking connect", call([&] { return connect(s, sa(to), sizeof(to)); }));
    seen("SO_ERROR after it", so_error(s));
  }
  Fd s = tcp(SOCK_NONBLOCK);
  seen("non-blocking connect", call([&] { return connect(s, sa(to), sizeof(to)); }));
  Fd ep(epoll_create1(0));
  ep_add(ep, s, EPOLLOUT, 3);
  seen("EPOLLOUT registration: mask", ep_wait_for(ep, EPOLLERR));
  pollfd p{s, POLLOUT, 0};
  seen("poll", poll(&p, 1, 0));
  seen("poll POLLOUT: revents", p.revents);
  seen("SO_ERROR", so_error(s));
  seen("SO_ERROR again", so_error(s));
  seen("mask after SO_ERROR was read", mask_of(ep_wait(ep, 0)));
  char ch;
  seen("recv", call([&] { return recv(s, &ch, 1, 0); }));
  // Asking connect() again instead of SO_ERROR.
  Fd again = tcp(SOCK_NONBLOCK);
  seen("non-blocking connect, second socket", call([&] { return connect(again, sa(to), sizeof(to)); }));
  pollfd q{again, POLLOUT, 0};
  seen("poll", poll(&q, 1, 3000));
  // Linux reports the refusal to the next connect() (consuming SO_ERROR)
  // rather than starting a new attempt.
  seen("connect again once refused", call([&] { return connect(again, sa(to), sizeof(to)); }));
  seen("SO_ERROR after that", so_error(again));
  return seen;
}

// A non-blocking connect that succeeds.
Seen nonblocking_connect(const sockaddr_in& to) {
  Seen seen;
  Fd s = tcp(SOCK_NONBLOCK);
  seen("O_NONBLOCK", (fcntl(s, F_GETFL) & O_NONBLOCK) != 0);
  seen("connect", call([&] { return connect(s, sa(to), sizeof(to)); }));
  pollfd p{s, POLLOUT, 0};
  seen("poll", poll(&p, 1, 3000));
  seen("poll POLLOUT: revents", p.revents);
  seen("SO_ERROR", so_error(s));
  // Linux's first connect() after the connection completed returns 0 (the
  // socket becomes SS_CONNECTED), only later ones EISCONN.
  seen("connect again", call([&] { return connect(s, sa(to), sizeof(to)); }));
  seen("and again", call([&] { return connect(s, sa(to), sizeof(to)); }));
  char ch;
  seen("recv with nothing queued", call([&] { return recv(s, &ch, 1, 0); }));
  seen("read with nothing queued", call([&] { return read(s, &ch, 1); }));
  return seen;
}

// Bad addresses given to bind on a socket already bound to `good`.
Seen bad_binds(int s, const sockaddr_in& good) {
  Seen seen;
  sockaddr_in6 six{};
  six.sin6_family = AF_INET6;
  six.sin6_addr = in6addr_loopback;
  seen("AF_INET6 address", call([&] { return bind(s, reinterpret_cast<sockaddr*>(&six), sizeof(six)); }));
  sockaddr_in a = good;
  seen("8-byte address", call([&] { return bind(s, sa(a), 8); }));
  seen("0-byte address", call([&] { return bind(s, sa(a), 0); }));
  a.sin_family = AF_UNIX;
  seen("AF_UNIX family", call([&] { return bind(s, sa(a), sizeof(a)); }));
  a.sin_family = AF_INET;
  seen("the same address again", call([&] { return bind(s, sa(a), sizeof(a)); }));
  seen("connect, AF_INET6 address",
       call([&] { return connect(s, reinterpret_cast<sockaddr*>(&six), sizeof(six)); }));
  seen("connect, 8-byte address", call([&] { return connect(s, sa(a), 8); }));
  return seen;
}

// Options Linux does not know, and malformed values.
Seen bad_options(int s) {
  Seen seen;
  int one = 1;
  const std::pair<int, int> unknown[] = {{SOL_SOCKET, 9999},
                                         {IPPROTO_TCP, 9999},
                                         {IPPROTO_IP, 9999},
                                         {IPPROTO_IPV6, IPV6_V6ONLY},  // on an IPv4 socket
                                         {12345, 1}};
  for (auto [level, name] : unknown) {
    std::string what = "level " + std::to_string(level) + " option " + std::to_string(name);
    seen("setsockopt " + what, call([&] { return setsockopt(s, level, name, &one, sizeof(one)); }));
    int v = 0;
    socklen_t len = sizeof(v);
    // An unknown level: Linux's ip_getsockopt says EOPNOTSUPP (setsockopt:
    // ENOPROTOOPT).
    seen("getsockopt " + what, call([&] { return getsockopt(s, level, name, &v, &len); }));
  }
  seen("SO_KEEPALIVE with a 2-byte value",
       call([&] { return setsockopt(s, SOL_SOCKET, SO_KEEPALIVE, &one, 2); }));
  seen("TCP_NODELAY with a 2-byte value",
       call([&] { return setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, 2); }));
  int v = 0;
  socklen_t len = socklen_t(-1);
  seen("getsockopt with a negative length",
       call([&] { return getsockopt(s, SOL_SOCKET, SO_TYPE, &v, &len); }));
  auto get = [&](int level, int name) {
    int out = -1;
    socklen_t l = sizeof(out);
    long r = call([&] { return getsockopt(s, level, name, &out, &l); });
    return r < 0 ? r : long(out);
  };
  seen("SO_TYPE", get(SOL_SOCKET, SO_TYPE));
  seen("SO_DOMAIN", get(SOL_SOCKET, SO_DOMAIN));
  seen("SO_PROTOCOL", get(SOL_SOCKET, SO_PROTOCOL));
  seen("SO_ACCEPTCONN", get(SOL_SOCKET, SO_ACCEPTCONN));
  seen("SO_ERROR", get(SOL_SOCKET, SO_ERROR));
  return seen;
}

// ---- signals ----

std::atomic<int> g_signals{0};
void on_usr1(int) { g_signals++; }

// SIGUSR1 handled without SA_RESTART while in scope.
struct Usr1Handler {
  struct sigaction old {};
  Usr1Handler() {
    struct sigaction sa {};
    sa.sa_handler = on_usr1;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0;
    sigaction(SIGUSR1, &sa, &old);
  }
  ~Usr1Handler() { sigaction(SIGUSR1, &old, nullptr); }
};

// Sends SIGUSR1 to the calling thread after `ms`, from another thread.
std::thread signal_me_after(int ms) {
  pthread_t me = pthread_self();
  return std::thread([me, ms] {
    std::this_thread::sleep_for(std::chrono::milliseconds(ms));
    pthread_kill(me, SIGUSR1);
  });
}

// ---- the in-process kernel's REST API (a kernel socket on 127.0.0.1) ----

nlohmann::json stack_counters() {
  std::ifstream f(S().port_file);
  std::string hostport;
  f >> hostport;
  REQUIRE(!hostport.empty());
  size_t colon = hostport.rfind(':');
  sockaddr_in at = v4(hostport.substr(0, colon), std::stoi(hostport.substr(colon + 1)));
  Fd s = tcp();
  REQUIRE(connect(s, sa(at), sizeof(at)) == 0);
  std::string req = "GET /api/v1/stats HTTP/1.0\r\nHost: localhost\r\n\r\n";
  REQUIRE(send(s, req.data(), req.size(), 0) == ssize_t(req.size()));
  std::string resp;
  char buf[65536];
  for (ssize_t r; (r = recv(s, buf, sizeof(buf), 0)) > 0;) resp.append(buf, size_t(r));
  size_t body = resp.find("\r\n\r\n");
  REQUIRE(body != std::string::npos);
  auto j = nlohmann::json::parse(resp.substr(body + 4));
  return j.at("stages").at("ip").at("counters");
}

}  // namespace

// =====================================================================
// Routing
// =====================================================================

TEST_CASE("a connect to the stack's subnet is an Oryx socket on a real descriptor", "[routing]") {
  Fd s = tcp(SOCK_CLOEXEC);
  int fd = s;
  CHECK(fd < FD_SETSIZE);
  sockaddr_in to = v4(S().peer, S().echo);
  REQUIRE(connect(s, sa(to), sizeof(to)) == 0);
  sockaddr_in me = name_of(s);
  CHECK(ip_of(me) == S().self);
  CHECK(ntohs(me.sin_port) != 0);
  CHECK(ip_of(peer_of(s)) == S().peer);
  CHECK(ntohs(peer_of(s).sin_port) == S().echo);
  // Served by Oryx: the kernel has no socket with that local address.
  CHECK_FALSE(kernel_table_has("tcp", me));

  // The number is a real kernel descriptor with its own flags.
  CHECK(fcntl(s, F_GETFD) == FD_CLOEXEC);
  REQUIRE(fcntl(s, F_SETFD, 0) == 0);
  CHECK(fcntl(s, F_GETFD) == 0);
  struct stat st {};
  REQUIRE(fstat(s, &st) == 0);
  CHECK(S_ISSOCK(st.st_mode));
  CHECK((fcntl(s, F_GETFL) & O_ACCMODE) == O_RDWR);

  // Data flows, and select works on the number.
  REQUIRE(write(s, "hello", 5) == 5);
  fd_set r;
  FD_ZERO(&r);
  FD_SET(fd, &r);
  timeval tv{3, 0};
  REQUIRE(select(fd + 1, &r, nullptr, nullptr, &tv) == 1);
  CHECK(FD_ISSET(fd, &r));
  CHECK(read_n(s, 5) == "hello");
  iovec iov[2] = {{const_cast<char*>("ab"), 2}, {const_cast<char*>("cde"), 3}};
  REQUIRE(writev(s, iov, 2) == 5);
  CHECK(read_n(s, 5) == "abcde");

  SECTION("bound to the stack's address first") {
    Fd b = tcp();
    sockaddr_in at = v4(S().self, 0);
    REQUIRE(bind(b, sa(at), sizeof(at)) == 0);
    sockaddr_in bound = name_of(b);
    CHECK(ip_of(bound) == S().self);
    CHECK(ntohs(bound.sin_port) != 0);
    REQUIRE(connect(b, sa(to), sizeof(to)) == 0);
    CHECK(name_of(b).sin_port == bound.sin_port);
    CHECK_FALSE(kernel_table_has("tcp", bound));
    REQUIRE(send(b, "x", 1, 0) == 1);
    CHECK(read_n(b, 1) == "x");
  }
}

TEST_CASE("127.0.0.1 stays with the kernel", "[routing]") {
  Loopback lb = loopback();
  sockaddr_in at = name_of(lb.listener);
  CHECK(ip_of(at) == "127.0.0.1");
  CHECK(kernel_table_has("tcp", at));  // the kernel's own socket
  CHECK(kernel_table_has("tcp", name_of(lb.a)));
  REQUIRE(send(lb.a, "ping", 4, 0) == 4);
  CHECK(read_n(lb.b, 4) == "ping");

  SECTION("UDP") {
    Fd u(socket(AF_INET, SOCK_DGRAM, 0)), v(socket(AF_INET, SOCK_DGRAM, 0));
    sockaddr_in lo = v4("127.0.0.1", 0);
    REQUIRE(bind(u, sa(lo), sizeof(lo)) == 0);
    sockaddr_in uat = name_of(u);
    CHECK(kernel_table_has("udp", uat));
    REQUIRE(sendto(v, "d", 1, 0, sa(uat), sizeof(uat)) == 1);
    CHECK(ip_of(name_of(v)) == "0.0.0.0");  // sendto binds to the wildcard
    CHECK(kernel_table_has("udp", name_of(v)));
    CHECK(read_n(u, 1) == "d");
  }
}

TEST_CASE("UDP to the stack's subnet goes through Oryx", "[routing]") {
  Fd u(socket(AF_INET, SOCK_DGRAM, 0));
  REQUIRE(u >= 0);
  sockaddr_in to = v4(S().peer, S().echo);
  REQUIRE(sendto(u, "udp!", 4, 0, sa(to), sizeof(to)) == 4);
  // As on Linux the send bound the socket to the wildcard and a port; the
  // kernel has no socket there: the stack bound it.
  sockaddr_in me = name_of(u);
  CHECK(ip_of(me) == "0.0.0.0");
  CHECK(ntohs(me.sin_port) != 0);
  CHECK_FALSE(kernel_table_has("udp", me));
  pollfd p{u, POLLIN, 0};
  REQUIRE(poll(&p, 1, 3000) == 1);
  char buf[16];
  sockaddr_in from{};
  socklen_t len = sizeof(from);
  REQUIRE(recvfrom(u, buf, sizeof(buf), 0, sa(from), &len) == 4);
  CHECK(std::string(buf, 4) == "udp!");
  CHECK(ip_of(from) == S().peer);
  CHECK(ntohs(from.sin_port) == S().echo);
}

TEST_CASE("MSG_FASTOPEN to the stack's subnet is answered by Oryx, not sent by the kernel", "[routing]") {
  Fd t(socket(AF_INET, SOCK_STREAM, 0));
  REQUIRE(t >= 0);
  sockaddr_in to = v4(S().peer, S().echo);
  // lwIP has no TCP Fast Open: Linux's answer with its client side off.
  // (The kernel placeholder would have tried the connect itself.)
  errno = 0;
  CHECK(sendto(t, "tfo!", 4, MSG_FASTOPEN, sa(to), sizeof(to)) == -1);
  CHECK(errno == EOPNOTSUPP);
  // The socket is Oryx's now: a plain connect and send reach the peer.
  REQUIRE(connect(t, sa(to), sizeof(to)) == 0);
  CHECK_FALSE(kernel_table_has("tcp", name_of(t)));
  REQUIRE(send(t, "tfo!", 4, 0) == 4);
  char buf[4];
  REQUIRE(recv(t, buf, sizeof(buf), MSG_WAITALL) == 4);
  CHECK(std::string(buf, 4) == "tfo!");
}

TEST_CASE("an option Linux took before the socket went to Oryx still connects, and is logged", "[routing]") {
  Fd t(socket(AF_INET, SOCK_STREAM, 0));
  REQUIRE(t >= 0);
  int on = 1;
  // Undecided yet: Linux's answer. The socket layer has no IP_RECVERR, so
  // the replay at connect fails; tests/e2e/preload_semantics.sh finds the
  // log line that says so.
  REQUIRE(setsockopt(t, IPPROTO_IP, IP_RECVERR, &on, sizeof(on)) == 0);
  sockaddr_in to = v4(S().peer, S().echo);
  REQUIRE(connect(t, sa(to), sizeof(to)) == 0);
  CHECK_FALSE(kernel_table_has("tcp", name_of(t)));
}

TEST_CASE("pipes, eventfd and AF_UNIX sockets are left to the kernel", "[routing]") {
  { Fd warm = connect_peer(S().echo); }  // the stack runs in this process

  auto [pr, pw] = kernel_pipe(O_CLOEXEC);
  REQUIRE(write(pw, "abc", 3) == 3);
  char buf[8];
  REQUIRE(read(pr, buf, sizeof(buf)) == 3);
  REQUIRE(fcntl(pr, F_SETFL, O_NONBLOCK) == 0);
  CHECK(call([&] { return read(pr, buf, 1); }) == -EAGAIN);
  Fd dp(dup(pr));
  REQUIRE(write(pw, "z", 1) == 1);
  CHECK(read(dp, buf, 1) == 1);

  Fd efd(eventfd(5, EFD_NONBLOCK));
  REQUIRE(efd >= 0);
  uint64_t v = 0;
  REQUIRE(read(efd, &v, sizeof(v)) == 8);
  CHECK(v == 5);
  CHECK(call([&] { return read(efd, &v, sizeof(v)); }) == -EAGAIN);
  v = 7;
  REQUIRE(write(efd, &v, sizeof(v)) == 8);

  int sv[2];
  REQUIRE(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
  Fd ua(sv[0]), ub(sv[1]);
  REQUIRE(send(ua, "unix", 4, 0) == 4);
  CHECK(read_n(ub, 4) == "unix");
  sockaddr_un name{};
  socklen_t nlen = sizeof(name);
  REQUIRE(getsockname(ua, reinterpret_cast<sockaddr*>(&name), &nlen) == 0);
  CHECK(name.sun_family == AF_UNIX);

  // An abstract AF_UNIX datagram socket, bound and connected.
  Fd d1(socket(AF_UNIX, SOCK_DGRAM, 0)), d2(socket(AF_UNIX, SOCK_DGRAM, 0));
  sockaddr_un at{};
  at.sun_family = AF_UNIX;
  std::string path = "oryx-shim-test-" + std::to_string(getpid());
  std::memcpy(at.sun_path + 1, path.data(), path.size());
  socklen_t alen = socklen_t(offsetof(sockaddr_un, sun_path) + 1 + path.size());
  REQUIRE(bind(d1, reinterpret_cast<sockaddr*>(&at), alen) == 0);
  REQUIRE(connect(d2, reinterpret_cast<sockaddr*>(&at), alen) == 0);
  REQUIRE(send(d2, "dg", 2, 0) == 2);
  CHECK(read_n(d1, 2) == "dg");

  // All of them in one poll and one epoll set, with nothing of Oryx's.
  REQUIRE(send(ua, "!", 1, 0) == 1);
  pollfd fds[3] = {{pr, POLLIN, 0}, {efd, POLLIN, 0}, {ub, POLLIN, 0}};
  CHECK(poll(fds, 3, 1000) == 2);
  CHECK(fds[0].revents == 0);
  CHECK(fds[1].revents == POLLIN);
  CHECK(fds[2].revents == POLLIN);
  Fd ep(epoll_create1(0));
  ep_add(ep, pr, EPOLLIN, 1);
  ep_add(ep, efd, EPOLLIN, 2);
  ep_add(ep, ub, EPOLLIN, 3);
  auto ev = ep_wait(ep, 1000);
  std::set<uint64_t> got;
  for (auto& e : ev) got.insert(e.data.u64);
  CHECK(got == std::set<uint64_t>{2, 3});
}

TEST_CASE("dup, dup2, dup3 and F_DUPFD share an Oryx socket until the last copy closes", "[routing][dup]") {
  const int port = 5501;
  sockaddr_in at = v4(S().self, port);
  auto bind_again = [&] {
    Fd t = tcp();
    return call([&] { return bind(t, sa(at), sizeof(at)); });
  };

  SECTION("a listener") {
    Fd l = listen_self(port);
    CHECK(bind_again() == -EADDRINUSE);
    int d1 = dup(l);
    REQUIRE(d1 >= 0);
    l.reset();
    CHECK(bind_again() == -EADDRINUSE);  // still open through d1
    CHECK(ntohs(name_of(d1).sin_port) == port);
    REQUIRE(dup2(d1, 200) == 200);
    REQUIRE(close(d1) == 0);
    CHECK(bind_again() == -EADDRINUSE);
    int d3 = fcntl(200, F_DUPFD_CLOEXEC, 300);
    REQUIRE(d3 >= 300);
    CHECK(fcntl(d3, F_GETFD) == FD_CLOEXEC);
    CHECK(fcntl(200, F_GETFD) == 0);
    REQUIRE(close(200) == 0);
    CHECK(bind_again() == -EADDRINUSE);
    REQUIRE(dup3(d3, 400, O_CLOEXEC) == 400);
    CHECK(fcntl(400, F_GETFD) == FD_CLOEXEC);
    REQUIRE(close(d3) == 0);
    CHECK(bind_again() == -EADDRINUSE);
    int accept_conn = 1;
    socklen_t len = sizeof(accept_conn);
    REQUIRE(getsockopt(400, SOL_SOCKET, SO_ACCEPTCONN, &accept_conn, &len) == 0);
    CHECK(accept_conn == 1);
    REQUIRE(close(400) == 0);
    CHECK(bind_again() == 0);  // the last copy closed the listener
  }

  SECTION("accepting through a copy") {
    Fd l = listen_self(port + 1);
    Fd d(dup(l));
    l.reset();
    Conn ctl = oryx_conn();
    say(ctl.fd, "dial " + std::to_string(port + 1) + " 4");
    pollfd p{d, POLLIN, 0};
    REQUIRE(poll(&p, 1, 3000) == 1);
    sockaddr_in from{};
    socklen_t len = sizeof(from);
    Fd a(accept(d, sa(from), &len));
    REQUIRE(a >= 0);
    CHECK(ip_of(from) == S().peer);
    CHECK(read_n(a, 5) == "yyyy");  // then EOF
  }

  SECTION("a connection, with shared status flags") {
    Fd c = connect_peer(S().echo);
    Fd d(dup(c));
    REQUIRE(d >= 0);
    sockaddr_in before = name_of(c);
    c.reset();
    CHECK(name_of(d).sin_port == before.sin_port);
    REQUIRE(send(d, "dup", 3, 0) == 3);
    CHECK(read_n(d, 3) == "dup");
    Fd d2(fcntl(d, F_DUPFD, 0));
    REQUIRE(d2 >= 0);
    REQUIRE(fcntl(d, F_SETFL, fcntl(d, F_GETFL) | O_NONBLOCK) == 0);
    CHECK((fcntl(d2, F_GETFL) & O_NONBLOCK) != 0);  // one open file description
    char ch;
    CHECK(call([&] { return recv(d2, &ch, 1, 0); }) == -EAGAIN);
    REQUIRE(send(d2, "2", 1, 0) == 1);
    CHECK(read_n(d, 1) == "2");
  }

  SECTION("dup2 over an Oryx socket closes it") {
    Fd l = listen_self(port + 2);
    auto [pr, pw] = kernel_pipe();
    REQUIRE(dup2(pr, l) == l);
    sockaddr_in at2 = v4(S().self, port + 2);
    Fd t = tcp();
    CHECK(bind(t, sa(at2), sizeof(at2)) == 0);  // the listener is gone
    REQUIRE(write(pw, "z", 1) == 1);
    char ch = 0;
    CHECK(read(l, &ch, 1) == 1);  // and the number is the pipe now
    CHECK(ch == 'z');
  }
}

// =====================================================================
// epoll
// =====================================================================

TEST_CASE("epoll, level-triggered: reported until drained", "[epoll]") {
  Conn c = oryx_conn();
  Fd ep(epoll_create1(0));
  ep_add(ep, c.fd, EPOLLIN, 11);
  CHECK(ep_wait(ep, 0).empty());
  c.far->send(10);
  auto ev = ep_wait(ep, 3000);
  REQUIRE(ev.size() == 1);
  CHECK(ev[0].events == EPOLLIN);
  CHECK(ev[0].data.u64 == 11);
  for (int i = 0; i < 3; i++) CHECK(ep_wait(ep, 0).size() == 1);  // not read: again and again
  char buf[16];
  REQUIRE(recv(c.fd, buf, 4, 0) == 4);
  CHECK(ep_wait(ep, 0).size() == 1);  // 6 bytes left
  REQUIRE(recv(c.fd, buf, sizeof(buf), 0) == 6);
  CHECK(ep_wait(ep, 200).empty());  // drained
  c.far->send(1);
  CHECK(ep_wait(ep, 3000).size() == 1);
}

TEST_CASE("epoll, edge-triggered and EPOLLRDHUP/EPOLLHUP: the same as Linux", "[epoll]") {
  SECTION("edge-triggered: once per arrival") {
    Conn k = kernel_conn(), o = oryx_conn();
    Seen linux_ = half_close_edge(k);
    same_as_linux(linux_, half_close_edge(o));
    // And what Linux does, spelled out.
    CHECK(linux_["first arrival: events"] == 1);
    CHECK(linux_["nothing new: events"] == 0);  // not again without new data
    CHECK(linux_["second arrival, first not read: events"] == 1);
  }
  SECTION("the peer half-closes, level-triggered") {
    Conn k = kernel_conn(), o = oryx_conn();
    same_as_linux(half_close_level(k), half_close_level(o));
  }
  SECTION("the peer closes, our write draws its RST") {
    Conn k = kernel_conn(), o = oryx_conn();
    same_as_linux(write_after_peer_close(k), write_after_peer_close(o));
  }
  SECTION("the peer resets") {
    Conn k = kernel_conn(), o = oryx_conn();
    same_as_linux(reset_by_peer(k), reset_by_peer(o));
  }
}

TEST_CASE("epoll, EPOLLONESHOT: disarmed until EPOLL_CTL_MOD", "[epoll]") {
  Conn c = oryx_conn();
  Fd ep(epoll_create1(0));
  ep_add(ep, c.fd, EPOLLIN | EPOLLONESHOT, 5);
  c.far->send(1);
  auto ev = ep_wait(ep, 3000);
  REQUIRE(ev.size() == 1);
  CHECK(ev[0].data.u64 == 5);
  CHECK(ep_wait(ep, 150).empty());  // data still there, but disarmed
  c.far->send(1);
  CHECK(ep_wait(ep, 300).empty());  // new data: still disarmed
  CHECK(ep_ctl(ep, EPOLL_CTL_ADD, c.fd, EPOLLIN) == -EEXIST);  // still registered
  REQUIRE(ep_ctl(ep, EPOLL_CTL_MOD, c.fd, EPOLLIN | EPOLLONESHOT, 6) == 0);
  ev = ep_wait(ep, 1000);
  REQUIRE(ev.size() == 1);  // re-armed, and ready at once
  CHECK(ev[0].data.u64 == 6);
  CHECK(ev[0].events == EPOLLIN);
  CHECK(ep_wait(ep, 150).empty());
  CHECK(read_n(c.fd, 2) == "xx");
  REQUIRE(ep_ctl(ep, EPOLL_CTL_MOD, c.fd, EPOLLIN | EPOLLONESHOT, 7) == 0);
  CHECK(ep_wait(ep, 150).empty());  // armed, nothing to read
  c.far->send(1);
  ev = ep_wait(ep, 3000);
  REQUIRE(ev.size() == 1);
  CHECK(ev[0].data.u64 == 7);
  REQUIRE(ep_ctl(ep, EPOLL_CTL_DEL, c.fd, 0) == 0);
  CHECK(ep_wait(ep, 0).empty());
}

TEST_CASE("epoll returns data verbatim", "[epoll]") {
  Conn c = oryx_conn();
  auto [pr, pw] = kernel_pipe();
  Loopback lb = loopback();
  const uint64_t values[] = {0xdeadbeefcafef00dull, ~0ull, 0ull};
  for (uint64_t oryx_value : values) {
    uint64_t pipe_value = ~oryx_value, kernel_value = oryx_value ^ 0x5555;
    Fd ep(epoll_create1(0));
    ep_add(ep, c.fd, EPOLLIN, oryx_value);
    ep_add(ep, pr, EPOLLIN, pipe_value);
    ep_add(ep, lb.a, EPOLLIN, kernel_value);
    c.far->send(1);
    REQUIRE(write(pw, "p", 1) == 1);
    REQUIRE(send(lb.b, "k", 1, 0) == 1);
    REQUIRE(ep_wait_for(ep, EPOLLIN) != 0);
    auto t0 = Clock::now();
    std::multiset<uint64_t> got;
    while (got.size() < 3 && ms_since(t0) < 3000) {
      got.clear();
      for (auto& e : ep_wait(ep, 100)) got.insert(e.data.u64);
    }
    CHECK(got == std::multiset<uint64_t>{oryx_value, pipe_value, kernel_value});
    CHECK(read_n(c.fd, 1) == "x");
    char ch;
    REQUIRE(read(pr, &ch, 1) == 1);
    REQUIRE(recv(lb.a, &ch, 1, 0) == 1);
  }
  SECTION("a value the library might use for itself") {
    // Any u64 is the application's: the library's own wake-up must not
    // swallow a kernel descriptor's event that carries the same value.
    Fd ep(epoll_create1(0));
    ep_add(ep, c.fd, EPOLLIN, 1);
    const uint64_t candidates[] = {0x6f72797877616b65ull /* "oryxwake" */, 1ull << 63, 0x8000};
    for (uint64_t v : candidates) {
      epoll_event e{};
      e.events = EPOLLIN;
      e.data.u64 = v;
      REQUIRE(epoll_ctl(ep, EPOLL_CTL_ADD, pr, &e) == 0);
      REQUIRE(write(pw, "p", 1) == 1);
      auto ev = ep_wait(ep, 1000);
      INFO("data.u64 = 0x" << std::hex << v);
      REQUIRE(ev.size() == 1);
      CHECK(ev[0].data.u64 == v);
      char ch;
      REQUIRE(read(pr, &ch, 1) == 1);
      REQUIRE(epoll_ctl(ep, EPOLL_CTL_DEL, pr, nullptr) == 0);
    }
  }
}

TEST_CASE("epoll over a pipe, an Oryx socket and a kernel socket at once", "[epoll]") {
  Conn c = oryx_conn();
  auto [pr, pw] = kernel_pipe();
  Loopback lb = loopback();
  Fd ep(epoll_create1(0));
  ep_add(ep, c.fd, EPOLLIN, 1);
  ep_add(ep, pr, EPOLLIN, 2);
  ep_add(ep, lb.a, EPOLLIN, 3);
  CHECK(ep_wait(ep, 100).empty());

  // One at a time, each wakes a blocked epoll_wait.
  REQUIRE(write(pw, "p", 1) == 1);
  auto ev = ep_wait(ep, 3000);
  REQUIRE(ev.size() == 1);
  CHECK(ev[0].data.u64 == 2);
  c.far->send(1);
  auto t0 = Clock::now();
  std::set<uint64_t> got;
  while (got.size() < 2 && ms_since(t0) < 3000) {
    got.clear();
    for (auto& e : ep_wait(ep, 100)) got.insert(e.data.u64);
  }
  CHECK(got == std::set<uint64_t>{1, 2});
  REQUIRE(send(lb.b, "k", 1, 0) == 1);
  ev = ep_wait(ep, 1000);
  got.clear();
  for (auto& e : ev) got.insert(e.data.u64);
  CHECK(got == std::set<uint64_t>{1, 2, 3});
  for (auto& e : ev) CHECK(e.events == EPOLLIN);

  SECTION("with room for one event per call, every ready descriptor gets its turn") {
    // Linux moves a reported level-triggered entry to the back of the
    // ready list; three ready descriptors come out in three calls.
    std::multiset<uint64_t> seen;
    for (int i = 0; i < 3; i++) {
      auto one = ep_wait(ep, 1000, 1);
      REQUIRE(one.size() == 1);
      seen.insert(one[0].data.u64);
    }
    CHECK(seen == std::multiset<uint64_t>{1, 2, 3});
  }
  SECTION("a blocked epoll_wait is woken by the stack") {
    CHECK(read_n(c.fd, 1) == "x");
    char ch;
    REQUIRE(read(pr, &ch, 1) == 1);
    REQUIRE(recv(lb.a, &ch, 1, 0) == 1);
    CHECK(ep_wait(ep, 100).empty());
    say(c.fd, "send 1");
    t0 = Clock::now();
    ev = ep_wait(ep, 5000);
    CHECK(ms_since(t0) < 2000);
    REQUIRE(ev.size() == 1);
    CHECK(ev[0].data.u64 == 1);
  }
}

TEST_CASE("epoll_wait honours its timeout", "[epoll][timeout]") {
  Conn c = oryx_conn();
  auto [pr, pw] = kernel_pipe();
  Fd ep(epoll_create1(0));
  ep_add(ep, c.fd, EPOLLIN, 1);
  ep_add(ep, pr, EPOLLIN, 2);
  epoll_event ev[4];
  auto t0 = Clock::now();
  CHECK(epoll_wait(ep, ev, 4, 0) == 0);
  CHECK(ms_since(t0) < 500);  // at once (generous: the machine may be busy)
  for (int ms : {30, 250}) {
    t0 = Clock::now();
    CHECK(epoll_wait(ep, ev, 4, ms) == 0);
    long took = ms_since(t0);
    CHECK(took >= ms - 1);
    CHECK(took < ms + 1000);
  }
  // Infinite timeout, data arriving.
  c.far->send(1);
  t0 = Clock::now();
  CHECK(epoll_wait(ep, ev, 4, -1) == 1);
  CHECK(ms_since(t0) < 3000);
  CHECK(ev[0].data.u64 == 1);
  // Invalid arguments, as Linux.
  CHECK(call([&] { return epoll_wait(ep, ev, 0, 0); }) == -EINVAL);
  volatile int negative = -1;  // (a literal draws a compiler warning)
  CHECK(call([&] { return epoll_wait(ep, ev, negative, 0); }) == -EINVAL);
  CHECK(call([&] { return epoll_wait(pr, ev, 4, 0); }) == -EINVAL);  // not an epoll fd
}

TEST_CASE("epoll_wait, poll and select return EINTR when a signal interrupts them", "[epoll][signal]") {
  Usr1Handler handler;
  Conn c = oryx_conn();
  auto [pr, pw] = kernel_pipe();
  Fd ep(epoll_create1(0));
  ep_add(ep, c.fd, EPOLLIN, 1);
  ep_add(ep, pr, EPOLLIN, 2);

  auto interrupted = [&](const char* what, auto&& blocking_call) {
    INFO(what);
    int before = g_signals.load();
    std::thread t = signal_me_after(100);
    auto t0 = Clock::now();
    long r = call(blocking_call);
    long took = ms_since(t0);
    t.join();
    CHECK(r == -EINTR);
    CHECK(took >= 90);
    CHECK(took < 2000);
    CHECK(g_signals.load() == before + 1);
  };
  epoll_event ev[4];
  interrupted("epoll_wait", [&] { return epoll_wait(ep, ev, 4, 5000); });
  interrupted("epoll_wait, no timeout", [&] { return epoll_wait(ep, ev, 4, -1); });
  interrupted("epoll_pwait", [&] { return epoll_pwait(ep, ev, 4, 5000, nullptr); });
  pollfd pf[2] = {{c.fd, POLLIN, 0}, {pr, POLLIN, 0}};
  interrupted("poll", [&] { return poll(pf, 2, 5000); });
  interrupted("poll, no timeout", [&] { return poll(pf, 2, -1); });
  timespec ts{5, 0};
  interrupted("ppoll", [&] { return ppoll(pf, 2, &ts, nullptr); });
  interrupted("select", [&] {
    fd_set r;
    FD_ZERO(&r);
    FD_SET(int(c.fd), &r);
    FD_SET(int(pr), &r);
    timeval tv{5, 0};
    return select(std::max<int>(c.fd, pr) + 1, &r, nullptr, nullptr, &tv);
  });

  SECTION("epoll_pwait's signal mask holds the signal off during the wait") {
    sigset_t block;
    sigemptyset(&block);
    sigaddset(&block, SIGUSR1);
    int before = g_signals.load();
    std::thread t = signal_me_after(50);
    auto t0 = Clock::now();
    int r = epoll_pwait(ep, ev, 4, 300, &block);
    long took = ms_since(t0);
    t.join();
    CHECK(r == 0);
    CHECK(took >= 299);
    // Delivered once the call restored the mask, not during it.
    for (int i = 0; i < 100 && g_signals.load() == before; i++)
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    CHECK(g_signals.load() == before + 1);
  }
}

TEST_CASE("one Oryx socket in two epoll instances", "[epoll]") {
  Conn c = oryx_conn();
  Fd level(epoll_create1(0)), edge(epoll_create1(0));
  ep_add(level, c.fd, EPOLLIN, 1);
  ep_add(edge, c.fd, EPOLLIN | EPOLLET, 2);
  c.far->send(1);
  auto ev = ep_wait(level, 3000);
  REQUIRE(ev.size() == 1);
  CHECK(ev[0].data.u64 == 1);
  ev = ep_wait(edge, 3000);
  REQUIRE(ev.size() == 1);
  CHECK(ev[0].data.u64 == 2);
  auto extra = ep_wait(edge, 150);
  INFO("spurious edge events 0x" << std::hex << (extra.empty() ? 0u : extra[0].events));
  CHECK(extra.empty());
  CHECK(ep_wait(level, 0).size() == 1);
  c.far->send(1);
  CHECK(ep_wait(edge, 3000).size() == 1);
  // Removing it from one leaves the other.
  REQUIRE(ep_ctl(level, EPOLL_CTL_DEL, c.fd, 0) == 0);
  CHECK(ep_wait(level, 100).empty());
  c.far->send(1);
  CHECK(ep_wait(edge, 3000).size() == 1);
  REQUIRE(ep_ctl(level, EPOLL_CTL_ADD, c.fd, EPOLLIN, 3) == 0);
  CHECK(ep_wait(level, 1000).size() == 1);
  // Closing the socket's only descriptor takes it out of both.
  c.fd.reset();
  CHECK(ep_wait(level, 150).empty());
  CHECK(ep_wait(edge, 150).empty());
}

TEST_CASE("epoll_ctl errors are Linux's", "[epoll][badinput]") {
  Conn c = oryx_conn();
  auto [pr, pw] = kernel_pipe();
  Fd ep(epoll_create1(0));
  // The same checks on the pipe (the kernel's answers) and the Oryx socket.
  for (int fd : {int(pr), int(c.fd)}) {
    INFO((fd == pr ? "pipe" : "Oryx socket"));
    CHECK(ep_ctl(ep, EPOLL_CTL_MOD, fd, EPOLLIN) == -ENOENT);
    CHECK(ep_ctl(ep, EPOLL_CTL_DEL, fd, 0) == -ENOENT);
    CHECK(ep_ctl(ep, EPOLL_CTL_ADD, fd, EPOLLIN) == 0);
    CHECK(ep_ctl(ep, EPOLL_CTL_ADD, fd, EPOLLIN) == -EEXIST);
    CHECK(ep_ctl(ep, EPOLL_CTL_MOD, fd, EPOLLIN | EPOLLEXCLUSIVE) == -EINVAL);
    CHECK(ep_ctl(ep, 99, fd, EPOLLIN) == -EINVAL);
    CHECK(call([&] { return epoll_ctl(ep, EPOLL_CTL_MOD, fd, nullptr); }) == -EFAULT);
    CHECK(ep_ctl(ep, EPOLL_CTL_DEL, fd, 0) == 0);
    CHECK(ep_ctl(ep, EPOLL_CTL_DEL, fd, 0) == -ENOENT);
    // EPOLLEXCLUSIVE: only with IN/OUT/ERR/HUP/WAKEUP/ET, never modified.
    CHECK(ep_ctl(ep, EPOLL_CTL_ADD, fd, EPOLLIN | EPOLLEXCLUSIVE | EPOLLONESHOT) == -EINVAL);
    CHECK(ep_ctl(ep, EPOLL_CTL_ADD, fd, EPOLLIN | EPOLLEXCLUSIVE | EPOLLRDHUP) == -EINVAL);
    CHECK(ep_ctl(ep, EPOLL_CTL_ADD, fd, EPOLLIN | EPOLLEXCLUSIVE) == 0);
    CHECK(ep_ctl(ep, EPOLL_CTL_MOD, fd, EPOLLIN) == -EINVAL);
    CHECK(ep_ctl(ep, EPOLL_CTL_DEL, fd, 0) == 0);
    // Other epoll descriptors, and non-epoll ones.
    CHECK(ep_ctl(pw, EPOLL_CTL_ADD, fd, EPOLLIN) == -EINVAL);  // not an epoll fd
    CHECK(ep_ctl(ep, EPOLL_CTL_ADD, ep, EPOLLIN) == -EINVAL);  // itself
    // A dup'ed number is a registration of its own (Linux keys by
    // file and number).
    Fd d(dup(fd));
    CHECK(ep_ctl(ep, EPOLL_CTL_ADD, fd, EPOLLIN, 1) == 0);
    CHECK(ep_ctl(ep, EPOLL_CTL_MOD, d, EPOLLIN, 2) == -ENOENT);
    CHECK(ep_ctl(ep, EPOLL_CTL_ADD, d, EPOLLIN, 2) == 0);
    if (fd == pr)
      REQUIRE(write(pw, "p", 1) == 1);
    else
      c.far->send(1);
    REQUIRE(ep_wait_for(ep, EPOLLIN) != 0);
    std::set<uint64_t> got;
    for (auto& e : ep_wait(ep, 100)) got.insert(e.data.u64);
    CHECK(got == std::set<uint64_t>{1, 2});
    CHECK(ep_ctl(ep, EPOLL_CTL_DEL, d, 0) == 0);
    CHECK(ep_ctl(ep, EPOLL_CTL_DEL, fd, 0) == 0);
    REQUIRE(read_n(fd, 1).size() == 1);
  }
  // A closed descriptor, and a closed epoll descriptor.
  int closed = dup(pw);
  REQUIRE(close(closed) == 0);
  CHECK(ep_ctl(ep, EPOLL_CTL_ADD, closed, EPOLLIN) == -EBADF);
  CHECK(ep_ctl(closed, EPOLL_CTL_ADD, c.fd, EPOLLIN) == -EBADF);
  epoll_event ev[1];
  CHECK(call([&] { return epoll_wait(closed, ev, 1, 0); }) == -EBADF);
}

TEST_CASE("a listener is readable when a connection waits; accept4 flags", "[epoll][nonblock]") {
  const int port = 5510;
  Fd l = listen_self(port);
  REQUIRE(fcntl(l, F_SETFL, O_NONBLOCK) == 0);
  CHECK(call([&] { return accept(l, nullptr, nullptr); }) == -EAGAIN);
  Fd ep(epoll_create1(0));
  ep_add(ep, l, EPOLLIN, 9);
  CHECK(ep_wait(ep, 0).empty());
  Conn ctl = oryx_conn();
  say(ctl.fd, "dial " + std::to_string(port) + " 3");
  auto ev = ep_wait(ep, 3000);
  REQUIRE(ev.size() == 1);
  CHECK(ev[0].events == EPOLLIN);
  CHECK(ev[0].data.u64 == 9);
  sockaddr_in from{};
  socklen_t len = sizeof(from);
  Fd a(accept4(l, sa(from), &len, SOCK_NONBLOCK | SOCK_CLOEXEC));
  REQUIRE(a >= 0);
  CHECK(len == sizeof(sockaddr_in));
  CHECK(ip_of(from) == S().peer);
  CHECK((fcntl(a, F_GETFL) & O_NONBLOCK) != 0);
  CHECK(fcntl(a, F_GETFD) == FD_CLOEXEC);
  CHECK(ip_of(name_of(a)) == S().self);
  CHECK(ntohs(name_of(a).sin_port) == port);
  CHECK_FALSE(kernel_table_has("tcp", name_of(a)));
  CHECK(read_n(a, 4) == "yyy");
  CHECK(call([&] { return accept(l, nullptr, nullptr); }) == -EAGAIN);
  CHECK(ep_wait(ep, 0).empty());
  CHECK(call([&] { return accept4(l, nullptr, nullptr, 0x4000000); }) == -EINVAL);
}

// =====================================================================
// poll and select
// =====================================================================

TEST_CASE("poll over kernel descriptors and Oryx sockets", "[poll]") {
  Conn c = oryx_conn();
  Fd idle = connect_peer(S().echo);
  auto [pr, pw] = kernel_pipe();
  Loopback lb = loopback();
  int closed = dup(pw);
  REQUIRE(close(closed) == 0);

  pollfd fds[6] = {{pr, POLLIN, 0},   {c.fd, POLLIN, 0}, {lb.a, POLLIN, 0},
                   {idle, POLLIN | POLLOUT, 0}, {-1, POLLIN, 0}, {closed, POLLIN, 0}};
  // Nothing readable; the idle socket is writable, the closed number invalid.
  CHECK(poll(fds, 6, 0) == 2);
  CHECK(fds[0].revents == 0);
  CHECK(fds[1].revents == 0);
  CHECK(fds[2].revents == 0);
  CHECK(fds[3].revents == POLLOUT);
  CHECK(fds[4].revents == 0);
  CHECK(fds[5].revents == POLLNVAL);

  // Only the ones that cannot be ready: the timeout is honoured.
  pollfd waiting[3] = {{pr, POLLIN, 0}, {c.fd, POLLIN, 0}, {lb.a, POLLIN, 0}};
  for (int ms : {0, 40, 200}) {
    auto t0 = Clock::now();
    CHECK(poll(waiting, 3, ms) == 0);
    long took = ms_since(t0);
    CHECK(took >= ms - 1);
    CHECK(took < ms + 1000);
  }
  timespec ts{0, 100 * 1000 * 1000};
  auto t0 = Clock::now();
  CHECK(ppoll(waiting, 3, &ts, nullptr) == 0);
  CHECK(ms_since(t0) >= 99);

  // Each kind becomes ready; a blocked poll wakes for the Oryx socket.
  c.far->send(2);
  t0 = Clock::now();
  REQUIRE(poll(waiting, 3, 5000) == 1);
  CHECK(ms_since(t0) < 3000);
  CHECK(waiting[1].revents == POLLIN);
  REQUIRE(write(pw, "p", 1) == 1);
  REQUIRE(send(lb.b, "k", 1, 0) == 1);
  REQUIRE(poll(waiting, 3, 1000) == 3);
  for (auto& w : waiting) CHECK(w.revents == POLLIN);
  REQUIRE(poll(fds, 4, 1000) == 4);
  CHECK(fds[0].revents == POLLIN);
  CHECK(fds[1].revents == POLLIN);
  CHECK(fds[2].revents == POLLIN);
  CHECK(fds[3].revents == POLLOUT);

  // POLLRDNORM/POLLWRNORM as asked, nothing else.
  pollfd norm{c.fd, POLLRDNORM | POLLWRNORM, 0};
  REQUIRE(poll(&norm, 1, 0) == 1);
  pollfd knorm{lb.a, POLLRDNORM | POLLWRNORM, 0};
  REQUIRE(poll(&knorm, 1, 0) == 1);
  CHECK(norm.revents == knorm.revents);
}

TEST_CASE("select over kernel descriptors and Oryx sockets", "[select]") {
  Conn c = oryx_conn();
  Fd idle = connect_peer(S().echo);
  auto [pr, pw] = kernel_pipe();
  Loopback lb = loopback();
  int top = std::max({int(c.fd), int(idle), int(pr), int(lb.a)}) + 1;
  fd_set r, w;
  auto fill = [&] {
    FD_ZERO(&r);
    FD_ZERO(&w);
    for (int fd : {int(c.fd), int(idle), int(pr), int(lb.a)}) FD_SET(fd, &r);
    FD_SET(int(idle), &w);
  };

  fill();
  timeval tv{0, 0};
  CHECK(select(top, &r, &w, nullptr, &tv) == 1);
  CHECK(FD_ISSET(int(idle), &w));
  for (int fd : {int(c.fd), int(idle), int(pr), int(lb.a)}) CHECK_FALSE(FD_ISSET(fd, &r));

  SECTION("the timeout is honoured and updated as Linux updates it") {
    // Kernel descriptors only: what Linux does with the timeval.
    fd_set kr;
    FD_ZERO(&kr);
    FD_SET(int(pr), &kr);
    timeval ktv{0, 150000};
    REQUIRE(select(pr + 1, &kr, nullptr, nullptr, &ktv) == 0);
    // With Oryx sockets among them.
    fill();
    timeval otv{0, 150000};
    auto t0 = Clock::now();
    REQUIRE(select(top, &r, nullptr, nullptr, &otv) == 0);
    long took = ms_since(t0);
    CHECK(took >= 149);
    CHECK(took < 1150);
    CHECK(otv.tv_sec == ktv.tv_sec);
    CHECK(otv.tv_usec == ktv.tv_usec);
    for (int fd : {int(c.fd), int(idle), int(pr), int(lb.a)}) CHECK_FALSE(FD_ISSET(fd, &r));
  }
  SECTION("each kind reports, and a blocked select wakes for the Oryx socket") {
    c.far->send(1);
    fill();
    FD_ZERO(&w);
    timeval wait{5, 0};
    auto t0 = Clock::now();
    REQUIRE(select(top, &r, nullptr, nullptr, &wait) == 1);
    CHECK(ms_since(t0) < 3000);
    CHECK(FD_ISSET(int(c.fd), &r));
    REQUIRE(write(pw, "p", 1) == 1);
    REQUIRE(send(lb.b, "k", 1, 0) == 1);
    fill();
    wait = {1, 0};
    REQUIRE(select(top, &r, &w, nullptr, &wait) == 4);  // three readable, one writable
    CHECK(FD_ISSET(int(c.fd), &r));
    CHECK(FD_ISSET(int(pr), &r));
    CHECK(FD_ISSET(int(lb.a), &r));
    CHECK_FALSE(FD_ISSET(int(idle), &r));
    CHECK(FD_ISSET(int(idle), &w));
    fill();
    timespec zero{0, 0};
    CHECK(pselect(top, &r, &w, nullptr, &zero, nullptr) == 4);
  }
  SECTION("a closed descriptor is EBADF") {
    int closed = dup(pw);
    REQUIRE(close(closed) == 0);
    fd_set kr;
    FD_ZERO(&kr);
    FD_SET(closed, &kr);
    timeval z{0, 0};
    CHECK(call([&] { return select(closed + 1, &kr, nullptr, nullptr, &z); }) == -EBADF);
    fill();
    FD_SET(closed, &r);
    z = {0, 0};
    CHECK(call([&] { return select(std::max(top, closed + 1), &r, &w, nullptr, &z); }) == -EBADF);
  }
}

// =====================================================================
// Non-blocking calls, refused connections
// =====================================================================

TEST_CASE("non-blocking receive returns EAGAIN", "[nonblock]") {
  Fd s = tcp(SOCK_NONBLOCK);
  sockaddr_in to = v4(S().peer, S().echo);
  long r = call([&] { return connect(s, sa(to), sizeof(to)); });
  REQUIRE((r == 0 || r == -EINPROGRESS));
  pollfd p{s, POLLOUT, 0};
  REQUIRE(poll(&p, 1, 3000) == 1);
  char buf[8];
  CHECK(call([&] { return recv(s, buf, sizeof(buf), 0); }) == -EAGAIN);
  CHECK(call([&] { return read(s, buf, sizeof(buf)); }) == -EAGAIN);
  iovec iov{buf, sizeof(buf)};
  msghdr m{};
  m.msg_iov = &iov;
  m.msg_iovlen = 1;
  CHECK(call([&] { return recvmsg(s, &m, 0); }) == -EAGAIN);
  // Blocking again through fcntl: MSG_DONTWAIT still does not wait.
  REQUIRE(fcntl(s, F_SETFL, fcntl(s, F_GETFL) & ~O_NONBLOCK) == 0);
  CHECK((fcntl(s, F_GETFL) & O_NONBLOCK) == 0);
  CHECK(call([&] { return recv(s, buf, sizeof(buf), MSG_DONTWAIT); }) == -EAGAIN);
  int on = 1;
  REQUIRE(ioctl(s, FIONBIO, &on) == 0);
  CHECK((fcntl(s, F_GETFL) & O_NONBLOCK) != 0);
  CHECK(call([&] { return recv(s, buf, sizeof(buf), 0); }) == -EAGAIN);
  int avail = -1;
  REQUIRE(ioctl(s, FIONREAD, &avail) == 0);
  CHECK(avail == 0);
  REQUIRE(send(s, "abc", 3, 0) == 3);
  CHECK(read_n(s, 3) == "abc");
}

TEST_CASE("non-blocking connect: EINPROGRESS, then writable with SO_ERROR 0, as Linux", "[nonblock]") {
  Fd kl = tcp();
  sockaddr_in lo = v4("127.0.0.1", 0);
  REQUIRE(bind(kl, sa(lo), sizeof(lo)) == 0);
  REQUIRE(listen(kl, 16) == 0);
  Seen linux_ = nonblocking_connect(name_of(kl));
  Seen oryx = nonblocking_connect(v4(S().peer, S().echo));
  same_as_linux(linux_, oryx);
  CHECK(linux_["connect"] == -EINPROGRESS);
  CHECK(linux_["poll POLLOUT: revents"] == POLLOUT);
  CHECK(linux_["SO_ERROR"] == 0);
  CHECK(linux_["and again"] == -EISCONN);
}

TEST_CASE("connect to a closed port is refused, as Linux", "[nonblock]") {
  Seen linux_ = refused(closed_loopback_port());
  Seen oryx = refused(v4(S().peer, S().closed));
  same_as_linux(linux_, oryx);
  CHECK(linux_["blocking connect"] == -ECONNREFUSED);
  CHECK(linux_["non-blocking connect"] == -EINPROGRESS);
  CHECK(linux_["SO_ERROR"] == ECONNREFUSED);
  CHECK(linux_["SO_ERROR again"] == 0);
}

// =====================================================================
// Bad input
// =====================================================================

TEST_CASE("calls on a closed descriptor fail with EBADF", "[badinput]") {
  for (bool oryx : {false, true}) {
    INFO((oryx ? "Oryx socket" : "kernel socket"));
    Loopback lb;
    int fd;
    if (oryx) {
      fd = connect_peer(S().echo).release();
    } else {
      lb = loopback();
      fd = lb.a.release();
    }
    Fd ep(epoll_create1(0));  // before the close, so that it cannot take the number
    REQUIRE(close(fd) == 0);
    char buf[4];
    sockaddr_in a = v4(S().self, 0);
    socklen_t len = sizeof(a);
    int v = 1;
    socklen_t vlen = sizeof(v);
    iovec iov{buf, sizeof(buf)};
    msghdr m{};
    m.msg_iov = &iov;
    m.msg_iovlen = 1;
    CHECK(call([&] { return close(fd); }) == -EBADF);
    CHECK(call([&] { return send(fd, "a", 1, MSG_NOSIGNAL); }) == -EBADF);
    CHECK(call([&] { return write(fd, "a", 1); }) == -EBADF);
    CHECK(call([&] { return sendmsg(fd, &m, 0); }) == -EBADF);
    CHECK(call([&] { return recv(fd, buf, 1, MSG_DONTWAIT); }) == -EBADF);
    CHECK(call([&] { return read(fd, buf, 1); }) == -EBADF);
    CHECK(call([&] { return recvmsg(fd, &m, 0); }) == -EBADF);
    CHECK(call([&] { return getsockname(fd, sa(a), &len); }) == -EBADF);
    CHECK(call([&] { return getpeername(fd, sa(a), &len); }) == -EBADF);
    CHECK(call([&] { return setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &v, sizeof(v)); }) == -EBADF);
    CHECK(call([&] { return getsockopt(fd, SOL_SOCKET, SO_ERROR, &v, &vlen); }) == -EBADF);
    CHECK(call([&] { return shutdown(fd, SHUT_RDWR); }) == -EBADF);
    CHECK(call([&] { return bind(fd, sa(a), sizeof(a)); }) == -EBADF);
    CHECK(call([&] { return listen(fd, 1); }) == -EBADF);
    CHECK(call([&] { return accept(fd, nullptr, nullptr); }) == -EBADF);
    CHECK(call([&] { return connect(fd, sa(a), sizeof(a)); }) == -EBADF);
    CHECK(call([&] { return fcntl(fd, F_GETFL); }) == -EBADF);
    CHECK(call([&] { return fcntl(fd, F_GETFD); }) == -EBADF);
    CHECK(call([&] { return ioctl(fd, FIONREAD, &v); }) == -EBADF);
    CHECK(call([&] { return dup(fd); }) == -EBADF);
    CHECK(call([&] { return dup2(fd, 500); }) == -EBADF);
    CHECK(ep_ctl(ep, EPOLL_CTL_ADD, fd, EPOLLIN) == -EBADF);
    pollfd p{fd, POLLIN, 0};
    CHECK(poll(&p, 1, 0) == 1);
    CHECK(p.revents == POLLNVAL);
  }
}

TEST_CASE("bind with a wrong family or a short address fails as on Linux", "[badinput]") {
  SECTION("on a socket bound to the address already") {
    Fd k = tcp();
    sockaddr_in lo = v4("127.0.0.1", 0);
    REQUIRE(bind(k, sa(lo), sizeof(lo)) == 0);
    Fd o = tcp();
    sockaddr_in self = v4(S().self, 5520);
    REQUIRE(bind(o, sa(self), sizeof(self)) == 0);
    REQUIRE(ip_of(name_of(o)) == S().self);
    Seen linux_ = bad_binds(k, name_of(k));
    same_as_linux(linux_, bad_binds(o, self));
    CHECK(linux_["AF_INET6 address"] == -EAFNOSUPPORT);
    CHECK(linux_["8-byte address"] == -EINVAL);
  }
}

TEST_CASE("a fresh socket whose bind or connect failed can still go to Oryx", "[badinput][routing]") {
  SECTION("bind with a bad address, then the stack's address") {
    sockaddr_in6 six{};
    six.sin6_family = AF_INET6;
    six.sin6_addr = in6addr_loopback;
    sockaddr_in self = v4(S().self, 5521);
    Fd k = tcp();
    long k_family = call([&] { return bind(k, reinterpret_cast<sockaddr*>(&six), sizeof(six)); });
    long k_short = call([&] { return bind(k, sa(self), 8); });
    Fd o = tcp();
    CHECK(call([&] { return bind(o, reinterpret_cast<sockaddr*>(&six), sizeof(six)); }) == k_family);
    CHECK(call([&] { return bind(o, sa(self), 8); }) == k_short);
    CHECK(k_family == -EAFNOSUPPORT);
    CHECK(k_short == -EINVAL);
    // Linux leaves the socket as it was: the next, good bind works.
    // A failed kernel bind must not hand the socket to the kernel for good.
    CHECK(call([&] { return bind(o, sa(self), sizeof(self)); }) == 0);
    sockaddr_in me{};
    socklen_t len = sizeof(me);
    REQUIRE(getsockname(o, sa(me), &len) == 0);
    CHECK(ip_of(me) == S().self);
    CHECK(ntohs(me.sin_port) == 5521);
  }
  SECTION("connect refused by a kernel address, then to the stack's subnet") {
    sockaddr_in refused_at = closed_loopback_port();
    // Linux: a socket whose connect was refused may connect again.
    Fd kl = tcp();
    sockaddr_in lo = v4("127.0.0.1", 0);
    REQUIRE(bind(kl, sa(lo), sizeof(lo)) == 0);
    REQUIRE(listen(kl, 4) == 0);
    sockaddr_in kat = name_of(kl);
    Fd k = tcp();
    CHECK(call([&] { return connect(k, sa(refused_at), sizeof(refused_at)); }) == -ECONNREFUSED);
    CHECK(call([&] { return connect(k, sa(kat), sizeof(kat)); }) == 0);
    Fd o = tcp();
    timeval two{2, 0};  // bounds a connect that would wrongly go to the kernel
    REQUIRE(setsockopt(o, SOL_SOCKET, SO_SNDTIMEO, &two, sizeof(two)) == 0);
    CHECK(call([&] { return connect(o, sa(refused_at), sizeof(refused_at)); }) == -ECONNREFUSED);
    sockaddr_in to = v4(S().peer, S().echo);
    // A refused kernel connect must not hand the socket to the kernel for
    // good (the script makes the subnet unreachable for the kernel).
    CHECK(call([&] { return connect(o, sa(to), sizeof(to)); }) == 0);
    sockaddr_in me{};
    socklen_t len = sizeof(me);
    CHECK(getsockname(o, sa(me), &len) == 0);
    CHECK(ip_of(me) == S().self);
  }
}

TEST_CASE("unknown socket options and malformed values fail as on Linux", "[badinput]") {
  Loopback lb = loopback();
  Fd o = connect_peer(S().echo);
  Seen linux_ = bad_options(lb.a);
  same_as_linux(linux_, bad_options(o));
  CHECK(linux_["setsockopt level 1 option 9999"] == -ENOPROTOOPT);
  CHECK(linux_["getsockopt level 1 option 9999"] == -ENOPROTOOPT);
  CHECK(linux_["setsockopt level 6 option 9999"] == -ENOPROTOOPT);
}

TEST_CASE("10,000 connect/close cycles leak no descriptor and no connection", "[badinput][leak]") {
  { Fd warm = connect_peer(S().echo); }
  auto settled = [](const nlohmann::json& base) {
    auto t0 = Clock::now();
    nlohmann::json now;
    do {
      now = stack_counters();
      if (now.at("tcp_connections") == base.at("tcp_connections") && now.at("sockets") == base.at("sockets"))
        break;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    } while (ms_since(t0) < 10000);
    return now;
  };
  nlohmann::json before = settled(stack_counters());
  int fds_before = open_fds();
  sockaddr_in to = v4(S().peer, S().echo);
  const int cycles = 10000;
  int failed = 0, first_errno = 0;
  auto t0 = Clock::now();
  for (int i = 0; i < cycles; i++) {
    int s = socket(AF_INET, SOCK_STREAM, 0);
    if (s < 0 || connect(s, sa(to), sizeof(to)) != 0) {
      if (!failed++) first_errno = errno;
    }
    if (s >= 0) close(s);
  }
  long took = ms_since(t0);
  WARN(cycles << " connect/close cycles in " << took << " ms");
  INFO("first failure: " << (first_errno ? strerrorname_np(first_errno) : "none"));
  CHECK(failed == 0);
  // Not more than before: the count may also hold a descriptor of another
  // thread's (the HTTP server's connection of stack_counters()) that closes
  // meanwhile; a leak of these cycles would be thousands.
  CHECK(open_fds() <= fds_before);
  nlohmann::json after = settled(before);
  INFO("before: " << before.dump());
  INFO("after: " << after.dump());
  CHECK(after.at("tcp_connections") == before.at("tcp_connections"));
  CHECK(after.at("sockets") == before.at("sockets"));
  // They really went through the stack.
  CHECK(after.at("tcp_opened").get<long>() - before.at("tcp_opened").get<long>() == cycles);
}
