// Initial sequence numbers (lwip/src/tcp_isn.c, RFC 6528): one 4-tuple's
// advance with a 4 us clock; other 4-tuples' are unrelated to it.
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>

#include <chrono>
#include <cstdint>
#include <set>
#include <thread>

#include "lwip/ip_addr.h"
#include "oryx_lwip_hooks.h"

namespace {

// lwIP's macros, not its functions: the test links no more of lwIP.
ip_addr_t v4(uint8_t last) {
  ip_addr_t a;
  IP_ADDR4(&a, 198, 18, 0, last);
  return a;
}

ip_addr_t v6(uint32_t last) {
  ip_addr_t a;
  IP_ADDR6(&a, PP_HTONL(0x20010db8u), 0, 0, PP_HTONL(last));
  return a;
}

}  // namespace

TEST_CASE("one 4-tuple's ISN advances with the clock", "[isn]") {
  ip_addr_t local = v4(1), remote = v4(2);
  auto started = std::chrono::steady_clock::now();
  uint32_t first = oryx_tcp_isn(&local, 80, &remote, 40000);
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  uint32_t second = oryx_tcp_isn(&local, 80, &remote, 40000);
  auto elapsed_us = std::chrono::duration_cast<std::chrono::microseconds>(
                        std::chrono::steady_clock::now() - started).count();
  uint32_t step = second - first;
  // 20 ms is at least 4,882 steps of 4.096 us; the time measured between
  // the two (taken outside them) bounds it from above.
  CHECK(step >= 4882);
  CHECK(step <= uint32_t(elapsed_us / 4 + 1));
}

TEST_CASE("other 4-tuples' ISNs are not a function of one's", "[isn]") {
  ip_addr_t local = v4(1), remote = v4(2);
  ip_addr_t local6 = v6(1), remote6 = v6(2);
  std::set<uint32_t> isns, steps;
  uint32_t previous = 0;
  int close_together = 0;
  for (uint16_t port = 40000; port < 41000; port++) {
    uint32_t isn = port % 2 ? oryx_tcp_isn(&local, 80, &remote, port)
                            : oryx_tcp_isn(&local6, 80, &remote6, port);
    isns.insert(isn);
    uint32_t step = isn - previous;
    if (port > 40000) {
      steps.insert(step);
      if (step < 65536 || step > 0u - 65536) close_together++;
    }
    previous = isn;
  }
  // A hash: values collide, or sit within 2^16 of the one before, only by
  // chance (0.03 of 999 steps are expected that close).
  CHECK(isns.size() >= 998);
  CHECK(steps.size() >= 998);
  CHECK(close_together <= 3);
}

TEST_CASE("every thread gets the same ISN for the same 4-tuple and time", "[isn]") {
  ip_addr_t local = v4(1), remote = v4(2);
  uint32_t here = oryx_tcp_isn(&local, 7, &remote, 50000);
  uint32_t there = 0;
  std::thread([&] { there = oryx_tcp_isn(&local, 7, &remote, 50000); }).join();
  // The same key in every thread: only the clock moved in between.
  CHECK(there - here < 250000);  // under a second
}
