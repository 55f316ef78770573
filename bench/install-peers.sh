#!/usr/bin/env bash
# Installs the peers the benchmarks compare against, idempotently, into a cache outside the repo
# (default ~/.cache/slo-operator/peers, or $SLO_OPERATOR_CACHE/peers):
#   bin/sloth            Sloth v0.16.0, built from its Go module
#   slo-generator/       a virtualenv with slo-generator from PyPI (and setuptools<70, which
#                        its pkg_resources import needs)
#   bin/hyperfine        Debian's hyperfine (system package) for the generate benchmark
# Pyrra is tried from its Go module; where the module proxy does not serve it the benchmark
# reproduces Pyrra's rule shapes (bench/peers/pyrra.py) and says so in docs/benchmarks.md.
# Prints one line per peer: NAME STATUS DETAIL.
set -uo pipefail
cache=${SLO_OPERATOR_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/slo-operator}/peers
mkdir -p "$cache/bin"
log() { printf '[install-peers] %s\n' "$*" >&2; }

sloth_version=v0.16.0
if [ ! -x "$cache/bin/sloth" ] || [ "$(cat "$cache/bin/.sloth-version" 2>/dev/null)" != "$sloth_version" ]; then
  log "building sloth $sloth_version from its Go module (a few minutes the first time)"
  if GOBIN="$cache/bin" CGO_ENABLED=0 go install "github.com/slok/sloth/cmd/sloth@$sloth_version" >&2; then
    echo "$sloth_version" >"$cache/bin/.sloth-version"
  fi
fi
if [ -x "$cache/bin/sloth" ]; then
  echo "sloth built $cache/bin/sloth $sloth_version"
else
  echo "sloth missing go-install-failed"
fi

pyrra_version=${PYRRA_VERSION:-latest}
if [ ! -x "$cache/bin/pyrra" ] && [ ! -f "$cache/bin/.pyrra-unavailable" ]; then
  log "trying pyrra@$pyrra_version from its Go module"
  if output=$(GOBIN="$cache/bin" CGO_ENABLED=0 go install "github.com/pyrra-dev/pyrra@$pyrra_version" 2>&1); then
    :
  else
    log "pyrra did not build: $(printf '%s' "$output" | tail -2 | tr '\n' ' ')"
    printf '%s\n' "$output" | tail -2 >"$cache/bin/.pyrra-unavailable"
  fi
fi
if [ -x "$cache/bin/pyrra" ]; then
  echo "pyrra built $cache/bin/pyrra $pyrra_version"
else
  # The reason without the proxy's address: "403 Forbidden", "not found", ...
  reason=$(grep -o -m1 -E '[0-9]{3} [A-Za-z ]+|not found|unknown revision' "$cache/bin/.pyrra-unavailable" || echo "build failed")
  echo "pyrra reproduced go install answered: $reason"
fi

venv="$cache/slo-generator"
if [ ! -x "$venv/bin/slo-generator" ]; then
  log "installing slo-generator from PyPI into $venv"
  python3 -m venv "$venv" && "$venv/bin/pip" install -q 'setuptools<70' 'slo-generator[prometheus]' >&2
fi
if [ -x "$venv/bin/slo-generator" ]; then
  echo "slo-generator installed $venv $("$venv/bin/pip" show slo-generator 2>/dev/null | sed -n 's/^Version: //p')"
else
  echo "slo-generator missing pip-install-failed"
fi

if ! command -v hyperfine >/dev/null; then
  log "installing Debian's hyperfine"
  sudo_cmd=""
  [ "$(id -u)" = 0 ] || sudo_cmd="sudo"
  { $sudo_cmd apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends hyperfine; } >&2 || true
fi
if command -v hyperfine >/dev/null; then
  echo "hyperfine installed $(command -v hyperfine) $(hyperfine --version | awk '{print $2}')"
else
  echo "hyperfine missing apt-failed"
fi
