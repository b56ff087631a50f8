// SPDX-License-Identifier: Apache-2.0
// fuzz_rest: any bytes as an HTTP request to the REST API, through a real
// CivetWeb server on loopback: request line, path, query, headers and
// body reach the kernel's routing and handlers as they would from curl.
// The contract: an answer or a closed connection, and a server that lives.
#include "appliance.hpp"
#include "appliance_config.hpp"
#include "logging.hpp"
#include "rest_api.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

using namespace oryx::kernel;

namespace {

Appliance* g_appliance;
RestServer* g_server;
sockaddr_in g_address{};

// The token is known to the fuzzer (it is in the seed corpus), so
// state-changing requests get past authorisation.
const char* kConfig =
    "[http]\nlisten = \"127.0.0.1:0\"\ntoken = \"fuzz-token\"\nwebui_dir = \"\"\n"
    "[plugins]\npath = [\"/nonexistent/oryx-fuzz\"]\n";

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  logging::init("critical", {}, "");
  g_appliance = new Appliance(parse_config(kConfig, "fuzz.toml"));
  g_appliance->check();
  g_server = new RestServer(*g_appliance);
  g_server->start();
  const std::string& bound = g_server->bound_address();
  g_address.sin_family = AF_INET;
  g_address.sin_port = htons(uint16_t(std::stoi(bound.substr(bound.rfind(':') + 1))));
  g_address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return 0;
}

namespace {

// A connection to the server; aborts (a finding) if it stopped accepting.
int connect_to_server() {
  for (int attempt = 0; attempt < 5; attempt++) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) std::abort();
    timeval timeout{5, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof(timeout));
    // Closed with a reset: no TIME_WAIT, so thousands of inputs a second
    // do not use up the host's ephemeral ports.
    linger no_linger{1, 0};
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &no_linger, sizeof(no_linger));
    if (connect(fd, reinterpret_cast<sockaddr*>(&g_address), sizeof(g_address)) == 0) return fd;
    int err = errno;
    close(fd);
    if (err != EINTR) {  // libFuzzer's own signals may interrupt; retry those
      errno = err;
      std::perror("fuzz_rest: the REST server stopped accepting");
      std::abort();
    }
  }
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  int fd = connect_to_server();
  size_t sent = 0;
  while (sent < size) {
    ssize_t n = send(fd, data + sent, size - sent, MSG_NOSIGNAL);
    if (n <= 0) break;  // the server answered early and closed: fine
    sent += size_t(n);
  }
  shutdown(fd, SHUT_WR);
  char buf[65536];
  while (recv(fd, buf, sizeof(buf), 0) > 0) {
  }
  close(fd);
  return 0;
}
