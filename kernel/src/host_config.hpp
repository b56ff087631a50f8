// SPDX-License-Identifier: Apache-2.0
// host_config.hpp - the host table's config_* functions: typed reads of a
// validated table (oryx_config), shared by oryxd's host table and the
// plugin test kit's.
#pragma once

#include "config_schema.hpp"

#include <oryx/abi.h>

namespace oryx::kernel {

int host_config_bool(const oryx_config* cfg, const char* key, int* out);
int host_config_int(const oryx_config* cfg, const char* key, int64_t* out);
int host_config_string(const oryx_config* cfg, const char* key, const char** out);
int host_config_list_size(const oryx_config* cfg, const char* key, size_t* out);
int host_config_list_string(const oryx_config* cfg, const char* key, size_t i, const char** out);
int host_config_is_set(const oryx_config* cfg, const char* key);

}  // namespace oryx::kernel
