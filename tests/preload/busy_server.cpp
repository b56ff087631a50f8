// SPDX-License-Identifier: Apache-2.0
// busy_server - an echo server that can be told to compute: the test
// program of tests/e2e/preload_busy.sh, run under `oryx run`.
//
// One thread, one epoll loop (blocking epoll_wait, as event-loop servers
// do). Every byte a client sends comes back, in order; a line
// "compute MS\n" makes the server spin on the CPU for MS milliseconds
// without any socket call (the rest of that read is echoed afterwards),
// then answer "done\n". Nothing here knows about Oryx.
//
// Usage: busy_server ADDRESS PORT
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

namespace {

[[noreturn]] void die(const char* what) {
  std::perror(what);
  std::exit(1);
}

void write_all(int fd, const char* p, size_t n) {
  while (n) {
    ssize_t w = write(fd, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      return;  // the client went away; its epoll entry reports it next
    }
    p += w;
    n -= size_t(w);
  }
}

// Keeps the CPU busy for `ms` milliseconds; no system call but the clock.
void compute(long ms) {
  auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
  volatile unsigned long x = 0;
  while (std::chrono::steady_clock::now() < until)
    for (int i = 0; i < 10000; i++) x = x * 6364136223846793005UL + 1;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3 || std::strcmp(argv[1], "--help") == 0) {
    std::fprintf(stderr, "usage: busy_server ADDRESS PORT\n"
                         "Echoes what clients send; \"compute MS\" spins MS ms, then \"done\".\n");
    return argc == 2 ? 0 : 2;
  }
  int ls = socket(AF_INET, SOCK_STREAM, 0);
  if (ls < 0) die("socket");
  int one = 1;
  setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(uint16_t(std::atoi(argv[2])));
  if (inet_pton(AF_INET, argv[1], &a.sin_addr) != 1) die("address");
  if (bind(ls, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0) die("bind");
  if (listen(ls, 64) != 0) die("listen");
  int ep = epoll_create1(0);
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.fd = ls;
  epoll_ctl(ep, EPOLL_CTL_ADD, ls, &ev);
  std::printf("listening on %s:%s\n", argv[1], argv[2]);
  std::fflush(stdout);
  std::string lines[1024];  // partial line per descriptor (small test)
  for (;;) {
    epoll_event got[16];
    int n = epoll_wait(ep, got, 16, -1);
    if (n < 0) {
      if (errno == EINTR) continue;
      die("epoll_wait");
    }
    for (int i = 0; i < n; i++) {
      int fd = got[i].data.fd;
      if (fd == ls) {
        int c = accept(ls, nullptr, nullptr);
        if (c < 0 || c >= 1024) {
          if (c >= 0) close(c);
          continue;
        }
        ev.events = EPOLLIN;
        ev.data.fd = c;
        epoll_ctl(ep, EPOLL_CTL_ADD, c, &ev);
        lines[c].clear();
        continue;
      }
      char buf[65536];
      ssize_t r = read(fd, buf, sizeof(buf));
      if (r <= 0) {
        epoll_ctl(ep, EPOLL_CTL_DEL, fd, nullptr);
        close(fd);
        continue;
      }
      // A complete "compute MS" line at the start of the stream's line.
      std::string& line = lines[fd];
      size_t start = 0;
      for (ssize_t k = 0; k < r; k++) {
        if (buf[k] != '\n') continue;
        line.append(buf + start, size_t(k) - start);
        start = size_t(k) + 1;
        if (line.rfind("compute ", 0) == 0) {
          compute(std::atol(line.c_str() + 8));
          write_all(fd, "done\n", 5);
        } else {
          line.push_back('\n');
          write_all(fd, line.data(), line.size());
        }
        line.clear();
      }
      line.append(buf + start, size_t(r) - start);
      // Bulk data without newlines is echoed as it comes.
      if (line.size() > 4096) {
        write_all(fd, line.data(), line.size());
        line.clear();
      }
    }
  }
}
