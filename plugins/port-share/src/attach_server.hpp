// SPDX-License-Identifier: Apache-2.0
// attach_server.hpp - where applications attach to a port share: a Unix
// SOCK_SEQPACKET socket. An application connects and sends one JSON
// request; the answer is one JSON message. While it stays attached it
// keeps the connection open, so its end is the kernel's to signal: when
// the process exits or is killed, however it ends, the connection closes
// and the server hears it at once. The peer's PID and UID come from the
// kernel (SO_PEERCRED), not from what it says.
#pragma once

#include <nlohmann/json.hpp>

#include <sys/types.h>

#include <functional>
#include <map>
#include <string>
#include <thread>

namespace oryx::share {

struct Peer {
  int fd = -1;
  pid_t pid = 0;
  uid_t uid = 0;
};

class AttachServer {
 public:
  // handle(peer, request) answers a request (whatever JSON it parsed to;
  // discarded when it was none): an object with "error" refuses
  // it (the connection is then closed), anything else attaches the peer.
  // gone(peer) runs when an attached peer's connection closes. Both run on
  // the server's thread.
  using Handle = std::function<nlohmann::json(const Peer&, const nlohmann::json&)>;
  using Gone = std::function<void(const Peer&)>;
  AttachServer(std::string path, Handle handle, Gone gone);
  ~AttachServer();  // stops the thread, closes every connection, removes the socket
  AttachServer(const AttachServer&) = delete;
  AttachServer& operator=(const AttachServer&) = delete;
  // Binds (replacing a stale socket file), listens, starts the thread.
  // Throws oryx::sdk::Error.
  void start();
  const std::string& path() const { return path_; }

 private:
  void run();
  void accept_one();
  void serve(Peer& peer, bool attached);

  std::string path_;
  Handle handle_;
  Gone gone_;
  int listen_fd_ = -1;
  int wake_fd_ = -1;
  std::map<int, std::pair<Peer, bool>> peers_;  // by fd: the peer, attached yet
  std::thread thread_;
};

}  // namespace oryx::share
