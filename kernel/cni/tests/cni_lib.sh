# SPDX-License-Identifier: Apache-2.0
# cni_lib.sh - for the tests of oryx-cni, sourced after tests/e2e/lib.sh.

# start_pods_oryxd NAME [TOML]: an oryxd whose ebpf_bridge service "pods"
# starts with no port (oryx-cni adds them), with TOML's tables too, its
# API token in $WORK/token; sets URL (and NAME_URL, NAME_PID as
# start_oryxd does).
start_pods_oryxd() {
  echo "test-token-$TAG" >"$WORK/token"
  start_oryxd "$1" "$(write_config "$1" "
[kernel]
hugepages = false
memory_mb = 64
file_prefix = \"$1$TAG\"
[service.pods]
type = \"ebpf_bridge\"
${2:-}
")"
  eval "URL=\$${1}_URL"
}
