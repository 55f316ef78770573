#!/usr/bin/env bash
# Installs the peers the benchmarks compare against, idempotently, into a cache outside the repo
# (default ~/.cache/slo-operator/peers, or $SLO_OPERATOR_CACHE/peers):
#   bin/sloth            Sloth v0.16.0, built from its Go module
#   slo-generator/       a virtualenv with slo-generator from PyPI (and setuptools<70, which
#                        its pkg_resources import needs)
#   bin/hyperfine        Debian's hyperfine (system package) for the generate benchmark
#   bin/pyrra            Pyrra, built from the source archive given as PYRRA_SRC (see below);
#                        without one, bench/pyrra.py reproduces its rule shapes, and
#                        docs/benchmarks.md says which was measured.
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

# Pyrra: its module is refused by the Go module proxy, so it is built from a source archive of a
# release (a `git archive` of the tag; its go.mod dependencies come from the module proxy) given
# as PYRRA_SRC (`make bench PYRRA_SRC=/path/to/pyrra-0.9.5-src.tar.gz`). Its main.go embeds
# ui/build, which a placeholder page satisfies for the `generate` command. Cached per archive
# (by checksum); without an archive the benchmark falls back to bench/pyrra.py's reproduction.
pyrra_src=${PYRRA_SRC:-}
if [ -n "$pyrra_src" ]; then
  if [ ! -f "$pyrra_src" ]; then
    log "PYRRA_SRC=$pyrra_src: no such file"
    echo "pyrra missing no-such-archive:$pyrra_src"
  else
    pyrra_key=$(sha256sum "$pyrra_src" | cut -c1-16)
    pyrra_bin="$cache/bin/pyrra-$pyrra_key"
    if [ ! -x "$pyrra_bin" ]; then
      log "building pyrra from $pyrra_src (a few minutes the first time)"
      work=$(mktemp -d)
      tar -xzf "$pyrra_src" -C "$work"
      top=$(find "$work" -mindepth 1 -maxdepth 2 -name go.mod -printf '%h\n' | head -1)
      mkdir -p "$top/ui/build" && echo '<!doctype html><title>pyrra</title>' >"$top/ui/build/index.html"
      if (cd "$top" && CGO_ENABLED=0 go build -trimpath -o "$pyrra_bin.tmp" .) >&2; then
        mv -f "$pyrra_bin.tmp" "$pyrra_bin"
        basename "$pyrra_src" >"$pyrra_bin.source"
      fi
      rm -rf "$work"
    fi
    if [ -x "$pyrra_bin" ]; then
      ln -sf "$(basename "$pyrra_bin")" "$cache/bin/pyrra"
      echo "pyrra built $pyrra_bin $(cat "$pyrra_bin.source")"
    else
      echo "pyrra missing go-build-failed"
    fi
  fi
fi
if [ -z "$pyrra_src" ]; then
  rm -f "$cache/bin/pyrra"
  echo "pyrra reproduced no-PYRRA_SRC-given"
elif [ ! -f "$pyrra_src" ]; then
  rm -f "$cache/bin/pyrra"
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
