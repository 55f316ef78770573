#!/usr/bin/env bash
# Builds the metrics engines the accuracy suite runs on from their Go modules into version-keyed
# cache folders, and prints the folder of each as NAME=DIR lines on stdout:
#   prometheus3 (prometheus, promtool), victoriametrics (victoria-metrics, vmalert),
#   thanos (thanos), prometheus-operator (operator).
# Usage: hack/build-engines.sh [ENGINE...]   (default: all four)
#
# Idempotent: a binary already in the cache is not rebuilt. Safe to interrupt: each binary is
# linked to a temporary name and renamed into place only when complete. Safe to run twice at
# once: a lock per engine folder serialises builders. Modules are downloaded with the go command
# from the module proxy, like the control plane (hack/build-control-plane.sh); a module whose
# go.mod has replace directives (Thanos) is built inside a writable copy of its own folder.
# Cold build times are in docs/engines.md.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=/dev/null
source "$repo/hack/engines/versions.env"
# shellcheck source=/dev/null
source "$repo/hack/control-plane/versions.env"

go_version=$(go env GOVERSION)
cache_root=${SLO_OPERATOR_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/slo-operator}
export CGO_ENABLED=0
# A module's own go.work (Prometheus has one for its UI tooling) is not part of the build.
export GOWORK=off

log() { printf '[build-engines] %s\n' "$*" >&2; }
work=  # the writable copy of the module being built; removed on exit, also when interrupted
trap '[ -z "$work" ] || rm -rf "$work"' EXIT

module_dir() {  # module_dir MODULE@VERSION -> the read-only folder in the module cache
  local tmp dir
  tmp=$(mktemp -d)
  dir=$(cd "$tmp" && GOFLAGS=-mod=mod go mod download -json "$1" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
  rmdir "$tmp"
  if [ -z "$dir" ] || [ ! -f "$dir/go.mod" ]; then
    log "could not download $1"
    exit 1
  fi
  echo "$dir"
}

# A module's zip leaves out the nested modules that its go.mod replaces with local folders
# (prometheus-operator's pkg/apis/monitoring and pkg/client): put each back from the module proxy,
# at the version the go.mod requires.
restore_nested_modules() {  # restore_nested_modules WORK_DIR
  local work_dir=$1 module path version nested
  while read -r module path; do
    [ -e "$work_dir/$path" ] && continue
    version=$(awk -v m="$module" '$1 == m && $2 ~ /^v/ {print $2; exit}' "$work_dir/go.mod")
    log "restoring nested module $module@$version into $path"
    nested=$(module_dir "$module@$version")
    mkdir -p "$work_dir/$path"
    cp -r "$nested/." "$work_dir/$path/"
    chmod -R u+w "$work_dir/$path"
  done < <(sed -n 's#^[[:space:]]*\([^[:space:]]*\) => \(\./[^[:space:]]*\)[[:space:]]*$#\1 \2#p' "$work_dir/go.mod")
}

# build_engine NAME VERSION MODULE TAGS LDFLAGS BINARY=PACKAGE...
# Copies the module to a writable temporary folder (its own go.mod, go.sum and replace
# directives then apply as in its CI) and builds each package into the engine's cache folder.
build_engine() {
  local name=$1 version=$2 module=$3 tags=$4 ldflags=$5
  shift 5
  local dir="$cache_root/engines/${name}-${version}_${go_version}"
  mkdir -p "$dir"
  exec 9>"$dir/.lock"
  flock 9
  local missing=()
  local spec
  for spec in "$@"; do
    [ -x "$dir/${spec%%=*}" ] || missing+=("$spec")
  done
  if [ ${#missing[@]} -eq 0 ]; then
    log "$name $version: cached"
    exec 9>&-
    echo "$name=$dir"
    return
  fi
  local start=$SECONDS src
  log "$name $version: downloading $module@$version"
  src=$(module_dir "$module@$version")
  work=$(mktemp -d)
  cp -r "$src/." "$work/"
  chmod -R u+w "$work"
  restore_nested_modules "$work"
  for spec in "${missing[@]}"; do
    local bin=${spec%%=*} pkg=${spec#*=}
    log "$name: building $pkg (a cold build takes minutes; go's cache makes retries fast)"
    (cd "$work" && go build -trimpath -tags "$tags" -ldflags "$ldflags" -o "$dir/.$bin.tmp" "$pkg")
    mv -f "$dir/.$bin.tmp" "$dir/$bin"
  done
  rm -rf "$work"
  work=
  log "$name $version: built in $((SECONDS - start))s"
  exec 9>&-
  echo "$name=$dir"
}

common_version=github.com/prometheus/common/version
build_prometheus3() {
  build_engine prometheus3 "$PROMETHEUS3_MODULE_VERSION" github.com/prometheus/prometheus \
    netgo,remove_all_sd \
    "-s -w -X $common_version.Version=$PROMETHEUS3_VERSION -X $common_version.Branch=HEAD" \
    prometheus=./cmd/prometheus promtool=./cmd/promtool
}
build_victoriametrics() {
  local buildinfo=github.com/VictoriaMetrics/VictoriaMetrics/lib/buildinfo
  build_engine victoriametrics "$VICTORIAMETRICS_VERSION" github.com/VictoriaMetrics/VictoriaMetrics \
    netgo "-s -w -X $buildinfo.Version=victoria-metrics-$VICTORIAMETRICS_VERSION" \
    victoria-metrics=./app/victoria-metrics vmalert=./app/vmalert
}
build_thanos() {
  # slicelabels: the labels layout Thanos is written for (its .promu.yml); without it Query
  # panics decoding a store's label sets.
  build_engine thanos "$THANOS_VERSION" github.com/thanos-io/thanos netgo,slicelabels \
    "-s -w -X $common_version.Version=${THANOS_VERSION#v}" thanos=./cmd/thanos
}
build_prometheus_operator() {
  build_engine prometheus-operator "$PROMETHEUS_OPERATOR_VERSION" \
    github.com/prometheus-operator/prometheus-operator netgo \
    "-s -w -X $common_version.Version=${PROMETHEUS_OPERATOR_VERSION#v}" operator=./cmd/operator
}

engines=("$@")
[ ${#engines[@]} -gt 0 ] || engines=(prometheus3 victoriametrics thanos prometheus-operator)
total_start=$SECONDS
for engine in "${engines[@]}"; do
  case $engine in
    prometheus3) build_prometheus3 ;;
    victoriametrics) build_victoriametrics ;;
    thanos) build_thanos ;;
    prometheus-operator) build_prometheus_operator ;;
    *) log "unknown engine: $engine (prometheus3 | victoriametrics | thanos | prometheus-operator)"; exit 2 ;;
  esac
done
log "engines ready ($((SECONDS - total_start))s)"
