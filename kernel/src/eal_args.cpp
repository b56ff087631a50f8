// SPDX-License-Identifier: Apache-2.0
// eal_args.cpp - EAL arguments from configuration.
#include "eal_args.hpp"

#include <rte_config.h>

static_assert(oryx::kernel::kSharedMainLcore == RTE_MAX_LCORE - 1, "the EAL's last lcore");

namespace oryx::kernel {

std::vector<std::string> eal_arguments(const ApplianceConfig& cfg, const std::string& argv0) {
  const auto& k = cfg.kernel;
  const unsigned main = unsigned(k.get_int("main_lcore"));
  bool main_on_worker_cpu = false;
  if (!cfg.hosted_worker)
    for (unsigned c : cfg.worker_lcores) main_on_worker_cpu |= c == main;
  // Workers' lcores are their CPUs. A control thread on a worker's CPU (two
  // workers on a two-CPU machine) needs an lcore of its own: the last one,
  // pinned to that CPU.
  std::string main_lcore = std::to_string(main);
  std::string lcores = main_lcore;
  if (main_on_worker_cpu) {
    main_lcore = std::to_string(kSharedMainLcore);
    lcores = main_lcore + "@" + std::to_string(main);
    for (unsigned c : cfg.worker_lcores) lcores += "," + std::to_string(c) + "@" + std::to_string(c);
  } else if (!cfg.hosted_worker) {  // a hosted worker has no lcore of its own
    for (unsigned c : cfg.worker_lcores) lcores += "," + std::to_string(c);
  }
  std::vector<std::string> args = {argv0,
                                   main_on_worker_cpu ? "--lcores" : "-l", lcores,
                                   "--main-lcore", main_lcore,
                                   "--file-prefix", k.get_string("file_prefix"),
                                   // Counters are served by the REST API; DPDK's telemetry
                                   // socket would outlive rte_eal_cleanup until exit.
                                   "--no-telemetry"};
  if (k.get_bool("hugepages")) {
    // No runtime files or hugepage files survive the process, even when it
    // is killed: the next start needs no cleanup.
    args.push_back("--in-memory");
    args.push_back("-m");
    args.push_back(std::to_string(k.get_int("memory_mb")));
    if (!k.get_string("hugepage_dir").empty()) {
      args.push_back("--huge-dir");
      args.push_back(k.get_string("hugepage_dir"));
    }
  } else {
    args.push_back("--no-huge");
    args.push_back("--no-shconf");
    args.push_back("-m");
    args.push_back(std::to_string(k.get_int("memory_mb")));
  }
  // Virtual devices are hot-plugged by stages. PCI NICs are probed only when
  // listed, so the appliance never grabs a NIC nobody configured.
  const auto& pci = k.get_list("pci_allow");
  if (pci.empty()) {
    args.push_back("--no-pci");
    // Without a DMA device physical addresses buy nothing, and virtual
    // ones let the packet pool be one contiguous zone (packet_pool.hpp).
    args.push_back("--iova-mode=va");
  }
  for (const auto& addr : pci) {
    args.push_back("-a");
    args.push_back(addr);
  }
  for (const auto& extra : k.get_list("eal_args")) args.push_back(extra);
  return args;
}

}  // namespace oryx::kernel
