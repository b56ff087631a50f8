// SPDX-License-Identifier: Apache-2.0
// bpf_support.hpp - what the BPF plugins share: the per-instance pin
// directory in bpffs, cgroup v2 directories, kernel feature checks with
// errors an operator can act on, and libbpf's messages for those errors.
#pragma once

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <cstdint>
#include <string>
#include <vector>

namespace oryx::bpf {

// Routes libbpf's output into a per-thread buffer (once per process), so
// a failed load can say what the verifier or libbpf said.
void capture_libbpf_messages();
// What libbpf printed on this thread since the last call (then clears it).
std::string take_libbpf_messages();

// Checks that `root` is a mounted bpffs; mounts one there when it is an
// empty directory (what `mount -t bpf bpf /sys/fs/bpf` would do).
// Throws oryx::sdk::Error naming the path otherwise.
void ensure_bpffs(const std::string& root);

// <root>/oryx/<file_prefix>/<instance>: where an instance pins what must
// outlive its process (a crash leaves it for the next start to find).
class PinDir {
 public:
  PinDir(std::string root, const std::string& file_prefix, const std::string& instance);
  const std::string& root() const { return root_; }  // the bpffs mount
  const std::string& path() const { return path_; }
  std::string pin(const std::string& name) const { return path_ + "/" + name; }
  bool exists() const;
  std::vector<std::string> entries() const;  // names pinned there now
  void create() const;
  // Unpins everything and removes the directory and its empty parents.
  // Returns how many pins were removed.
  size_t remove() const;

 private:
  std::string root_, path_;
};

// Opens a cgroup v2 directory for attaching (O_RDONLY|O_DIRECTORY). A
// relative path is taken below the cgroup v2 mount. Throws unless it is
// a cgroup v2 directory.
int open_cgroup2(const std::string& path, std::string* resolved = nullptr);
// The absolute path open_cgroup2 opens for `path` (it need not exist).
std::string cgroup2_path(const std::string& path);
// Where cgroup v2 is mounted (/sys/fs/cgroup or /sys/fs/cgroup/unified).
std::string cgroup2_mount();

// Throws ORYX_ERR_UNSUPPORTED "this kernel lacks <what> (Linux >= <since>)"
// unless the kernel can load the program or map type.
void require_prog_type(enum bpf_prog_type type, const char* what, const char* since);
void require_map_type(enum bpf_map_type type, const char* what, const char* since);

// The keys of a map, at most `limit` (the map may change meanwhile);
// *truncated says whether more were left.
template <typename Key>
std::vector<Key> map_keys(int map_fd, size_t limit = SIZE_MAX, bool* truncated = nullptr) {
  std::vector<Key> keys;
  Key cur{}, next{};
  const void* prev = nullptr;
  while (bpf_map_get_next_key(map_fd, prev, &next) == 0) {
    if (keys.size() == limit) {
      if (truncated) *truncated = true;
      break;
    }
    keys.push_back(next);
    cur = next;
    prev = &cur;
  }
  return keys;
}

// Sum over CPUs of a per-CPU array slot.
uint64_t percpu_sum(int map_fd, uint32_t slot);

// "<what>: <strerror(-err)>" plus libbpf's messages, for an oryx::sdk::Error.
std::string failure(const std::string& what, int err);

}  // namespace oryx::bpf
