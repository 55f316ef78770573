#!/usr/bin/env bash
# Installs everything the tests and the demo need on a fresh Debian machine, idempotently:
# Debian's prometheus package (prometheus + promtool) and a virtualenv with the project.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"

log() { printf '[setup] %s\n' "$*" >&2; }

if ! command -v promtool >/dev/null || ! command -v prometheus >/dev/null; then
  log "installing Debian's prometheus package (prometheus, promtool)"
  sudo_cmd=""
  [ "$(id -u)" = 0 ] || sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends prometheus >/dev/null
  # The package starts a system-wide Prometheus where an init system runs; tests start their own.
  $sudo_cmd service prometheus stop >/dev/null 2>&1 || true
fi

# Lua interpreters for the Argo CD health check's tests (docs/argocd/): Argo CD runs gopher-lua,
# a Lua 5.1; the script is tested under 5.1 and 5.4 so it uses neither's extensions.
if ! command -v lua5.4 >/dev/null || ! command -v lua5.1 >/dev/null; then
  log "installing Debian's lua5.4 and lua5.1 packages"
  sudo_cmd=""
  [ "$(id -u)" = 0 ] || sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends lua5.4 lua5.1 >/dev/null
fi

# Headless Chromium and its WebDriver for the web UI's browser tests (tests/e2e/test_ui_browser.py,
# driven by Selenium): Debian's packages, so nothing is downloaded by a test.
if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then
  log "installing Debian's chromium and chromium-driver packages"
  sudo_cmd=""
  [ "$(id -u)" = 0 ] || sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends chromium chromium-driver >/dev/null
fi

stamp=.venv/.installed-$(cat pyproject.toml | sha256sum | cut -c1-16)
if [ ! -f "$stamp" ]; then
  log "creating .venv and installing slo-operator with its dev tools"
  [ -x .venv/bin/python ] || python3 -m venv .venv
  .venv/bin/pip install -q --upgrade pip
  .venv/bin/pip install -q -e '.[dev]'
  rm -f .venv/.installed-*
  touch "$stamp"
fi
