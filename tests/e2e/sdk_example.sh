#!/usr/bin/env bash
# The SDK example plugin builds against the *installed* SDK (CMake package
# and pkg-config file) and runs inside oryxd with correct counters.
source "$(dirname "$0")/lib.sh"

PREFIX=$WORK/prefix
cmake --install "$ORYX_BUILD" --prefix "$PREFIX" --component devel >"$WORK/install.log" 2>&1
[ -f "$PREFIX/include/oryx/abi.h" ] || fail "SDK headers not installed"
INC=$(PKG_CONFIG_PATH=$(dirname "$(find "$PREFIX" -name oryx-sdk.pc)") pkg-config --variable=includedir oryx-sdk)
[ -f "$INC/oryx/sdk.hpp" ] || fail "oryx-sdk.pc points to $INC, which lacks oryx/sdk.hpp"
cmake -S "$ORYX_SOURCE/sdk/examples/length-filter" -B "$WORK/example" \
  -DCMAKE_PREFIX_PATH="$PREFIX" -DCMAKE_EXPORT_COMPILE_COMMANDS=ON >"$WORK/configure.log" || { cat "$WORK/configure.log"; fail "configure"; }
cmake --build "$WORK/example" >"$WORK/build.log" 2>&1 || { cat "$WORK/build.log"; fail "build"; }
grep -q -- "$PREFIX/include" "$WORK/example/compile_commands.json" || fail "example not compiled against the installed SDK"
grep -q "$ORYX_SOURCE/sdk/include\|$ORYX_SOURCE/kernel" "$WORK/example/compile_commands.json" &&
  fail "example compiled against the source tree"
log "example plugin built against the installed SDK"
# Its in-process tests (the plugin test kit from the same install); the io
# plugin's ring and null ports come from this build.
ORYX_TEST_PLUGIN_PATH="$ORYX_BUILD/plugins" "$WORK/example/length_filter_test" >"$WORK/kit.log" 2>&1 ||
  { cat "$WORK/kit.log"; fail "the example's test-kit tests"; }
grep "All tests passed" "$WORK/kit.log" >/dev/null || fail "the example's test-kit tests did not run"
log "example's in-process tests pass against the installed test kit"

CFG=$(write_config sdk "
[kernel]
hugepages = false
file_prefix = \"sdk$TAG\"
[stage.gen]
type = \"port\"
driver = \"null\"
packet_size = 200
next = \"split\"
[stage.split]
type = \"length_filter\"
max_length = 128
next = [\"short\", \"long\"]
[stage.short]
type = \"port\"
driver = \"null\"
[stage.long]
type = \"port\"
driver = \"ring\"
")
sed -i "s|^path = \[\"$PLUGINS\"\]|path = [\"$PLUGINS\", \"$WORK/example/plugins\"]|" "$CFG"
start_oryxd sdk "$CFG"
api "$sdk_URL" /api/v1/plugins | json "[p['name'] for p in j]" | grepq length_filter || fail "plugin not listed"
counter() { api "$sdk_URL" /api/v1/stats | json "j['stages']['split']['counters']['$1']"; }
wait_until 5 '[ "$(counter long)" -gt 1000 ]' || fail "long = $(counter long)"
[ "$(counter short)" -eq 0 ] || fail "200-byte packets counted short"
LONG_TX=$(api "$sdk_URL" /api/v1/stats | json "j['stages']['long']['counters']['tx_packets']")
[ "$LONG_TX" -gt 0 ] || fail "nothing reached the long port"
stop_oryxd "$sdk_PID" || fail "exit status $?"
log "PASS"
