#!/usr/bin/env bash
# `make demo`: the product end to end on this machine, with live numbers.
# Builds the control plane once (cached), then runs `python -m testkit.demo up`:
# the local control plane, a synthetic multi-tenant shop with a Prometheus scraping it, what the
# Helm chart renders, the operator with the chart's ServiceAccount token, and the examples.
# `make demo-down` stops all of it. Details: testkit/demo.py.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"

echo "[demo] building the control plane (etcd, kube-apiserver, kube-controller-manager, kubectl, helm)." >&2
echo "[demo] The one-time build takes ~8-13 minutes on 2 cores; later runs reuse ~/.cache/slo-operator." >&2
began=$(date +%s)
bash hack/build-control-plane.sh >/dev/null
echo "[demo] control plane binaries ready after $(( $(date +%s) - began ))s" >&2

exec .venv/bin/python -m testkit.demo up "$@"
