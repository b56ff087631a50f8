// SPDX-License-Identifier: Apache-2.0
// share_attach.cpp - see share_attach.hpp.
#include "share_attach.hpp"

#include <oryx/sdk.hpp>

#include <nlohmann/json.hpp>

#include <poll.h>
#include <pthread.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <mutex>

namespace oryx::io {
using oryx::sdk::Error;

namespace {

// The attachments' descriptors, closed in a forked child (an attachment
// is its process's; a child keeping a copy would keep it alive after the
// parent died).
std::array<std::atomic<int>, 16> g_fds{};
std::once_flag g_atfork_once;

void close_in_child() {
  for (auto& fd : g_fds) {
    int v = fd.exchange(-1);
    if (v > 0) ::close(v);
  }
}

void remember(int fd) {
  std::call_once(g_atfork_once, [] { pthread_atfork(nullptr, nullptr, &close_in_child); });
  for (auto& slot : g_fds) {
    int expected = 0;
    if (slot.compare_exchange_strong(expected, fd)) return;
    expected = -1;
    if (slot.compare_exchange_strong(expected, fd)) return;
  }
}

void forget(int fd) {
  for (auto& slot : g_fds) {
    int expected = fd;
    slot.compare_exchange_strong(expected, -1);
  }
}

}  // namespace

ShareAttachment::~ShareAttachment() {
  if (fd_ >= 0) {
    forget(fd_);
    ::close(fd_);
  }
}

ShareGrant ShareAttachment::attach(const ShareRequest& request, int timeout_ms) {
  const std::string where = "attach: port share at " + request.socket;
  sockaddr_un addr{};
  if (request.socket.size() >= sizeof(addr.sun_path))
    throw Error(where + ": the path is too long for a Unix socket", ORYX_ERR_INVALID);
  int fd = ::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
  if (fd < 0) throw Error(where + ": " + std::strerror(errno), ORYX_ERR_IO);
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, request.socket.c_str(), request.socket.size());
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    int err = errno;
    ::close(fd);
    throw Error(where + ": " + std::strerror(err) + " (is oryxd with a port_share service running?)",
                ORYX_ERR_IO);
  }
  nlohmann::json out = {{"name", request.name},
                        {"rules", request.rules},
                        {"group", request.group},
                        {"default", request.is_default}};
  std::string text = out.dump();
  std::string reply(65536, '\0');
  pollfd p{fd, POLLIN, 0};
  ssize_t n = -1;
  if (::send(fd, text.data(), text.size(), MSG_NOSIGNAL) == ssize_t(text.size()) &&
      ::poll(&p, 1, timeout_ms) == 1)
    n = ::recv(fd, reply.data(), reply.size(), 0);
  if (n <= 0) {
    ::close(fd);
    throw Error(where + ": no answer from oryxd", ORYX_ERR_IO);
  }
  reply.resize(size_t(n));
  nlohmann::json in = nlohmann::json::parse(reply, nullptr, false);
  if (!in.is_object() || in.contains("error") || !in.contains("interface")) {
    ::close(fd);
    throw Error(where + ": refused: " +
                    (in.is_object() && in.contains("error") ? in["error"].dump() : reply),
                ORYX_ERR_INVALID);
  }
  fd_ = fd;
  remember(fd);
  ShareGrant grant;
  grant.interface = in.value("interface", "");
  grant.mac = in.value("mac", "");
  grant.service = in.value("service", "");
  grant.slot = in.value("slot", 0u);
  return grant;
}

}  // namespace oryx::io
