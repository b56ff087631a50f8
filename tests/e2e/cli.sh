#!/usr/bin/env bash
# Command-line behaviour: --help and --version on every binary,
# --check-config exit codes and messages, refused plugins stop start-up,
# oryxctl's clear error when oryxd is not running.
source "$(dirname "$0")/lib.sh"

for bin in "$ORYXD" "$ORYXCTL"; do
  "$bin" --help | grepq "^Usage:" || fail "$bin --help"
  "$bin" --version | grepq "0\." || fail "$bin --version"
  "$bin" --no-such-option >/dev/null 2>&1 && fail "$bin accepted a bad option"
  [ $? -eq 2 ] || true
done

GOOD=$(write_config good "
[stage.p0]
type = \"port\"
driver = \"null\"
")
"$ORYXD" --check-config "$GOOD" >"$WORK/out" 2>&1 || fail "valid config refused: $(cat "$WORK/out")"
grep -q "configuration is valid (1 stages, [0-9]* plugins)" "$WORK/out" || fail "$(cat "$WORK/out")"

BAD=$(write_config bad "
[kernel]
burst = 0
")
rc=0
"$ORYXD" --check-config "$BAD" >"$WORK/out" 2>&1 || rc=$?
[ $rc -eq 1 ] || fail "bad config exit status $rc"
# line: where the offending key is in the file (after write_config's boilerplate)
line() { grep -n "$2" "$1" | cut -d: -f1; }
grep -q "bad.toml:$(line "$BAD" '^burst = 0'): kernel.burst: expected integer in 1..256, found 0" "$WORK/out" ||
  fail "$(cat "$WORK/out")"
BADSTAGE=$(write_config badstage "
[stage.p0]
type = \"port\"
driver = \"nul\"
")
rc=0
"$ORYXD" --check-config "$BADSTAGE" >"$WORK/out" 2>&1 || rc=$?
[ $rc -eq 1 ] || fail "bad stage exit status $rc"
grep -q "badstage.toml:$(line "$BADSTAGE" '^driver = "nul"'): stage.p0.driver: expected one of .*found \"nul\" (did you mean \"null\"?)" "$WORK/out" ||
  fail "$(cat "$WORK/out")"

# The shipped default configuration is valid.
"$ORYXD" -p "$PLUGINS" --check-config "$ORYX_SOURCE/etc/appliance.toml" >/dev/null || fail "etc/appliance.toml invalid"

# A refused plugin stops start-up with its reason and exit status 1.
# The kernel's plugin ABI, from `oryxd --version` ("... (plugin ABI 1.2)").
ABI=$("$ORYXD" --version | sed -n 's/.*plugin ABI \([0-9.]*\)).*/\1/p')
[ -n "$ABI" ] || fail "oryxd --version names no plugin ABI"
for variant in abi_major no_entry init_fails; do
  DIR=$WORK/plugins-$variant
  mkdir -p "$DIR"
  cp "$ORYX_BUILD/test-plugins/$variant/"*.so "$DIR/"
  CFG=$WORK/p$variant.toml
  printf '[kernel]\nhugepages = false\nfile_prefix = "cli%s"\n[plugins]\npath = ["%s"]\n[http]\nenabled = false\n' \
    "$TAG" "$DIR" >"$CFG"
  rc=0
  timeout 30 "$ORYXD" -c "$CFG" >"$WORK/out" 2>&1 || rc=$?
  case $variant in
    init_fails) [ $rc -eq 3 ] || fail "$variant: exit $rc"; grep -q "license file missing" "$WORK/out" || fail "$(cat "$WORK/out")" ;;
    abi_major) [ $rc -eq 1 ] || fail "$variant: exit $rc"; grep -q "built for plugin ABI $((${ABI%%.*} + 1)).${ABI#*.} but this kernel speaks ABI $ABI" "$WORK/out" || fail "$(cat "$WORK/out")" ;;
    no_entry) [ $rc -eq 1 ] || fail "$variant: exit $rc"; grep -q "no entry point" "$WORK/out" || fail "$(cat "$WORK/out")" ;;
  esac
done
[ ! -e "/var/run/dpdk/cli$TAG" ] || fail "runtime dir left after failed start"

# A stage that took the REST endpoint name the stack registers: the stack
# refuses to start (rather than run without its connections table) and
# says why.
DIR=$WORK/plugins-route_thief
mkdir -p "$DIR"
cp "$ORYX_BUILD/test-plugins/route_thief/"*.so "$DIR/"
# null_stack SUFFIX ADDRESS [TOML...]: stage wireSUFFIX, a null port, and
# stage ipSUFFIX, a stack on it at ADDRESS, with TOML lines added to it.
null_stack() {
  printf '[stage.wire%s]\ntype = "port"\ndriver = "null"\nnext = "ip%s"\n' "$1" "$1"
  printf '[stage.ip%s]\ntype = "stack"\naddress = "%s"\nnext = "wire%s"\n' "$1" "$2" "$1"
  printf '%s\n' "${@:3}"
}
# refused_start CONFIG WHY MESSAGE: oryxd must not start on CONFIG (it would
# be wrong WHY) and must say MESSAGE.
refused_start() {
  local rc=0
  timeout 30 "$ORYXD" -c "$1" >"$WORK/out" 2>&1 || rc=$?
  [ $rc -ne 0 ] || fail "oryxd started although $2"
  grepq "$3" "$WORK/out" || fail "no start-up error saying \"$3\": $(cat "$WORK/out")"
}

THIEF=$WORK/thief.toml
cat >"$THIEF" <<EOF
[kernel]
hugepages = false
file_prefix = "thief$TAG"
[plugins]
path = ["$PLUGINS", "$DIR"]
[http]
listen = "127.0.0.1:0"
webui_dir = ""
[stage.thief]
type = "teststage"
next = "ip"
$(null_stack "" 198.18.95.2/24)
EOF
refused_start "$THIEF" "another stage took the stack's endpoint" \
  "stage ip: start failed: cannot register the REST endpoint 'connections'"
[ ! -e "/var/run/dpdk/thief$TAG" ] || fail "runtime dir left after the refused start"

# lwIP is one instance per process, so two stacks cannot have different
# receive windows: the second refuses to start and says why.
TWO=$WORK/two-stacks.toml
cat >"$TWO" <<EOF
[kernel]
hugepages = false
file_prefix = "twostacks$TAG"
[plugins]
path = ["$PLUGINS"]
[http]
enabled = false
$(null_stack "" 198.18.95.2/24)
$(null_stack 2 198.18.96.2/24 "receive_window = 100000")
EOF
refused_start "$TWO" "two stacks have different receive windows" \
  "receive_window 100000 differs from the 1310720 of the stack already running"
# ... nor different ceilings for lwIP's connection pool.
sed -i -e 's/^receive_window = 100000$/max_connections = 1000/' "$TWO"
sed -i -e 's/file_prefix = "twostacks/file_prefix = "twoceilings/' "$TWO"
refused_start "$TWO" "two stacks have different connection ceilings" \
  "max_connections 1000 differs from the 262144 of the stack already running"

for args in "-u ftp://x status" "-u http://127.0.0.1:99999 status" "frobnicate" "stats --watch 0" "log io" \
            "show" "show /api/v1/bridge" "show bridge/fdb limit"; do
  rc=0
  "$ORYXCTL" $args >"$WORK/out" 2>&1 || rc=$?
  [ $rc -eq 2 ] || fail "oryxctl $args: exit $rc, expected 2 (bad usage): $(cat "$WORK/out")"
done
rc=0
"$ORYXCTL" -u http://127.0.0.1:1 status >"$WORK/out" 2>&1 || rc=$?
[ $rc -eq 3 ] || fail "oryxctl without oryxd: exit $rc"
grep -q "cannot reach oryxd at http://127.0.0.1:1" "$WORK/out" || fail "$(cat "$WORK/out")"
log "PASS"
