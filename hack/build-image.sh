#!/usr/bin/env bash
# `make image`: the operator's OCI image, built without a container engine or a registry.
#
#   1. base layer: a Debian root file system (mmdebstrap, essential packages + Python 3.11,
#      CA certificates, time zones; no apt, no compiler, no docs), from this machine's own apt
#      sources, cached per suite and package list;
#   2. application layer: a virtualenv at /opt/slo-operator holding the operator's wheel and its
#      dependencies' wheels only (installed inside the root with pip run from its wheel file, so
#      no pip stays behind) -- what the Dockerfile's builder stage does;
#   3. the image configuration the Dockerfile states (user 65532, entry point `slo-operator run`,
#      working directory and HOME /tmp, the chart's ports), written with umoci, and the layout
#      saved as an OCI archive with skopeo.
#
# Prints the archive's path on stdout; progress on stderr. The image reference inside the archive
# is slo-operator:VERSION, as the chart's defaults name it. `--base-only` stops after step 1 (`make
# test` builds the base beside the other builds).
set -euo pipefail
base_only=false
[ "${1:-}" != --base-only ] || base_only=true
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
log() { printf '[image] %s\n' "$*" >&2; }

suite=bookworm
packages=python3.11,ca-certificates,tzdata
version=$(sed -n 's/^version = "\(.*\)"$/\1/p' pyproject.toml | head -1)
cache_root=${SLO_OPERATOR_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/slo-operator}
out_dir=${SLO_OPERATOR_IMAGE_DIR:-$repo/build/image}
archive="$out_dir/slo-operator-$version.oci.tar"
mkdir -p "$cache_root/image" "$out_dir"

sudo_cmd=""
[ "$(id -u)" = 0 ] || sudo_cmd="sudo"
missing=()
for tool in mmdebstrap umoci skopeo; do command -v "$tool" >/dev/null || missing+=("$tool"); done
if [ ${#missing[@]} -gt 0 ]; then
  log "installing Debian's ${missing[*]}"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# --- 1. the base root file system, cached ---------------------------------------------------
sources=$(ls /etc/apt/sources.list.d/*.sources 2>/dev/null | head -1 || true)
[ -n "$sources" ] || sources=/etc/apt/sources.list
base_key=$(printf '%s %s v1' "$suite" "$packages" | sha256sum | cut -c1-12)
base="$cache_root/image/base-$suite-$base_key.tar"
exec 9>"$cache_root/image/.lock"
flock 9
if [ ! -f "$base" ]; then
  log "base: Debian $suite with $packages (mmdebstrap; a few minutes the first time)"
  start=$SECONDS
  # Documentation, manuals and translations are left out; apt itself is not in the set.
  $sudo_cmd mmdebstrap --quiet --variant=essential --include="$packages" \
    --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/doc/*' \
    --dpkgopt='path-include=/usr/share/doc/*/copyright' \
    --dpkgopt='path-exclude=/usr/share/locale/*' --dpkgopt='path-exclude=/usr/share/info/*' \
    --customize-hook='rm -rf "$1"/var/cache/* "$1"/var/lib/apt/lists/* "$1"/var/log/*' \
    --mode=root --format=tar "$suite" "$base.tmp" "$sources"
  mv -f "$base.tmp" "$base"
  log "base: built in $((SECONDS - start))s"
else
  log "base: cached ($base)"
fi
if $base_only; then
  exit 0
fi

# --- 2. wheels of the operator and its dependencies -----------------------------------------
work=$(mktemp -d)
trap '$sudo_cmd rm -rf "$work"' EXIT
log "wheels: the operator and its dependencies"
.venv/bin/pip wheel --quiet --wheel-dir "$work/wheels" . >&2
.venv/bin/pip download --quiet --no-deps --dest "$work/pip" pip >&2

# --- 3. the layers, with umoci ---------------------------------------------------------------
layout="$work/layout"
umoci init --layout "$layout"
umoci new --image "$layout:slo-operator"
umoci unpack --image "$layout:slo-operator" "$work/bundle" >/dev/null
rootfs="$work/bundle/rootfs"
tar -xf "$base" -C "$rootfs"
umoci repack --refresh-bundle --image "$layout:slo-operator" --history.created_by "mmdebstrap $suite $packages" "$work/bundle"
log "base layer written"

mkdir -p "$rootfs/tmp/wheels"
cp "$work"/wheels/*.whl "$work"/pip/*.whl "$rootfs/tmp/wheels/"
pip_wheel=$(basename "$(ls "$work"/pip/pip-*.whl)")
env -i PATH=/usr/bin:/bin HOME=/root /usr/sbin/chroot "$rootfs" /usr/bin/python3.11 -m venv --without-pip /opt/slo-operator
env -i PATH=/usr/bin:/bin HOME=/root /usr/sbin/chroot "$rootfs" /opt/slo-operator/bin/python "/tmp/wheels/$pip_wheel/pip" install --quiet \
  --no-index --find-links /tmp/wheels --no-warn-script-location slo-operator >&2
rm -rf "$rootfs/tmp/wheels" "$rootfs/root/.cache"
umoci repack --image "$layout:slo-operator" --history.created_by "virtualenv /opt/slo-operator: slo-operator $version" "$work/bundle"
log "application layer written"

umoci config --image "$layout:slo-operator" --tag "$version" \
  --config.user=65532:65532 \
  --config.entrypoint=slo-operator --config.entrypoint=run \
  --config.workingdir=/tmp \
  --config.env=PATH=/opt/slo-operator/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
  --config.env=PYTHONDONTWRITEBYTECODE=1 --config.env=PYTHONUNBUFFERED=1 \
  --config.env=HOME=/tmp --config.env=USER=slo-operator \
  --config.exposedports=8080/tcp --config.exposedports=9090/tcp --config.exposedports=9443/tcp \
  --config.label=org.opencontainers.image.title=slo-operator \
  --config.label="org.opencontainers.image.version=$version" \
  --history.created_by "config: user 65532, entrypoint slo-operator run"
rm -f "$archive"
skopeo copy --quiet "oci:$layout:$version" "oci-archive:$archive:slo-operator:$version"
digest=$(skopeo inspect --format '{{.Digest}}' "oci-archive:$archive")
log "image slo-operator:$version $digest ($(du -h "$archive" | cut -f1))"
echo "$archive"
