#!/usr/bin/env bash
# install-deps.sh - installs the Debian packages in debian-deps.txt that are
# missing. A package whose command is already on PATH from elsewhere (the
# nodesource nodejs bundles npm, and conflicts with Debian's npm) is skipped.
set -euo pipefail
list=$(dirname "$0")/debian-deps.txt
declare -A provides=([nodejs]=node [npm]=npm [chromium]=chromium [kubernetes-client]=kubectl)
missing=()
for pkg in $(sed -e 's/#.*//' "$list"); do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" && continue
  cmd=${provides[$pkg]:-}
  [ -n "$cmd" ] && command -v "$cmd" >/dev/null && continue
  missing+=("$pkg")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "all Debian packages present"
  exit 0
fi
echo "installing: ${missing[*]}"
apt-get update -qq
# nginx is only a benchmark peer, run by bench/ in a namespace: keep its
# package from starting a system service on port 80.
policy=/usr/sbin/policy-rc.d
guard=""
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' >"$policy"
  chmod 755 "$policy"
  guard=1
fi
rc=0
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" || rc=$?
[ -n "$guard" ] && rm -f "$policy"
exit $rc
