// SPDX-License-Identifier: Apache-2.0
// attach_server.cpp - see attach_server.hpp.
#include "attach_server.hpp"

#include <oryx/sdk.hpp>

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <vector>

namespace oryx::share {
using oryx::sdk::Error;

namespace {
constexpr size_t kMaxRequest = 65536;
}

AttachServer::AttachServer(std::string path, Handle handle, Gone gone)
    : path_(std::move(path)), handle_(std::move(handle)), gone_(std::move(gone)) {}

AttachServer::~AttachServer() {
  if (thread_.joinable()) {
    uint64_t one = 1;
    (void)!::write(wake_fd_, &one, sizeof(one));
    thread_.join();
  }
  for (auto& [fd, peer] : peers_) ::close(fd);
  if (listen_fd_ >= 0) {
    ::close(listen_fd_);
    ::unlink(path_.c_str());
  }
  if (wake_fd_ >= 0) ::close(wake_fd_);
}

void AttachServer::start() {
  sockaddr_un addr{};
  if (path_.size() >= sizeof(addr.sun_path))
    throw Error("socket: \"" + path_ + "\" is longer than a Unix socket path may be", ORYX_ERR_INVALID);
  std::error_code ec;
  std::filesystem::create_directories(std::filesystem::path(path_).parent_path(), ec);
  listen_fd_ = ::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
  wake_fd_ = ::eventfd(0, EFD_CLOEXEC);
  if (listen_fd_ < 0 || wake_fd_ < 0)
    throw Error(std::string("cannot create the attach socket: ") + std::strerror(errno), ORYX_ERR_IO);
  // A file left by a killed oryxd: nobody listens on it any more.
  ::unlink(path_.c_str());
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path_.c_str(), path_.size());
  if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      ::listen(listen_fd_, 64) != 0)
    throw Error("cannot listen on " + path_ + ": " + std::strerror(errno), ORYX_ERR_IO);
  ::chmod(path_.c_str(), 0660);  // root and the socket's group attach
  thread_ = std::thread([this] { run(); });
}

void AttachServer::run() {
  std::vector<pollfd> fds;
  for (;;) {
    fds.clear();
    fds.push_back({wake_fd_, POLLIN, 0});
    fds.push_back({listen_fd_, POLLIN, 0});
    for (const auto& [fd, peer] : peers_) fds.push_back({fd, POLLIN, 0});
    if (::poll(fds.data(), fds.size(), -1) < 0) {
      if (errno == EINTR) continue;
      return;
    }
    if (fds[0].revents) return;
    if (fds[1].revents & POLLIN) accept_one();
    for (size_t i = 2; i < fds.size(); i++) {
      if (!fds[i].revents) continue;
      auto it = peers_.find(fds[i].fd);
      if (it != peers_.end()) serve(it->second.first, it->second.second);
    }
  }
}

void AttachServer::accept_one() {
  int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
  if (fd < 0) return;
  ucred cred{};
  socklen_t len = sizeof(cred);
  if (::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) {
    ::close(fd);
    return;
  }
  peers_[fd] = {Peer{fd, cred.pid, cred.uid}, false};
}

void AttachServer::serve(Peer& peer, bool attached) {
  std::string message(kMaxRequest, '\0');
  ssize_t n = ::recv(peer.fd, message.data(), message.size(), 0);
  if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
  const int fd = peer.fd;
  if (n <= 0) {  // closed: the process detached, exited or was killed
    if (attached) gone_(peer);
    ::close(fd);
    peers_.erase(fd);
    return;
  }
  if (attached) return;  // one request per connection; more is ignored
  message.resize(size_t(n));
  nlohmann::json request = nlohmann::json::parse(message, nullptr, false);
  nlohmann::json reply = handle_(peer, request);
  std::string text = reply.dump();
  (void)!::send(fd, text.data(), text.size(), MSG_NOSIGNAL);
  if (reply.contains("error")) {
    ::close(fd);
    peers_.erase(fd);
  } else {
    peers_[fd].second = true;
  }
}

}  // namespace oryx::share
