// SPDX-License-Identifier: Apache-2.0
#include "fd_table.hpp"

#include "runtime.hpp"

#include <sys/resource.h>

#include <algorithm>

namespace oryx::preload {

FdEntry::~FdEntry() {
  std::vector<Watcher*> gone;
  {
    std::lock_guard lock(watch_mutex);
    gone.swap(watchers);
  }
  for (Watcher* w : gone) w->socket_gone(this);
  if (kind == kOryx && handle >= 0 && generation == Runtime::get().generation()) {
    const oryx_socket_api* s = Runtime::get().sockets_if_running();
    if (s) {
      s->set_notify(handle, nullptr, nullptr);
      s->close(handle);
    }
  }
}

void FdEntry::add_watcher(Watcher* w) {
  std::lock_guard lock(watch_mutex);
  if (std::find(watchers.begin(), watchers.end(), w) == watchers.end()) watchers.push_back(w);
}

void FdEntry::remove_watcher(Watcher* w) {
  std::lock_guard lock(watch_mutex);
  watchers.erase(std::remove(watchers.begin(), watchers.end(), w), watchers.end());
}

FdTable& FdTable::get() {
  static FdTable* table = new FdTable();  // never destroyed: used until the last exit handler
  return *table;
}

FdTable::FdTable() {
  rlimit lim{};
  getrlimit(RLIMIT_NOFILE, &lim);
  size_ = std::clamp<size_t>(lim.rlim_max == RLIM_INFINITY ? 1u << 20 : lim.rlim_max, 1024,
                             1u << 20);
  marks_.reset(new std::atomic<bool>[size_]());
  entries_.resize(size_);
}

std::shared_ptr<FdEntry> FdTable::find(int fd) const {
  if (!ours(fd)) return nullptr;
  std::shared_lock lock(mutex_);
  return entries_[fd];
}

void FdTable::put(int fd, std::shared_ptr<FdEntry> entry) {
  if (fd < 0 || size_t(fd) >= size_) return;
  std::shared_ptr<FdEntry> old;
  {
    std::unique_lock lock(mutex_);
    old = std::move(entries_[fd]);
    entries_[fd] = std::move(entry);
    marks_[fd].store(entries_[fd] != nullptr, std::memory_order_release);
  }
}  // `old` is released outside the lock: its destructor may call the stack

std::shared_ptr<FdEntry> FdTable::take(int fd) {
  if (!ours(fd)) return nullptr;
  std::unique_lock lock(mutex_);
  marks_[fd].store(false, std::memory_order_release);
  return std::move(entries_[fd]);
}

std::vector<std::pair<int, std::shared_ptr<FdEntry>>> FdTable::snapshot() const {
  std::vector<std::pair<int, std::shared_ptr<FdEntry>>> out;
  std::shared_lock lock(mutex_);
  for (size_t fd = 0; fd < size_; fd++)
    if (marks_[fd].load(std::memory_order_relaxed) && entries_[fd]) out.emplace_back(int(fd), entries_[fd]);
  return out;
}

}  // namespace oryx::preload
