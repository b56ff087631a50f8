#!/usr/bin/env bash
# kubernetes_test.sh - the node manifests (packaging/kubernetes) checked
# without a cluster: well-formed objects (the DaemonSet's selector, mounts
# and volumes agree; hostPaths absolute; images and commands set), kubectl
# reads them (kustomize, and the DaemonSet through `set env --local`, when
# kubectl is installed: a client dry run needs an API server), the
# ConfigMap's appliance.toml passes oryxd --check-config, its conflist is
# accepted by oryx-cni, and every file they name is in the .deb, manifests
# included.
#
# Usage: tests/packaging/kubernetes_test.sh BUILD_DIR PACKAGE_DIR
set -euo pipefail
BUILD=$(cd "$1" && pwd)
PKG=$(cd "$2" && pwd)
SRC=$(cd "$(dirname "$0")/../.." && pwd)
DIR=$SRC/packaging/kubernetes
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
log() { printf '[%s] %s\n' "$(date +%T)" "$*"; }
fail() { printf 'FAIL: %s\n' "$*" >&2; exit 1; }

log "objects well formed"
/usr/bin/python3 - "$DIR" "$WORK" <<'PY' || fail "manifests"
import json, os, sys, yaml
d, work = sys.argv[1], sys.argv[2]
objs = [o for f in ("configmap.yaml", "daemonset.yaml") for o in yaml.safe_load_all(open(os.path.join(d, f)))]
kinds = {o["kind"]: o for o in objs}
assert set(kinds) == {"ConfigMap", "DaemonSet"}, kinds.keys()
cm, ds = kinds["ConfigMap"], kinds["DaemonSet"]
assert cm["apiVersion"] == "v1" and ds["apiVersion"] == "apps/v1"
for o in objs:
    assert o["metadata"]["name"] and o["metadata"]["namespace"] == "kube-system", o["metadata"]
spec = ds["spec"]["template"]["spec"]
labels = ds["spec"]["template"]["metadata"]["labels"]
assert all(labels.get(k) == v for k, v in ds["spec"]["selector"]["matchLabels"].items()), "selector"
assert spec["hostNetwork"] is True
volumes = {v["name"]: v for v in spec["volumes"]}
for c in spec["initContainers"] + spec["containers"]:
    assert c["image"] and c["command"], c["name"]
    for m in c["volumeMounts"]:
        assert m["name"] in volumes, (c["name"], m["name"])
        assert m["mountPath"].startswith("/")
for v in volumes.values():
    if "hostPath" in v:
        assert v["hostPath"]["path"].startswith("/"), v
    if "configMap" in v:
        assert v["configMap"]["name"] == cm["metadata"]["name"], v
# The files the pods read from the ConfigMap exist in it.
assert {"appliance.toml", "10-oryx.conflist"} <= set(cm["data"])
open(os.path.join(work, "appliance.toml"), "w").write(cm["data"]["appliance.toml"].replace("@TOKEN@", "t0ken"))
conf = json.loads(cm["data"]["10-oryx.conflist"])
plugin = dict(conf["plugins"][0], cniVersion=conf["cniVersion"], name=conf["name"])
json.dump(plugin, open(os.path.join(work, "plugin.json"), "w"))
# Every absolute path the commands name, for the package check below.
paths = set()
for c in spec["initContainers"] + spec["containers"]:
    for word in " ".join(c["command"]).split():
        if word.startswith("/usr/"):
            paths.add(word)
open(os.path.join(work, "paths"), "w").write("\n".join(sorted(paths)) + "\n")
PY

if command -v kubectl >/dev/null; then
  log "kubectl reads them (offline)"
  kubectl kustomize "$DIR" >"$WORK/rendered.yaml" || fail "kubectl kustomize"
  grep -q "kind: DaemonSet" "$WORK/rendered.yaml" || fail "kustomize lost the DaemonSet"
  kubectl set env --local -f "$DIR/daemonset.yaml" -o yaml CHECK=1 >/dev/null ||
    fail "kubectl does not read the DaemonSet"
else
  log "kubectl not installed: its checks skipped"
fi

log "the ConfigMap's appliance.toml is valid; its conflist is oryx-cni's"
"$BUILD/kernel/oryxd" --check-config "$WORK/appliance.toml" -p "$BUILD/plugins" >"$WORK/check.out" 2>&1 ||
  fail "appliance.toml of the ConfigMap: $(grep -v ' info ' "$WORK/check.out")"
# No oryxd listens on the node's port here: STATUS must fail as
# "not available" (50), not on the configuration (2, 7).
out=$(CNI_COMMAND=STATUS CNI_PATH=/usr/lib/cni "$BUILD/kernel/cni/oryx-cni" <"$WORK/plugin.json" || true)
echo "$out" | /usr/bin/python3 -c "import json,sys; c=json.load(sys.stdin).get('code'); sys.exit(c not in (50,))" ||
  fail "oryx-cni on the ConfigMap's conflist: $out"

log "what they name is in the package"
DEB=$(ls "$PKG"/oryx_*_amd64.deb)
dpkg-deb -c "$DEB" | awk '{print substr($6, 2)}' >"$WORK/contents"
while read -r p; do
  [ -z "$p" ] || grep -qx "$p" "$WORK/contents" || fail "$p is not in $(basename "$DEB")"
done <"$WORK/paths"
for f in configmap.yaml daemonset.yaml kustomization.yaml Containerfile; do
  grep -qx "/usr/share/oryx/kubernetes/$f" "$WORK/contents" || fail "the package lacks kubernetes/$f"
done
grep -q "oryx_0.1.0_amd64.deb" "$DIR/Containerfile" && [ -e "$PKG/oryx_0.1.0_amd64.deb" ] ||
  fail "the Containerfile names a package make package does not make"
log "PASS"
