// SPDX-License-Identifier: Apache-2.0
// pcapng_file.cpp - see pcapng_file.hpp. Block layouts: the pcapng
// specification (draft-ietf-opsawg-pcapng), sections 4.1-4.3.
#include "pcapng_file.hpp"

#include <fcntl.h>
#include <sys/uio.h>
#include <unistd.h>

#include <rte_mbuf.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace oryx::pdump {

namespace {

constexpr uint32_t kSectionHeader = 0x0A0D0D0A;
constexpr uint32_t kInterfaceDescription = 1;
constexpr uint16_t kLinkEthernet = 1;
constexpr uint16_t kOptEnd = 0, kShbUserAppl = 4, kIfName = 2, kIfDescription = 3,
                   kIfTsresol = 9;

// A block under construction: body words, then options, then the length
// at both ends.
class Block {
 public:
  explicit Block(uint32_t type) { put32(type), put32(0); }
  void put16(uint16_t v) { append(&v, 2); }
  void put32(uint32_t v) { append(&v, 4); }
  void put64(uint64_t v) { append(&v, 8); }
  void option(uint16_t code, const void* value, uint16_t len) {
    put16(code), put16(len);
    append(value, len);
    static const char pad[4] = {};
    append(pad, (4 - len % 4) % 4);
  }
  void option(uint16_t code, const std::string& text) {
    option(code, text.data(), uint16_t(std::min<size_t>(text.size(), 0xFFF0)));
  }
  const std::string& finish() {
    put16(kOptEnd), put16(0);
    put32(0);
    uint32_t len = uint32_t(bytes_.size());
    std::memcpy(&bytes_[4], &len, 4);
    std::memcpy(&bytes_[len - 4], &len, 4);
    return bytes_;
  }

 private:
  void append(const void* p, size_t n) { bytes_.append(static_cast<const char*>(p), n); }
  std::string bytes_;
};

}  // namespace

PcapngFile::PcapngFile(const std::string& path, const std::vector<PcapngInterface>& interfaces,
                       uint32_t snaplen, const std::string& application)
    : path_(path) {
  fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
  if (fd_ < 0) throw std::runtime_error("cannot create " + path + ": " + std::strerror(errno));
  Block shb(kSectionHeader);
  shb.put32(0x1A2B3C4D);  // byte-order magic
  shb.put16(1), shb.put16(0);
  shb.put64(~uint64_t(0));  // section length unknown
  shb.option(kShbUserAppl, application);
  const std::string& header = shb.finish();
  write_all(header.data(), header.size());
  for (const auto& i : interfaces) {
    Block idb(kInterfaceDescription);
    idb.put16(kLinkEthernet), idb.put16(0);
    idb.put32(snaplen);
    idb.option(kIfName, i.name);
    idb.option(kIfDescription, i.description);
    const uint8_t nanoseconds = 9;  // rte_pcapng_copy() stamps in ns
    idb.option(kIfTsresol, &nanoseconds, 1);
    const std::string& bytes = idb.finish();
    write_all(bytes.data(), bytes.size());
  }
}

PcapngFile::~PcapngFile() {
  if (fd_ >= 0) ::close(fd_);
}

void PcapngFile::write(rte_mbuf* const* copies, uint16_t count) {
  constexpr int kMaxIov = 256;
  iovec iov[kMaxIov];
  int n = 0;
  auto flush = [&] {
    for (int done = 0; done < n;) {
      ssize_t w = ::writev(fd_, iov + done, n - done);
      if (w < 0) {
        if (errno == EINTR) continue;
        throw std::runtime_error("cannot write " + path_ + ": " + std::strerror(errno));
      }
      size_ += uint64_t(w);
      while (done < n && size_t(w) >= iov[done].iov_len) w -= ssize_t(iov[done++].iov_len);
      if (done < n) {  // a short write: go on inside this iovec
        iov[done].iov_base = static_cast<char*>(iov[done].iov_base) + w;
        iov[done].iov_len -= size_t(w);
      }
    }
    n = 0;
  };
  for (uint16_t i = 0; i < count; i++) {
    rte_mbuf* m = copies[i];
    // The packet block's interface id (offset 8) is the capture point's.
    uint32_t interface_id = m->port;
    std::memcpy(rte_pktmbuf_mtod_offset(m, char*, 8), &interface_id, 4);
    if (n + m->nb_segs > kMaxIov) flush();
    for (rte_mbuf* seg = m; seg; seg = seg->next)
      iov[n++] = {rte_pktmbuf_mtod(seg, void*), seg->data_len};
  }
  flush();
}

void PcapngFile::write_all(const void* data, size_t len) {
  const char* p = static_cast<const char*>(data);
  while (len > 0) {
    ssize_t w = ::write(fd_, p, len);
    if (w < 0) {
      if (errno == EINTR) continue;
      throw std::runtime_error("cannot write " + path_ + ": " + std::strerror(errno));
    }
    p += w, len -= size_t(w), size_ += uint64_t(w);
  }
}

}  // namespace oryx::pdump
