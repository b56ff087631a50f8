// SPDX-License-Identifier: Apache-2.0
// pcapng_file.hpp - one pcapng file: a section header, one interface
// description per capture point, then the packet blocks DPDK's
// rte_pcapng_copy() made.
//
// Why the headers are written here: DPDK 22.11's rte_pcapng_fdopen()
// describes every ethdev and nothing else (rte_pcapng_add_interface came in
// 23.11), and rte_pcapng_write_packets() picks the interface from the
// mbuf's ethdev. A capture point of the graph ("vlan0.out") is no ethdev,
// so the file gets its own interface blocks and the packet blocks the
// interface index of their point.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

struct rte_mbuf;

namespace oryx::pdump {

struct PcapngInterface {
  std::string name;         // the capture point
  std::string description;  // what it sees
};

class PcapngFile {
 public:
  // Creates (truncates) path and writes the headers. Throws
  // std::runtime_error naming the file and errno.
  PcapngFile(const std::string& path, const std::vector<PcapngInterface>& interfaces,
             uint32_t snaplen, const std::string& application);
  ~PcapngFile();
  PcapngFile(const PcapngFile&) = delete;
  PcapngFile& operator=(const PcapngFile&) = delete;

  // Writes packet blocks from rte_pcapng_copy(); each copy's `port` is the
  // index of its interface. Does not free them. Throws on a write error.
  void write(rte_mbuf* const* copies, uint16_t count);
  uint64_t size() const { return size_; }
  const std::string& path() const { return path_; }

 private:
  void write_all(const void* data, size_t len);
  std::string path_;
  int fd_ = -1;
  uint64_t size_ = 0;
};

}  // namespace oryx::pdump
