# Included by the packages' removal scripts (deb prerm, rpm preun): stop oryxd (the service, and
# any oryxd started from the packaged binary by hand) so that no process
# or XDP program outlives the package. Waits up to 20 s for a clean stop.
if [ -d /run/systemd/system ]; then
  systemctl stop oryxd.service >/dev/null 2>&1 || true
fi
pids=$(pidof /usr/bin/oryxd 2>/dev/null || true)
if [ -n "$pids" ]; then
  kill -TERM $pids 2>/dev/null || true
  i=0
  while [ $i -lt 200 ] && pidof /usr/bin/oryxd >/dev/null 2>&1; do sleep 0.1; i=$((i + 1)); done
  pids=$(pidof /usr/bin/oryxd 2>/dev/null || true)
  [ -n "$pids" ] && kill -KILL $pids 2>/dev/null || true
fi
