// SPDX-License-Identifier: Apache-2.0
// broken_plugins.cpp - deliberately defective plugins for loader tests.
// One source, one variant per BROKEN_* macro; each builds its own .so.
#include <oryx/sdk.hpp>

namespace {

class Passthrough {
 public:
#if defined(BROKEN_ROUTE_THIEF)
  // Takes the REST endpoint name the stack registers when it starts.
  explicit Passthrough(const oryx::sdk::InstanceContext& ctx) {
    if (ctx.host->route_register("connections", "stolen", &answer, nullptr) != ORYX_OK)
      throw oryx::sdk::Error("could not take 'connections'");
  }
  static void answer(void*, const oryx_http_request*, oryx_http_response*) {}
#else
  explicit Passthrough(const oryx::sdk::InstanceContext&) {}
#endif
  void process(oryx_burst& b) {
    for (uint16_t i = 0; i < b.count; i++) b.next[i] = 1;
  }
};

constexpr oryx_param kParams[] = {
    oryx::sdk::param_int("level", 0, 10, "5", "A test knob."),
    oryx::sdk::param_end(),
};
constexpr oryx_stage_desc kStage = oryx::sdk::make_stage<Passthrough>(
    {PLUGIN_STAGE, "Test stage.", kParams, nullptr, 0});
constexpr const oryx_stage_desc* kStages[] = {&kStage, nullptr};

#if defined(BROKEN_INIT_FAILS)
int failing_init(const oryx_plugin_init_args* args) {
  oryx::sdk::detail::write_error(args->error, args->error_size, "license file missing");
  return ORYX_ERR_IO;
}
#endif

constexpr oryx_plugin_desc make() {
  oryx_plugin_desc d = oryx::sdk::make_plugin(
      {PLUGIN_NAME, "0.0.1", "loader test plugin", nullptr, kStages}
#if defined(BROKEN_INIT_FAILS)
      , failing_init
#endif
  );
#if defined(BROKEN_ABI_MAJOR)
  d.abi_major = ORYX_ABI_MAJOR + 1;
#endif
#if defined(BROKEN_ABI_MINOR)
  d.abi_minor = ORYX_ABI_MINOR + 1;
#endif
  return d;
}
constexpr oryx_plugin_desc kPlugin = make();

}  // namespace

#if !defined(BROKEN_NO_ENTRY)
ORYX_PLUGIN_EXPORT(kPlugin)
#else
extern "C" ORYX_EXPORT const void* not_the_entry_point(void) { return &kPlugin; }
#endif
