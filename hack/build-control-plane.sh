#!/usr/bin/env bash
# Builds the real control-plane components (etcd, kube-apiserver, kube-controller-manager,
# kubectl) and helm from their Go modules into a version-keyed cache, and prints the folder.
#
# Idempotent: a binary already in the cache is not rebuilt. Safe to interrupt: each binary is
# linked to a temporary name and renamed into place only when complete. Safe to run twice at
# once: a lock serialises builders. Progress goes to stderr; the cache folder to stdout.
#
# Cold build on 2 cores, module downloads included: 12.5 minutes measured under load (11 min of
# CPU), about 6 minutes once the modules are downloaded; cached: under a second.
# See docs/control-plane.md.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
mods="$repo/hack/control-plane"
# shellcheck source=/dev/null
source "$mods/versions.env"

go_version=$(go env GOVERSION)
cache_root=${SLO_OPERATOR_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/slo-operator}
bin_dir="$cache_root/bin/k8s-${K8S_VERSION}_etcd-${ETCD_VERSION}_helm-${HELM_VERSION}_${go_version}"
mkdir -p "$bin_dir"

exec 9>"$bin_dir/.lock"
flock 9

log() { printf '[build-control-plane] %s\n' "$*" >&2; }

# Version stamps so `kubectl version` and the apiserver's /version report the real release.
kube_ldflags="-s -w"
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  kube_ldflags+=" -X ${pkg}.gitVersion=${K8S_VERSION} -X ${pkg}.gitMajor=1 -X ${pkg}.gitMinor=$(echo "$K8S_VERSION" | cut -d. -f2)"
  kube_ldflags+=" -X ${pkg}.gitTreeState=clean -X ${pkg}.buildDate=1970-01-01T00:00:00Z"
done

build() {  # build NAME MODULE_DIR PACKAGE LDFLAGS
  local name=$1 dir=$2 pkg=$3 ldflags=$4
  if [ -x "$bin_dir/$name" ]; then
    log "$name: cached"
    return
  fi
  log "$name: building $pkg (cold builds take several minutes each; go's cache makes retries fast)"
  local start=$SECONDS
  (cd "$mods/$dir" && CGO_ENABLED=0 go build -mod=readonly -trimpath -ldflags "$ldflags" -o "$bin_dir/.$name.tmp" "$pkg")
  mv -f "$bin_dir/.$name.tmp" "$bin_dir/$name"
  log "$name: built in $((SECONDS - start))s"
}

# The prometheus-operator CRDs, copied out of its Go module (the same module proxy as the
# components; no binary is built): cached per version beside the binaries.
fetch_prometheus_operator_crds() {
  local dest="$cache_root/crds/prometheus-operator-${PROMETHEUS_OPERATOR_VERSION}"
  if [ -f "$dest/.complete" ]; then
    log "prometheus-operator CRDs: cached"
    return
  fi
  log "prometheus-operator CRDs: downloading github.com/prometheus-operator/prometheus-operator@${PROMETHEUS_OPERATOR_VERSION}"
  local module_dir tmp
  tmp=$(mktemp -d)
  module_dir=$(cd "$tmp" && GOFLAGS=-mod=mod go mod download -json \
    "github.com/prometheus-operator/prometheus-operator@${PROMETHEUS_OPERATOR_VERSION}" |
    sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
  rmdir "$tmp"
  if [ -z "$module_dir" ] || [ ! -d "$module_dir/example/prometheus-operator-crd" ]; then
    log "prometheus-operator CRDs: no example/prometheus-operator-crd/ in the downloaded module"
    exit 1
  fi
  rm -rf "$dest.tmp" && mkdir -p "$dest.tmp"
  cp "$module_dir"/example/prometheus-operator-crd/*.yaml "$dest.tmp/"
  chmod u+w "$dest.tmp"/*.yaml
  touch "$dest.tmp/.complete"
  rm -rf "$dest" && mv "$dest.tmp" "$dest"
}

total_start=$SECONDS
fetch_prometheus_operator_crds
build etcd etcd slo.dev/hack/etcd "-s -w"
build kube-apiserver kube k8s.io/kubernetes/cmd/kube-apiserver "$kube_ldflags"
build kubectl kube k8s.io/kubernetes/cmd/kubectl "$kube_ldflags"
build kube-controller-manager kube k8s.io/kubernetes/cmd/kube-controller-manager "$kube_ldflags"
build helm helm helm.sh/helm/v3/cmd/helm "-s -w -X helm.sh/helm/v3/internal/version.version=${HELM_VERSION}"
log "all components ready in $bin_dir ($((SECONDS - total_start))s)"
echo "$bin_dir"
