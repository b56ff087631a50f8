#!/usr/bin/env bash
# The dashboard loads in headless Debian chromium (playwright-core) and
# shows a live counter changing while traffic flows; API errors show.
source "$(dirname "$0")/lib.sh"

CFG=$(write_config ui "
[kernel]
hugepages = false
file_prefix = \"ui$TAG\"
idle = \"adaptive\"
[stage.gen]
type = \"port\"
driver = \"null\"
next = \"patch\"
[stage.sink]
type = \"port\"
driver = \"null\"
next = \"patch\"
[stage.patch]
type = \"xconnect\"
next = [\"gen\", \"sink\"]
")
start_oryxd ui "$CFG"
cd "$ORYX_SOURCE/tests/webui"
[ -d node_modules/playwright-core ] || fail "playwright-core missing: run make deps"
node dashboard.mjs "$ui_URL/" patch a_to_b "$WORK/dashboard.png" || fail "dashboard check failed"
if [ -n "${ORYX_SCREENSHOT:-}" ]; then cp "$WORK/dashboard.png" "$ORYX_SCREENSHOT"; fi
stop_oryxd "$ui_PID" || fail "oryxd exit status $?"
log "PASS"
