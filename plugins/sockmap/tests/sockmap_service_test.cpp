// SPDX-License-Identifier: Apache-2.0
// sockmap_service_test.cpp - the sockmap service in-process (test kit;
// needs root and BPF): a child process in a cgroup of the test's own
// exchanges data over loopback TCP (Python, exec'd right after the fork); the service tracks its sockets,
// redirects their sends (bytes intact), skips ports it was not asked for,
// lists the pairs over REST, and refuses bad tables.
#include <oryx/testing.hpp>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string>

using oryx::testing::eventually;
using oryx::testing::Harness;

namespace {

constexpr const char* kCgroupRoot = "/sys/fs/cgroup/unified";

// A cgroup v2 directory of this test, removed (once empty) at the end.
struct TestCgroup {
  std::string path = std::string(kCgroupRoot) + "/oryx-kit-sockmap-" + std::to_string(getpid());
  TestCgroup() { REQUIRE(mkdir(path.c_str(), 0755) == 0); }
  ~TestCgroup() { rmdir(path.c_str()); }
};

// The exchange, run by Python in the child: connects to a listener on
// 127.0.0.1, sends argv[1] bytes in 4 KiB writes from a thread and checks
// they arrive intact (exit 0).
constexpr const char* kExchange = R"(
import socket, sys, threading
n = int(sys.argv[1])
data = bytes(i % 251 for i in range(n))
l = socket.socket(); l.bind(("127.0.0.1", 0)); l.listen(1)
c = socket.create_connection(l.getsockname()); s, _ = l.accept()
w = threading.Thread(target=lambda: [c.sendall(data[i:i + 4096]) for i in range(0, n, 4096)])
w.start()
got = bytearray()
while len(got) < n:
    chunk = s.recv(65536)
    if not chunk: break
    got += chunk
w.join()
sys.exit(0 if got == data else 5)
)";

// Runs the exchange of `bytes` bytes in a child that joins `cgroup` first
// (its sockets then belong to it). The child only joins and execs: the
// test process has threads (DPDK's, the service's), and a forked copy of
// a threaded process may not allocate. Returns the child's exit status.
int exchange_in(const std::string& cgroup, int bytes) {
  std::string procs = cgroup + "/cgroup.procs", count = std::to_string(bytes);
  pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    int fd = open(procs.c_str(), O_WRONLY);
    if (fd < 0 || write(fd, "0", 1) != 1) _exit(2);  // "0": the writing process
    close(fd);
    execl("/usr/bin/python3", "python3", "-c", kExchange, count.c_str(), nullptr);
    _exit(3);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

std::string config(const std::string& cgroup, const std::string& extra = "") {
  return "[kernel]\nfile_prefix = \"kit-" + std::to_string(getpid()) + "\"\n" +
         "[service.mesh]\ntype = \"sockmap\"\ncgroups = [\"" + cgroup + "\"]\n" + extra;
}

}  // namespace

TEST_CASE("sockmap redirects the sends of tracked local sockets, bytes intact",
          "[sockmap][needs-root]") {
  TestCgroup cg;
  Harness h({"sockmap"}, config(cg.path));
  CHECK(h.counter("mesh", "cgroups_attached") == 1);
  REQUIRE(exchange_in(cg.path, 256 * 1024) == 0);
  CHECK(eventually([&] { return h.counter("mesh", "bytes_redirected") == 256 * 1024; }));
  CHECK(h.counter("mesh", "sockets_added") == 2);
  CHECK(h.counter("mesh", "msgs_redirected") > 0);
  CHECK(h.counter("mesh", "bytes_passed") == 0);
  CHECK(eventually([&] { return h.counter("mesh", "sockets_removed") == 2; }));
  auto listing = h.request("GET", "/api/v1/sockmap");
  REQUIRE(listing.status == 200);
  CHECK(nlohmann::json::parse(listing.body)["services"].size() == 1);
}

TEST_CASE("sockmap skips connections outside its ports", "[sockmap][needs-root]") {
  TestCgroup cg;
  // The exchange uses an ephemeral port, never port 9.
  Harness h({"sockmap"}, config(cg.path, "ports = [\"9\"]\n"));
  REQUIRE(exchange_in(cg.path, 64 * 1024) == 0);
  CHECK(eventually([&] { return h.counter("mesh", "sockets_skipped") == 2; }));
  CHECK(h.counter("mesh", "sockets_added") == 0);
  CHECK(h.counter("mesh", "bytes_redirected") == 0);
}

TEST_CASE("sockmap tables start-up refuses", "[sockmap]") {
  auto refused = [](const std::string& toml) { return oryx::testing::setup_error({"sockmap"}, toml); };
  CHECK_THAT(refused("[service.mesh]\ntype = \"sockmap\"\ncgroups = [\"/x\"]\n"
                     "ports = [\"99999\"]\n"),
             Catch::StartsWith("test.toml:4: service.mesh.ports: expected a port"));
  CHECK_THAT(refused("[service.mesh]\ntype = \"sockmap\"\ncgroups = [\"/x\"]\n"
                     "addresses = [\"10.0.0.0/33\"]\n"),
             Catch::StartsWith("test.toml:4: service.mesh.addresses: bad prefix length"));
  CHECK_THAT(refused("[stage.mesh]\ntype = \"sockmap\"\ncgroups = [\"/x\"]\n"),
             Catch::Contains("is a service: declare it as [service.mesh]"));
}
