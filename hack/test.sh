#!/usr/bin/env bash
# `make test`: every tier, on a fresh machine or a warm one, in as little wall time as 2 cores allow.
#
#   1. the control plane, the engines and the image's Debian base are built side by side (each is
#      cached per version in ~/.cache/slo-operator and takes no time when cached; two Go builds at
#      once overlap one's module downloads and links with the other's compiles), while lint runs;
#   2. the tiers run as two pytest processes at once: most of a test's time is spent waiting on
#      Prometheus, the apiserver or the operator, so two streams fill the cores the waiting leaves
#      idle. Each has its own temporary folder; shared caches are built under file locks. On a
#      cold machine the second stream starts once the control plane is built, beside the other
#      builds (below).
#
# Progress goes to stdout every minute; each stream's whole output follows when it ends. Exits
# non-zero when a build, lint or any test fails. The second stream is a list of test paths
# (TEST_STREAM_B overrides it); the first is everything else under tests/, so a new test file or
# tier always runs.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
PY=.venv/bin/python
export PATH="$repo/.venv/bin:$PATH"

stream_b=${TEST_STREAM_B:-"tests/cluster tests/faults tests/e2e/test_demo.py tests/e2e/test_fresh_clone.py"}
ignore_b=()
for path in $stream_b; do ignore_b+=("--ignore=$path"); done
groups=("tests ${ignore_b[*]}" "$stream_b")
logs=$(mktemp -d "${TMPDIR:-/tmp}/slo-operator-test.XXXXXX")
began=$SECONDS
log() { printf '[test %dm%02ds] %s\n' $(((SECONDS - began) / 60)) $(((SECONDS - began) % 60)) "$*"; }
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true; done
}
trap cleanup EXIT
set -m # each background job in its own process group, so an interrupted run stops all of it

# --- 1. builds beside lint -----------------------------------------------------------------------
declare -A build_logs=(
  [control-plane]="bash hack/build-control-plane.sh"
  # prometheus-operator early: the second stream's one engine test needs it (and Prometheus 3).
  [engines]="bash hack/build-engines.sh prometheus3 prometheus-operator victoriametrics thanos"
  [image-base]="bash hack/build-image.sh --base-only"
)
declare -A build_pids=()
for name in "${!build_logs[@]}"; do
  ${build_logs[$name]} >"$logs/$name.log" 2>&1 &
  build_pids[$name]=$!
  pids+=($!)
done
log "building control plane, engines and image base in the background (logs in $logs)"

log "lint"
make --no-print-directory lint

failed=0
# tick: a 5 s pause (a job's end is noticed within 5 s); true once a minute, for a progress line.
ticks=0
tick() {
  sleep 5 &
  wait $! || true
  ticks=$((ticks + 1))
  [ $((ticks % 12)) = 0 ]
}

# wait_for_build NAME: progress every minute until that build ends; its log if it failed.
wait_for_build() {
  local name=$1
  # The build scripts' own lines say which step runs; go's download lines are noise here.
  log "waiting for $name: $(grep -a '^\[' "$logs/$name.log" 2>/dev/null | tail -n 1 || true)"
  while kill -0 "${build_pids[$name]}" 2>/dev/null; do
    if tick; then
      log "waiting for $name: $(grep -a '^\[' "$logs/$name.log" 2>/dev/null | tail -n 1 || true)"
    fi
  done
  if wait "${build_pids[$name]}"; then
    log "$name ready"
  else
    log "$name FAILED:"
    cat "$logs/$name.log"
    failed=1
  fi
  unset "build_pids[$name]"
}

# --- 2. the tiers, two streams at once -------------------------------------------------------------
# The second stream (cluster, faults) is the longer one and needs only the control plane, so it
# starts as soon as that is built, beside the engines' and the image base's builds, which use the
# cores its waits on real outages and takeovers leave idle (its one engine test waits on that
# engine's build lock, inside its 900 s). The first stream (integration on every engine, the
# image) starts once every build is done.
stream_pids=()
start_stream() {
  local index=$1
  # shellcheck disable=SC2086  # a stream is a list of test paths
  $PY -m pytest ${groups[$index]} --basetemp="$logs/tmp-$index" -p no:cacheprovider \
    >"$logs/stream-$index.log" 2>&1 &
  stream_pids[$index]=$!
  pids+=($!)
  log "stream $index started: ${groups[$index]}"
}
wait_for_build control-plane
[ "$failed" = 0 ] || exit 1
start_stream 1
for name in "${!build_pids[@]}"; do wait_for_build "$name"; done
[ "$failed" = 0 ] || exit 1
start_stream 0

progress() {
  local index=$1 last
  last=$(grep -ao '\[ *[0-9]*%\]' "$logs/stream-$index.log" 2>/dev/null | tail -n 1 || true)
  printf "stream %s %s" "$index" "${last:-[starting]}"
}
running=1
while [ "$running" = 1 ]; do
  running=0
  states=()
  for index in "${!stream_pids[@]}"; do
    if kill -0 "${stream_pids[$index]}" 2>/dev/null; then
      running=1
      states+=("$(progress "$index")")
    fi
  done
  if [ "$running" = 1 ] && tick; then
    log "running: $(IFS='|'; echo "${states[*]}")"
  fi
done

codes=()
for index in "${!stream_pids[@]}"; do
  code=0
  wait "${stream_pids[$index]}" || code=$?
  codes+=("$code")
  printf '\n========== stream %d: %s (exit %d) ==========\n' "$index" "${groups[$index]}" "$code"
  cat "$logs/stream-$index.log"
done
pids=()
log "done: exit codes ${codes[*]}"
for code in "${codes[@]}"; do
  if [ "$code" != 0 ]; then
    log "temporary files kept in $logs"
    exit 1
  fi
done
rm -rf "$logs"
