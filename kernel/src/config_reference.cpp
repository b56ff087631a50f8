// SPDX-License-Identifier: Apache-2.0
// config_reference.cpp - Markdown tables from oryx_param schemas.
#include "config_reference.hpp"

#include "value_formats.hpp"

#include "appliance_config.hpp"
#include "oryx/install_paths.h"

#include <sstream>

namespace oryx::kernel {

namespace {

const char* type_name(uint32_t type) {
  switch (type) {
    case ORYX_PARAM_BOOL: return "boolean";
    case ORYX_PARAM_INT: return "integer";
    case ORYX_PARAM_STRING: return "string";
    case ORYX_PARAM_STRING_LIST: return "list of strings";
  }
  return "?";
}

// Install-dependent defaults are shown symbolically so the reference is
// the same whatever prefix a build uses.
std::string symbolic(std::string s) {
  const std::pair<std::string, std::string> dirs[] = {
      {ORYX_DEFAULT_PLUGIN_DIR, "<libdir>/oryx/plugins-1"},
      {ORYX_DEFAULT_WEBUI_DIR, "<datadir>/oryx/webui"}};
  for (const auto& [from, to] : dirs)
    for (size_t at; (at = s.find(from)) != std::string::npos;) s.replace(at, from.size(), to);
  return s;
}

std::string escape(std::string s) {
  std::string out;
  for (char c : s) {
    if (c == '|') out += "\\|";
    else out += c;
  }
  return out;
}

void render_schema(std::ostringstream& out, const oryx_param* schema) {
  out << "| key | type | default | accepted | description |\n";
  out << "|---|---|---|---|---|\n";
  for (const oryx_param* p = schema; p && p->name; p++) {
    std::string accepted;
    if (p->type == ORYX_PARAM_INT) accepted = std::to_string(p->min) + " .. " + std::to_string(p->max);
    else if (p->type == ORYX_PARAM_STRING && is_format(p->choices))
      accepted = describe_format(p->choices) +
                 (p->default_value && std::string(p->default_value) == "\"\"" ? "; or empty" : "");
    else if (p->type == ORYX_PARAM_STRING && p->choices) accepted = describe_expected(*p).substr(7);
    else if (p->type == ORYX_PARAM_STRING_LIST)
      accepted = std::to_string(p->min) + " .. " + std::to_string(p->max) + " entries";
    std::string def = (p->flags & ORYX_PARAM_REQUIRED) ? "**required**"
                                                       : "`" + std::string(p->default_value) + "`";
    std::string help = p->help;
    if (p->flags & ORYX_PARAM_SECRET) help += " Shown as `<redacted>` by the API.";
    out << "| `" << p->name << "` | " << type_name(p->type) << " | " << escape(symbolic(def)) << " | "
        << escape(accepted) << " | " << escape(help) << " |\n";
  }
  if (!schema || !schema->name) out << "| (none) | | | | |\n";
}

}  // namespace

std::string config_reference(const PluginLoader& loader) {
  std::ostringstream out;
  out << "## Kernel tables\n\n";
  for (const auto& t : kernel_tables()) {
    out << "### `[" << t.name << "]`\n\n" << t.help << "\n\n";
    render_schema(out, t.schema);
    out << "\n";
  }
  out << "## Stage tables\n\n"
      << "Every `[stage.<name>]` table has the kernel's two keys plus the keys of its type.\n"
      << "`<name>` is 1..48 characters from `a-z`, `0-9`, `_` and `-`.\n\n"
      << "| key | type | default | description |\n|---|---|---|---|\n"
      << "| `type` | string | **required** | Stage type, provided by a loaded plugin (below). |\n"
      << "| `next` | string or list of strings | `[]` | Stages this one sends packets to; edge k "
         "(from 1) is the k-th name. Edge 0 is always the kernel's counted drop. |\n\n";
  out << "## Service tables\n\n"
      << "A service is provided by a plugin like a stage but never touches packets of the "
         "graph (the kernel fast paths, for instance). Every `[service.<name>]` table has the "
         "key `type` plus the keys of its type; it has no `next`. Stage and service names "
         "share one namespace. Service types are marked *service* below.\n\n";
  out << "## Types\n\n";
  for (const auto& p : loader.plugins()) {
    for (const auto* s : p.stages) {
      bool service = s->flags & ORYX_STAGE_SERVICE;
      out << "### " << (service ? "service" : "stage") << " type `" << s->name << "` (plugin `"
          << p.name << "` " << p.desc->version << ")\n\n"
          << s->help << (s->poll ? " Produces packets (node `<name>.rx`)." : "")
          << (s->process ? " Receives packets (node `<name>`)." : "")
          << (service ? " Declared as `[service.<name>]`." : "") << "\n\n";
      render_schema(out, s->params);
      if (s->counter_count) {
        out << "\nCounters (besides the kernel's `packets` and `drops`):\n\n"
            << "| counter | kind | unit | description |\n|---|---|---|---|\n";
        for (uint32_t i = 0; i < s->counter_count; i++) {
          const auto& c = s->counters[i];
          out << "| `" << c.name << "` | " << (c.kind == ORYX_COUNTER ? "counter" : "gauge")
              << " | " << (c.unit ? c.unit : "") << " | " << escape(c.help ? c.help : "")
              << " |\n";
        }
      }
      out << "\n";
    }
  }
  return out.str();
}

}  // namespace oryx::kernel
