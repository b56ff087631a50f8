// SPDX-License-Identifier: Apache-2.0
// checksum_test.cpp - lwIP computes its checksums with DPDK's
// rte_raw_cksum (src/checksum.cpp, LWIP_CHKSUM in lwipopts.h): it must
// give lwIP's own sum for every length and alignment, or every segment
// the stack sends would carry a wrong checksum.
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>

#include <cstdint>
#include <random>
#include <vector>

extern "C" unsigned short oryx_lwip_chksum(const void* data, int len);
// lwIP's own (inet_chksum.c, LWIP_CHKSUM_ALGORITHM 2 in lwipopts.h); no
// header declares it.
extern "C" uint16_t lwip_standard_chksum(const void* data, int len);

TEST_CASE("DPDK's checksum gives lwIP's for every length and alignment") {
  std::mt19937 rng(20261207);
  std::vector<uint8_t> buf(9100);
  for (auto& b : buf) b = uint8_t(rng());
  int compared = 0;
  for (int offset = 0; offset < 4; offset++)
    for (int len = 0; len <= 9000; len += (len < 80 ? 1 : 37)) {
      const void* p = buf.data() + offset;
      REQUIRE(oryx_lwip_chksum(p, len) == lwip_standard_chksum(p, len));
      compared++;
    }
  // All ones and all zeros: the folding of carries at both extremes.
  std::vector<uint8_t> ones(9000, 0xff), zeros(9000, 0);
  for (int len : {1, 2, 3, 8960, 8999, 9000}) {
    REQUIRE(oryx_lwip_chksum(ones.data(), len) == lwip_standard_chksum(ones.data(), len));
    REQUIRE(oryx_lwip_chksum(zeros.data(), len) == lwip_standard_chksum(zeros.data(), len));
  }
  CHECK(compared > 1000);
}
