#!/usr/bin/env bash
# `make demo`, stage one: what slo-operator does with the examples, offline.
# Validates every example, generates their Prometheus rules, checks them with the real promtool
# and prints a summary per SLO. (The local control-plane demo with live numbers replaces this
# once the evaluation engine lands; see README.)
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
bin=.venv/bin
out=$(mktemp -d "${TMPDIR:-/tmp}/slo-operator-demo.XXXXXX")
trap 'rm -rf "$out"' EXIT

echo "==> validating examples/"
"$bin/slo-operator" validate -f examples

echo "==> generating rules for every SLO in examples/"
"$bin/slo-operator" generate -f examples --format rulefile > "$out/rules.yaml"
"$bin/slo-operator" generate -f examples > "$out/prometheusrules.yaml"

echo "==> promtool check rules"
promtool check rules "$out/rules.yaml"

echo "==> summary"
"$bin/python" - "$out/rules.yaml" <<'PY'
import sys
from collections import defaultdict

import yaml

groups = yaml.safe_load(open(sys.argv[1]))["groups"]
per_slo = defaultdict(lambda: [0, 0, set()])
for group in groups:
    for rule in group["rules"]:
        slo = rule.get("labels", {}).get("slo") or group["name"].split("/")[2]
        kind = 0 if "record" in rule else 1
        per_slo[slo][kind] += 1
        if "alert" in rule:
            per_slo[slo][2].add(rule["alert"])
print(f"{'SLO':32} {'recording':>9} {'alerting':>8}  alerts")
for slo, (recording, alerting, alerts) in sorted(per_slo.items()):
    print(f"{slo:32} {recording:>9} {alerting:>8}  {', '.join(sorted(alerts))}")
PY
echo
echo "Rules as PrometheusRule objects: slo-operator generate -f examples"
echo "Rules as a plain rule file:      slo-operator generate -f examples --format rulefile"
