#!/usr/bin/env bash
# install_test.sh PACKAGE_DIR - the packages as a user gets them:
#  - contents and metadata of both formats, lint findings against the
#    explained list in packaging/README.md;
#  - the .deb installed on this (Debian) machine: the installed oryxd on the
#    installed default configuration against test namespaces, the dashboard
#    and oryxctl status, an edited configuration kept across reinstall, the
#    SDK example built against the installed oryx-devel and loaded, then
#    removal leaving no process, XDP program or file behind;
#  - the .rpm installed into a scratch root, with its config-file flags.
# Run as root by `make test` after `make package`.
set -euo pipefail
# `grep -q` that reads all of its input (under pipefail, `grep -q` exiting
# at the first match can fail the writer and so the pipeline).
grepq() { grep "$@" >/dev/null; }
PKG=$(cd "${1:?package directory}" && pwd)
SRC=$(cd "$(dirname "$0")/../.." && pwd)
WORK=$(mktemp -d /tmp/oryx-pkg-XXXXXX)
log() { printf '[%s] %s\n' "$(date +%T)" "$*"; }
fail() { printf 'FAIL: %s\n' "$*" >&2; exit 1; }
NAMESPACES=()
cleanup() {
  local rc=$?
  [ -n "${ORYXD_PID:-}" ] && kill -TERM "$ORYXD_PID" 2>/dev/null && wait "$ORYXD_PID" 2>/dev/null
  dpkg -s oryx >/dev/null 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get purge -y -qq oryx oryx-plugins-stack oryx-devel >/dev/null 2>&1
  for side in west east svc; do ip link del "oryx-$side" 2>/dev/null || true; done
  for ns in "${NAMESPACES[@]}"; do ip netns del "$ns" 2>/dev/null || true; done
  rmdir /sys/fs/bpf/xdp 2>/dev/null || true
  [ $rc -ne 0 ] && [ -f "$WORK/oryxd.log" ] && tail -30 "$WORK/oryxd.log"
  rm -rf "$WORK"
  exit $rc
}
trap cleanup EXIT

DEB=$(ls "$PKG"/oryx_*_amd64.deb); DEB_STACK=$(ls "$PKG"/oryx-plugins-stack_*.deb); DEB_DEV=$(ls "$PKG"/oryx-devel_*.deb)
RPM=$(ls "$PKG"/oryx-[0-9]*.rpm); RPM_STACK=$(ls "$PKG"/oryx-plugins-stack-*.rpm); RPM_DEV=$(ls "$PKG"/oryx-devel-*.rpm)

log "contents and metadata"
# (grep without -q: it reads all input, so the producer never dies of
# SIGPIPE, which pipefail would report as a failure)
contents() { dpkg-deb -c "$1" | awk '{print $6}'; }
for f in ./usr/bin/oryxd ./usr/bin/oryxctl ./usr/bin/oryx ./usr/lib/x86_64-linux-gnu/oryx/liboryx-preload.so \
         ./usr/share/man/man1/oryx.1.gz ./usr/share/doc/oryx/compatibility.md ./etc/oryx/appliance.toml ./usr/lib/systemd/system/oryxd.service \
         ./usr/lib/x86_64-linux-gnu/oryx/plugins-1/io.so ./usr/lib/x86_64-linux-gnu/oryx/plugins-1/xconnect.so \
         ./usr/lib/x86_64-linux-gnu/oryx/plugins-1/vlan.so ./usr/lib/x86_64-linux-gnu/oryx/plugins-1/pdump.so \
         ./usr/share/oryx/webui/index.html ./usr/share/man/man8/oryxd.8.gz ./usr/share/man/man5/appliance.toml.5.gz \
         ./usr/libexec/oryx/oryx-prepare ./usr/share/doc/oryx/copyright ./usr/lib/cni/oryx-cni \
         ./opt/cni/bin/oryx-cni; do
  contents "$DEB" | grep -x "$f" >/dev/null || fail "oryx .deb lacks $f"
done
contents "$DEB_STACK" | grep -x ./usr/lib/x86_64-linux-gnu/oryx/plugins-1/stack.so >/dev/null || fail "stack plugin missing"
contents "$DEB" | grep stack.so >/dev/null && fail "the stack plugin belongs to oryx-plugins-stack"
contents "$DEB_DEV" | grep -x ./usr/include/oryx/abi.h >/dev/null || fail "devel lacks abi.h"
contents "$DEB_DEV" | grep -x ./usr/include/oryx/socket_api.h >/dev/null || fail "devel lacks socket_api.h"
contents "$DEB_DEV" | grep "OryxConfig.cmake" >/dev/null || fail "devel lacks the CMake package"
contents "$DEB_DEV" | grep "liboryx-testing.so" >/dev/null || fail "devel lacks the plugin test kit"
dpkg-deb -f "$DEB" Depends | grep "librte-net-af-xdp23" >/dev/null || fail "Depends lacks the AF_XDP driver"
# lwIP is compiled into the stack plugin (plugins/stack/lwip): no liblwip0.
dpkg-deb -f "$DEB_STACK" Depends | grep -i "lwip" >/dev/null && fail "stack Depends names lwIP, which is built in"
dpkg-deb -I "$DEB" conffiles | grep -x /etc/oryx/appliance.toml >/dev/null || fail "appliance.toml is not a conffile"
rpm -qpl "$RPM" 2>/dev/null | grep -x /usr/lib64/oryx/plugins-1/io.so >/dev/null || fail "rpm: plugins not in lib64"
rpm -qpl "$RPM" 2>/dev/null | grep -x /usr/lib/cni/oryx-cni >/dev/null || fail "rpm: no /usr/lib/cni/oryx-cni"
rpm -qpR "$RPM" 2>/dev/null | grep "^dpdk" >/dev/null || fail "rpm Requires lacks dpdk"
rpm -qpR "$RPM_STACK" 2>/dev/null | grep -i "lwip" >/dev/null && fail "rpm stack Requires names lwIP, which is built in"
rpm -qpc "$RPM" 2>/dev/null | grep -x /etc/oryx/appliance.toml >/dev/null || fail "rpm: appliance.toml not %config"

log "lint: every finding must be explained in packaging/README.md"
explained() { sed -n '/^<!-- lint:begin -->/,/^<!-- lint:end -->/p' "$SRC/packaging/README.md"; }
# The linters' exit codes reflect their findings; the list is what counts.
{ lintian --tag-display-limit 0 "$PKG"/*.deb 2>/dev/null || true; } >"$WORK/lintian.out"
{ rpmlint "$PKG"/*.rpm 2>/dev/null || true; } >"$WORK/rpmlint.out"
grep -E '^[EW]:' "$WORK/lintian.out" | sed -E 's/^[EW]: [^:]+: ([^ ]+).*/\1/' | sort -u >"$WORK/lintian" || true
grep -E ': [EW]: ' "$WORK/rpmlint.out" | sed -E 's/.*: [EW]: ([^ ]+).*/\1/' | sort -u >"$WORK/rpmlint" || true
for tag in $(cat "$WORK/lintian" "$WORK/rpmlint"); do
  explained | grepq "\`$tag\`" || fail "unexplained lint finding: $tag"
done
log "lintian: $(wc -l <"$WORK/lintian") tag(s), rpmlint: $(wc -l <"$WORK/rpmlint") tag(s), all explained"

log "install the .deb packages"
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$DEB" "$DEB_STACK" "$DEB_DEV" >"$WORK/apt.log" 2>&1 || { cat "$WORK/apt.log"; fail "apt-get install"; }
[ -x /usr/bin/oryxd ] && man -w oryxd >/dev/null 2>&1 || fail "oryxd or its man page not installed"
/usr/bin/oryx --help | grepq "oryx run" && man -w oryx >/dev/null 2>&1 || fail "oryx run or its man page not installed"
/usr/bin/oryxd --check-config /etc/oryx/appliance.toml >/dev/null || fail "installed default config invalid"

# The installed default configuration expects oryx-west, oryx-east and
# oryx-svc; give it test namespaces behind them, as make demo does.
for side in west east svc; do
  ip netns add "oryx-pkg-$side"; NAMESPACES+=("oryx-pkg-$side")
  ip link add "oryx-$side" type veth peer name eth0 netns "oryx-pkg-$side"
  sysctl -qw "net.ipv6.conf.oryx-$side.disable_ipv6=1"
  ip netns exec "oryx-pkg-$side" ethtool -K eth0 tx off rx off >/dev/null 2>&1 || true
  ip link set "oryx-$side" up; ip netns exec "oryx-pkg-$side" ip link set eth0 up
done
ip netns exec oryx-pkg-svc ip addr add 198.18.1.1/24 dev eth0
# wait_api PID LOG: until the installed oryxd (PID) answers on its REST API;
# fails at once if it exits, or after 30 s.
wait_api() {
  local pid=$1 log=$2
  for _ in $(seq 300); do
    kill -0 "$pid" 2>/dev/null || fail "installed oryxd exited during start-up: $(tail -5 "$log")"
    curl -sf -o /dev/null http://127.0.0.1:8080/api/v1/status && return 0
    sleep 0.1
  done
  fail "installed oryxd did not answer within 30 s: $(tail -5 "$log")"
}
/usr/libexec/oryx/oryx-prepare /etc/oryx/appliance.toml || fail "oryx-prepare"
/usr/bin/oryxd -c /etc/oryx/appliance.toml >"$WORK/oryxd.log" 2>&1 &
ORYXD_PID=$!
wait_api "$ORYXD_PID" "$WORK/oryxd.log"
# Whole answers to files, then grep: no pipe a grep -q could cut short.
curl -sf -o "$WORK/index.html" http://127.0.0.1:8080/ || fail "dashboard request failed"
grep -q "<title>Oryx appliance</title>" "$WORK/index.html" || fail "dashboard not served from the installed webui"
/usr/bin/oryxctl status >"$WORK/status.out" || fail "oryxctl status failed"
# The CNI plugin runs from where runtimes look for plugins.
for cni in /usr/lib/cni/oryx-cni /opt/cni/bin/oryx-cni; do
  CNI_COMMAND=VERSION "$cni" <<<'{"cniVersion": "1.1.0"}' | grep -q '"1.1.0"' || fail "$cni VERSION"
done
grep -q "^state *running" "$WORK/status.out" || fail "oryxctl status: $(cat "$WORK/status.out")"
/usr/bin/oryxctl plugins >"$WORK/plugins.out" || fail "oryxctl plugins failed"
grep -q "^stack " "$WORK/plugins.out" || fail "stack plugin not loaded from the installed plugin directory"
ip netns exec oryx-pkg-svc ping -c 2 -W 2 198.18.1.10 >/dev/null || fail "installed stack does not answer ping"
log "installed oryxd runs on the installed default configuration"

log "the hardened unit: valid, and its capabilities are enough"
UNIT=/usr/lib/systemd/system/oryxd.service
systemd-analyze verify "$UNIT" >"$WORK/verify.out" 2>&1 || fail "systemd-analyze verify: $(cat "$WORK/verify.out")"
[ ! -s "$WORK/verify.out" ] || fail "systemd-analyze verify: $(cat "$WORK/verify.out")"
kill -TERM "$ORYXD_PID"; wait "$ORYXD_PID" || fail "installed oryxd exit status $?"; ORYXD_PID=""
# The unit's CapabilityBoundingSet, as setpriv takes it: "-all,+net_admin,...".
CAPS=$(sed -n 's/^CapabilityBoundingSet=//p' "$UNIT" | tr 'A-Z' 'a-z' | sed 's/cap_/+/g; s/ /,/g')
setpriv --bounding-set="-all,$CAPS" --inh-caps="-all" /usr/bin/oryxd -c /etc/oryx/appliance.toml \
  >"$WORK/oryxd-caps.log" 2>&1 &
ORYXD_PID=$!
wait_api "$ORYXD_PID" "$WORK/oryxd-caps.log"
[ "$(awk '/^CapBnd/ {print $2}' /proc/$ORYXD_PID/status)" != "$(awk '/^CapBnd/ {print $2}' /proc/$$/status)" ] ||
  fail "setpriv did not narrow oryxd's bounding set"
ip netns exec oryx-pkg-svc ping -c 2 -W 2 198.18.1.10 >/dev/null ||
  fail "oryxd with the unit's capabilities does not answer ping: $(tail -5 "$WORK/oryxd-caps.log")"

log "the SDK example against the installed oryx-devel"
cmake -S "$SRC/sdk/examples/length-filter" -B "$WORK/example" >/dev/null || fail "configure against installed SDK"
cmake --build "$WORK/example" >/dev/null || fail "build against installed SDK"
# The example's in-process tests, with the installed test kit and the
# installed io plugin (oryx_add_plugin_test's default path).
"$WORK/example/length_filter_test" >"$WORK/kit.log" 2>&1 || { cat "$WORK/kit.log"; fail "example test-kit tests"; }
chmod 755 "$WORK" "$WORK/example" "$WORK/example/plugins"
/usr/bin/oryxd -p "$WORK/example/plugins" --check-config /etc/oryx/appliance.toml 2>&1 |
  grep "loaded plugin length_filter .* from $WORK/example/plugins/" >/dev/null ||
  fail "example plugin not loaded by the installed oryxd"

log "an edited configuration survives reinstalling"
sed -i 's/^idle_sleep_max_us = 200/idle_sleep_max_us = 300/' /etc/oryx/appliance.toml
kill -TERM "$ORYXD_PID"; wait "$ORYXD_PID" || fail "installed oryxd exit status $?"; ORYXD_PID=""
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --reinstall "$DEB" >/dev/null 2>&1 || fail "reinstall"
grep -q "^idle_sleep_max_us = 300" /etc/oryx/appliance.toml || fail "reinstall replaced the edited configuration"

log "removal stops oryxd and leaves nothing behind"
/usr/bin/oryxd -c /etc/oryx/appliance.toml >"$WORK/oryxd2.log" 2>&1 &
ORYXD_PID=$!
wait_api "$ORYXD_PID" "$WORK/oryxd2.log"
DEBIAN_FRONTEND=noninteractive apt-get purge -y -qq oryx oryx-plugins-stack oryx-devel >/dev/null 2>&1 || fail "purge"
# The oryxd this test started (by PID, not by name: another may run on the host).
kill -0 "$ORYXD_PID" 2>/dev/null && fail "oryxd $ORYXD_PID still running after removal"
wait "$ORYXD_PID" 2>/dev/null || true
ORYXD_PID=""
for side in west east svc; do ip link show "oryx-$side" | grepq xdp && fail "XDP program left on oryx-$side"; done
[ ! -e /usr/bin/oryxd ] && [ ! -e /etc/oryx ] && [ ! -e /usr/lib/x86_64-linux-gnu/oryx ] || fail "files left after purge"

log "the .rpm packages in a scratch root"
ROOT=$WORK/rpmroot
mkdir -p "$ROOT"
rpm --root "$ROOT" --initdb
rpm --root "$ROOT" --nodeps --noscripts -i "$RPM" "$RPM_STACK" "$RPM_DEV" 2>/dev/null || fail "rpm -i into scratch root"
for f in /usr/bin/oryxd /usr/lib64/oryx/plugins-1/stack.so /etc/oryx/appliance.toml /usr/include/oryx/sdk.hpp; do
  [ -e "$ROOT$f" ] || fail "rpm scratch root lacks $f"
done
rpm --root "$ROOT" -qc oryx | grepq -x /etc/oryx/appliance.toml || fail "rpm: config file flag missing"
rpm --root "$ROOT" -q --qf '[%{FILENAMES} %{FILEFLAGS:fflags}\n]' oryx | grepq "^/etc/oryx/appliance.toml cn" ||
  fail "rpm: appliance.toml is not %config(noreplace)"
log "PASS"
