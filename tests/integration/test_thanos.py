"""Thanos as users run it when one Prometheus is not enough: what the accuracy suite does not show.

The accuracy suites (`test_rule_accuracy`, `test_evaluation_accuracy`, `test_sla_accuracy`) run
on the Thanos stack of `testkit.engines` like on every engine: two Prometheus 3 shards (one as two
replicas) behind sidecars, Query deduplicating on `replica`, the rules evaluated through Query.
Here, on the same stack without any recorded series:

* `evaluate` reads the raw series through Query: each tenant exact, also the one whose series
  are split between the shards, and the replicated shard counted once;
* a shard that does not answer makes `evaluate` fail, never answer from the other shard alone:
  Query refuses partial responses, and when a caller asks Query for them anyway
  (`partial_response=true`), the warnings Query attaches are refused by our client.
"""

from __future__ import annotations

import datetime
import json
import pathlib
import subprocess
import sys
from collections.abc import Iterator

import pytest
import yaml

from slo_operator.budget import rounding
from testkit import engines, synthetic

pytestmark = [pytest.mark.integration, pytest.mark.timeout(900)]

AT = datetime.datetime(2026, 1, 21, 0, 20, tzinfo=datetime.UTC)
DAY = 86400
TOTAL = 'http_requests_total{job="checkout"}'
BAD = 'http_requests_total{job="checkout",code=~"5.."}'
SLO = {
    "apiVersion": "slo.dev/v1alpha1",
    "kind": "ServiceLevelObjective",
    "metadata": {"name": "checkout-7d", "namespace": "thanos"},
    "spec": {
        "service": "checkout",
        "indicator": {"ratio": {"errors": BAD, "total": TOTAL}},
        "window": "7d",
        "objectives": [{"name": "standard", "target": 99.5}],
        "groupBy": ["tenant"],
    },
}


@pytest.fixture(scope="module")
def stack(
    synthetic_data: synthetic.SyntheticData, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[engines.ThanosStack]:
    with engines.ThanosStack(synthetic_data, tmp_path_factory.mktemp("thanos")) as started:
        yield started


def _evaluate(
    stack: engines.ThanosStack, folder: pathlib.Path, *query_params: str
) -> subprocess.CompletedProcess[str]:
    manifest = folder / "slo.yaml"
    manifest.write_text(yaml.safe_dump(SLO))
    return subprocess.run(
        [
            str(pathlib.Path(sys.executable).parent / "slo-operator"), "evaluate",
            "-f", str(manifest), "--prometheus-url", stack.url, "--at", AT.isoformat(),
            "-o", "json", *(f"--query-param={param}" for param in query_params),
        ],
        capture_output=True, text=True, check=False, timeout=120,
    )  # fmt: skip


def test_each_tenant_is_exact_across_shards_and_replicas(
    stack: engines.ThanosStack,
    synthetic_data: synthetic.SyntheticData,
    tmp_path: pathlib.Path,
) -> None:
    # globex's 5xx live on shard-b, the rest of it on shard-a; acme lives on shard-a's two
    # replicas; initech on shard-b alone (engines.SHARDS).
    assert stack.api.series_count(f'{BAD[:-1]},tenant="globex"}}', 0, AT.timestamp()) > 0
    completed = _evaluate(stack, tmp_path, "dedup=true", "partial_response=false")
    assert completed.returncode == 0, completed.stderr
    (status,) = [item["status"] for item in json.loads(completed.stdout)]
    at = AT.timestamp()
    truth = synthetic_data.counts_by(["tenant"], TOTAL, at - 7 * DAY, at, bad=BAD)
    groups = {group["labels"]["tenant"]: group for group in status["groups"]}
    assert sorted(groups) == ["acme", "globex", "initech"]
    for (tenant,), counts in truth.items():
        assert groups[tenant]["sli"] == rounding.sli(100 * counts.good / counts.total), tenant


def _stderr_of_failed_evaluate(
    stack: engines.ThanosStack, folder: pathlib.Path, *query_params: str
) -> str:
    completed = _evaluate(stack, folder, *query_params)
    assert completed.returncode == 1, completed.stdout
    assert completed.stdout == ""
    return completed.stderr


def test_a_shard_down_fails_the_evaluation_instead_of_answering_from_the_rest(
    stack: engines.ThanosStack, tmp_path: pathlib.Path
) -> None:
    shard_b = stack.shards[-1]
    shard_b.server.stop()
    try:
        refused = _stderr_of_failed_evaluate(stack, tmp_path)
        assert "backend 'default' unavailable" in refused, refused
        # Asked for partial responses, Query answers with warnings; our client refuses them.
        warned = _stderr_of_failed_evaluate(stack, tmp_path, "partial_response=true")
        assert "partial response" in warned, warned
    finally:
        shard_b.server.start()
    recovered = _evaluate(stack, tmp_path)
    assert recovered.returncode == 0, recovered.stderr
