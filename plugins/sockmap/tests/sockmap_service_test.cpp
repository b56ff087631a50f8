// SPDX-License-Identifier: Apache-2.0
// sockmap_service_test.cpp - the sockmap service in-process (test kit;
// needs root and BPF): a child process in a cgroup of the test's own
// exchanges data over loopback TCP; the service tracks its sockets,
// redirects their sends (bytes intact), skips ports it was not asked for,
// lists the pairs over REST, and refuses bad tables.
#include <oryx/testing.hpp>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <string>
#include <thread>

using oryx::testing::Harness;

namespace {

constexpr const char* kCgroupRoot = "/sys/fs/cgroup/unified";

// A cgroup v2 directory of this test, removed (once empty) at the end.
struct TestCgroup {
  std::string path = std::string(kCgroupRoot) + "/oryx-kit-sockmap-" + std::to_string(getpid());
  TestCgroup() { REQUIRE(mkdir(path.c_str(), 0755) == 0); }
  ~TestCgroup() { rmdir(path.c_str()); }
};

// In a child that joins `cgroup`: connects to a listener on 127.0.0.1,
// sends `bytes` bytes in 4 KiB writes and checks they arrive intact.
// Returns the child's exit status (0: intact).
int exchange_in(const std::string& cgroup, int bytes) {
  pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    std::ofstream(cgroup + "/cgroup.procs") << getpid() << std::flush;
    int lfd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(a);
    if (bind(lfd, reinterpret_cast<sockaddr*>(&a), len) != 0 || listen(lfd, 1) != 0 ||
        getsockname(lfd, reinterpret_cast<sockaddr*>(&a), &len) != 0)
      _exit(2);
    int cfd = socket(AF_INET, SOCK_STREAM, 0);
    if (connect(cfd, reinterpret_cast<sockaddr*>(&a), len) != 0) _exit(3);
    int sfd = accept(lfd, nullptr, nullptr);
    std::thread writer([&] {
      char buf[4096];
      for (int sent = 0; sent < bytes;) {
        int n = std::min<int>(sizeof(buf), bytes - sent);
        for (int i = 0; i < n; i++) buf[i] = char((sent + i) % 251);
        ssize_t w = write(cfd, buf, size_t(n));
        if (w <= 0) _exit(4);
        sent += int(w);
      }
    });
    char buf[8192];
    int got = 0;
    bool intact = true;
    while (got < bytes) {
      ssize_t r = read(sfd, buf, sizeof(buf));
      if (r <= 0) break;
      for (ssize_t i = 0; i < r; i++) intact &= buf[i] == char((got + i) % 251);
      got += int(r);
    }
    writer.join();
    _exit(got == bytes && intact ? 0 : 5);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

std::string config(const std::string& cgroup, const std::string& extra = "") {
  return "[kernel]\nfile_prefix = \"kit-" + std::to_string(getpid()) + "\"\n" +
         "[service.mesh]\ntype = \"sockmap\"\ncgroups = [\"" + cgroup + "\"]\n" + extra;
}

template <typename Pred>
bool wait_for(Pred pred, int timeout_ms = 3000) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (!pred()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return true;
}

}  // namespace

TEST_CASE("sockmap redirects the sends of tracked local sockets, bytes intact",
          "[sockmap][needs-root]") {
  TestCgroup cg;
  Harness h({"sockmap"}, config(cg.path));
  CHECK(h.counter("mesh", "cgroups_attached") == 1);
  REQUIRE(exchange_in(cg.path, 256 * 1024) == 0);
  CHECK(wait_for([&] { return h.counter("mesh", "bytes_redirected") == 256 * 1024; }));
  CHECK(h.counter("mesh", "sockets_added") == 2);
  CHECK(h.counter("mesh", "msgs_redirected") > 0);
  CHECK(h.counter("mesh", "bytes_passed") == 0);
  CHECK(wait_for([&] { return h.counter("mesh", "sockets_removed") == 2; }));
  auto listing = h.request("GET", "/api/v1/sockmap");
  REQUIRE(listing.status == 200);
  CHECK(nlohmann::json::parse(listing.body)["services"].size() == 1);
}

TEST_CASE("sockmap skips connections outside its ports", "[sockmap][needs-root]") {
  TestCgroup cg;
  // The exchange uses an ephemeral port, never port 9.
  Harness h({"sockmap"}, config(cg.path, "ports = [\"9\"]\n"));
  REQUIRE(exchange_in(cg.path, 64 * 1024) == 0);
  CHECK(wait_for([&] { return h.counter("mesh", "sockets_skipped") == 2; }));
  CHECK(h.counter("mesh", "sockets_added") == 0);
  CHECK(h.counter("mesh", "bytes_redirected") == 0);
}

TEST_CASE("sockmap tables start-up refuses", "[sockmap]") {
  auto refused = [](const std::string& toml) {
    try {
      Harness h({"sockmap"}, toml);
    } catch (const oryx::testing::SetupError& e) {
      return std::string(e.what());
    }
    return std::string("accepted");
  };
  CHECK_THAT(refused("[service.mesh]\ntype = \"sockmap\"\ncgroups = [\"/x\"]\n"
                     "ports = [\"99999\"]\n"),
             Catch::StartsWith("test.toml:4: service.mesh.ports: expected a port"));
  CHECK_THAT(refused("[service.mesh]\ntype = \"sockmap\"\ncgroups = [\"/x\"]\n"
                     "addresses = [\"10.0.0.0/33\"]\n"),
             Catch::StartsWith("test.toml:4: service.mesh.addresses: bad prefix length"));
  CHECK_THAT(refused("[stage.mesh]\ntype = \"sockmap\"\ncgroups = [\"/x\"]\n"),
             Catch::Contains("is a service: declare it as [service.mesh]"));
}
