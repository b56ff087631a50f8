// SPDX-License-Identifier: Apache-2.0
// appliance_config.hpp - appliance.toml: the kernel's own tables and the
// structure of stage tables (their plugin keys are validated once the
// owning plugin is loaded, see Appliance::validate_stages).
#pragma once

#include "config_schema.hpp"

#include <memory>
#include <string>
#include <vector>

namespace oryx::kernel {

// Schemas of the kernel tables; also rendered into docs/configuration.md.
const oryx_param* kernel_table_schema();
const oryx_param* plugins_table_schema();
const oryx_param* log_table_schema();
const oryx_param* http_table_schema();
const oryx_param* stats_table_schema();
const oryx_param* preload_table_schema();
const oryx_param* capture_table_schema();

struct KernelTableSchema {
  const char* name;
  const char* help;
  const oryx_param* schema;
};
const std::vector<KernelTableSchema>& kernel_tables();

struct StageSpec {
  std::string name;
  std::string type;
  bool service = false;           // [service.<name>]: no packets, no edges
  std::vector<std::string> next;  // edge k+1 -> next[k]
  unsigned line = 0;
  unsigned next_line = 0;
  toml::value raw;                        // the table as written
  std::unique_ptr<oryx_config> config;    // set by validate_stage()

  const char* kind() const { return service ? "service" : "stage"; }
  std::string path() const { return kind() + ("." + name); }
};

struct ApplianceConfig {
  std::string file;
  toml::value root;
  // oryx_config: a ValidatedTable that plugins may read (host kernel_table).
  oryx_config kernel, plugins, log, http, stats, preload, capture;
  std::vector<StageSpec> stages;  // [stage.*] and [service.*], in file order
  std::vector<unsigned> worker_lcores;
  // Set by a program that embeds the kernel (not from the file): one
  // hosted worker walked by the program's own threads (the shared-thread
  // model) instead of worker_lcores, with main_lcore one of its CPUs.
  bool hosted_worker = false;

  const StageSpec* find_stage(const std::string& name) const;
  const oryx_config* table(const std::string& name) const;  // a kernel table, or nullptr
};

// Parses and validates everything that does not need plugins. Throws
// ConfigInvalid with every error found.
std::unique_ptr<ApplianceConfig> load_config(const std::string& file);
std::unique_ptr<ApplianceConfig> parse_config(const std::string& text, const std::string& file);

// Validates one stage table against its plugin's schema.
void validate_stage(StageSpec& stage, const std::string& file, const oryx_param* schema,
                    std::vector<ConfigError>& errors);

// Runs the plugin's own check of a validated stage table (ABI 1.7), if it
// has one; its "key: why" becomes an error at that key's line.
void check_stage(const StageSpec& stage, const std::string& file, const oryx_stage_desc& desc,
                 const oryx_host_api* host, std::vector<ConfigError>& errors);

// Stage and instance names: [a-z0-9_-], 1..48 characters (they become
// DPDK graph node names and Prometheus label values).
bool valid_stage_name(const std::string& name);
// Stage and service type names, one style for all: lower_snake_case,
// [a-z][a-z0-9_]*, 1..48 characters.
bool valid_stage_type(const std::string& name);
// Service registry names (ABI 1.2): [a-z0-9_.-], 1..64 characters.
bool valid_service_name(const std::string& name);

}  // namespace oryx::kernel
