// SPDX-License-Identifier: Apache-2.0
// instance.cpp - the process's lwIP instances, by name.
#include "instance.hpp"

extern "C" {
#include <lwip/priv/instance_state.h>
#include <lwip/tcpip.h>
}

#include <pthread.h>

#include <map>
#include <mutex>
#include <stdexcept>

namespace oryx::stack {

namespace {
std::mutex registry_lock;
std::map<std::string, std::unique_ptr<Instance>>& registry() {
  static auto* instances = new std::map<std::string, std::unique_ptr<Instance>>();
  return *instances;
}

struct TimerThreadSetup {
  std::string name;
  int cpu;
};

// Runs first in the instance's timer thread (tcpip_init's callback).
void setup_timer_thread(void* arg) {
  std::unique_ptr<TimerThreadSetup> setup(static_cast<TimerThreadSetup*>(arg));
  pthread_setname_np(pthread_self(), ("lwip-" + setup->name).substr(0, 15).c_str());
  if (setup->cpu >= 0) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(setup->cpu, &set);
    pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
  }
}
}  // namespace

Instance& instance_named(const std::string& name, int timer_cpu) {
  std::lock_guard guard(registry_lock);
  auto& slot = registry()[name];
  if (slot) return *slot;
  auto inst = std::make_unique<Instance>();
  inst->name = name;
  inst->lwip = lwip_instance_new();
  if (!inst->lwip) throw std::runtime_error("no memory for an lwIP instance");
  lwip_instance_set_client_data(inst->lwip, inst.get());
  // tcpip_init initialises the current instance and starts its thread,
  // which drives its timers (retransmission, delayed ACK, ARP and
  // reassembly ageing) whether the workers busy-poll or sleep.
  lwip_instance* previous = lwip_current_instance;
  lwip_current_instance = inst->lwip;
  tcpip_init(setup_timer_thread, new TimerThreadSetup{name, timer_cpu});
  lwip_current_instance = previous;
  slot = std::move(inst);
  return *slot;
}

Instance& current_instance() {
  return *static_cast<Instance*>(lwip_instance_client_data(lwip_current_instance));
}

bool any_interface() {
  std::lock_guard guard(registry_lock);
  for (auto& [name, inst] : registry())
    if (inst->interfaces) return true;
  return false;
}

std::vector<Instance*> all_instances() {
  std::lock_guard guard(registry_lock);
  std::vector<Instance*> all;
  for (auto& [name, inst] : registry()) all.push_back(inst.get());
  return all;
}

CoreLock::CoreLock(Instance& inst) : previous_(lwip_current_instance) {
  lwip_current_instance = inst.lwip;
  LOCK_TCPIP_CORE();
}

CoreLock::~CoreLock() {
  UNLOCK_TCPIP_CORE();
  lwip_current_instance = previous_;
}

}  // namespace oryx::stack
