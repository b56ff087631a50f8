// SPDX-License-Identifier: Apache-2.0
// bpf_support.cpp - bpffs, pin directories, cgroup v2 and kernel checks.
#include "bpf_support.hpp"

#include <oryx/sdk.hpp>

#include <bpf/bpf.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstdarg>
#include <cstring>
#include <filesystem>
#include <mutex>

namespace oryx::bpf {
namespace fs = std::filesystem;
using oryx::sdk::Error;

namespace {

thread_local std::string t_messages;
libbpf_print_fn_t g_previous_print = nullptr;  // the kernel's: its logger

int print_to_buffer(enum libbpf_print_level level, const char* fmt, va_list args) {
  if (g_previous_print) {
    va_list copy;
    va_copy(copy, args);
    g_previous_print(level, fmt, copy);
    va_end(copy);
  }
  if (level == LIBBPF_DEBUG) return 0;
  va_list copy;
  va_copy(copy, args);
  int n = std::vsnprintf(nullptr, 0, fmt, copy);
  va_end(copy);
  if (n <= 0) return n;
  std::string text(size_t(n) + 1, '\0');
  std::vsnprintf(text.data(), text.size(), fmt, args);
  text.pop_back();
  t_messages += text;
  // Keep the tail: the verifier's reason comes last.
  if (t_messages.size() > 32768) t_messages.erase(0, t_messages.size() - 16384);
  return n;
}

bool is_fs(const std::string& path, long magic) {
  struct statfs st{};
  return statfs(path.c_str(), &st) == 0 && long(st.f_type) == magic;
}

}  // namespace

void capture_libbpf_messages() {
  static std::once_flag once;
  // Chained: the messages also reach the kernel's "libbpf" logger.
  std::call_once(once, [] { g_previous_print = libbpf_set_print(print_to_buffer); });
}

std::string take_libbpf_messages() {
  std::string out;
  out.swap(t_messages);
  while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
  return out;
}

std::string failure(const std::string& what, int err) {
  std::string msg = what + ": " + std::strerror(err < 0 ? -err : err);
  std::string lib = take_libbpf_messages();
  if (!lib.empty()) {
    // The last lines say why; a verifier log can be long.
    if (lib.size() > 1500) lib = "..." + lib.substr(lib.size() - 1500);
    msg += " (libbpf: " + lib + ")";
  }
  return msg;
}

void ensure_bpffs(const std::string& root) {
  if (is_fs(root, BPF_FS_MAGIC)) return;
  std::error_code ec;
  if (!fs::is_directory(root, ec))
    throw Error("bpffs " + root + ": no such directory (mount one: mount -t bpf bpf " + root + ")",
                ORYX_ERR_UNSUPPORTED);
  if (!fs::is_empty(root, ec))
    throw Error("bpffs " + root + " is not a BPF file system and not empty", ORYX_ERR_UNSUPPORTED);
  if (mount("bpf", root.c_str(), "bpf", 0, nullptr) != 0)
    throw Error("bpffs " + root + ": mount -t bpf failed: " + std::strerror(errno),
                ORYX_ERR_UNSUPPORTED);
}

PinDir::PinDir(std::string root, const std::string& file_prefix, const std::string& instance)
    : root_(std::move(root)), path_(root_ + "/oryx/" + file_prefix + "/" + instance) {}

bool PinDir::exists() const {
  std::error_code ec;
  return fs::is_directory(path_, ec);
}

std::vector<std::string> PinDir::entries() const {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(path_, ec)) out.push_back(e.path().filename());
  return out;
}

void PinDir::create() const {
  std::error_code ec;
  fs::create_directories(path_, ec);
  if (ec) throw Error("cannot create " + path_ + ": " + ec.message(), ORYX_ERR_IO);
}

size_t PinDir::remove() const {
  size_t n = 0;
  for (const auto& name : entries())
    if (::unlink(pin(name).c_str()) == 0) n++;
  // Up to <root>/oryx, while empty: other instances keep theirs.
  fs::path dir = path_;
  for (int i = 0; i < 3 && dir.string().size() > root_.size(); i++, dir = dir.parent_path())
    if (::rmdir(dir.c_str()) != 0) break;
  return n;
}

std::string cgroup2_mount() {
  for (const char* p : {"/sys/fs/cgroup/unified", "/sys/fs/cgroup"})
    if (is_fs(p, CGROUP2_SUPER_MAGIC)) return p;
  throw Error("no cgroup v2 file system at /sys/fs/cgroup or /sys/fs/cgroup/unified",
              ORYX_ERR_UNSUPPORTED);
}

std::string cgroup2_path(const std::string& path) {
  return (!path.empty() && path[0] == '/') ? path : cgroup2_mount() + "/" + path;
}

int open_cgroup2(const std::string& path, std::string* resolved) {
  std::string full = cgroup2_path(path);
  int fd = ::open(full.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) throw Error("cgroup " + full + ": " + std::strerror(errno), ORYX_ERR_INVALID);
  struct statfs st{};
  if (fstatfs(fd, &st) != 0 || long(st.f_type) != CGROUP2_SUPER_MAGIC) {
    ::close(fd);
    throw Error("cgroup " + full + " is not a cgroup v2 directory", ORYX_ERR_INVALID);
  }
  if (resolved) *resolved = full;
  return fd;
}

void require_prog_type(enum bpf_prog_type type, const char* what, const char* since) {
  if (libbpf_probe_bpf_prog_type(type, nullptr) != 1)
    throw Error(std::string("this kernel cannot load ") + what + " programs (Linux >= " + since +
                    " with CONFIG_BPF_SYSCALL; running as root?)",
                ORYX_ERR_UNSUPPORTED);
}

void require_map_type(enum bpf_map_type type, const char* what, const char* since) {
  if (libbpf_probe_bpf_map_type(type, nullptr) != 1)
    throw Error(std::string("this kernel lacks ") + what + " maps (Linux >= " + since + ")",
                ORYX_ERR_UNSUPPORTED);
}

uint64_t percpu_sum(int map_fd, uint32_t slot) {
  int cpus = libbpf_num_possible_cpus();
  if (cpus <= 0) return 0;
  std::vector<uint64_t> values(size_t(cpus), 0);
  if (bpf_map_lookup_elem(map_fd, &slot, values.data()) != 0) return 0;
  uint64_t sum = 0;
  for (uint64_t v : values) sum += v;
  return sum;
}

}  // namespace oryx::bpf
