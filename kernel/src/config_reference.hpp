// SPDX-License-Identifier: Apache-2.0
// config_reference.hpp - the configuration reference (Markdown) rendered
// from the kernel's and the loaded plugins' schemas, so the documentation
// cannot drift from what the validator accepts.
#pragma once

#include "plugin_loader.hpp"

#include <string>

namespace oryx::kernel {

std::string config_reference(const PluginLoader& loader);

}  // namespace oryx::kernel
