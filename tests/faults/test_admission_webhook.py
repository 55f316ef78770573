"""The operator's admission webhook, as the apiserver calls it: HTTPS to the real server of a
running `slo-operator run`, with hostile reviews and 50 at a time.

Promises (docs/reliability.md, "Hostile and malformed input"):

- every review is answered within the webhook's timeout with exactly the verdict of
  `slo-operator validate` (the same `check_resource`), a refusal naming each field;
- a body that is not a review (not JSON, nested 100,000 deep, 10 MB) gets a 4xx answer, never a
  5xx or a traceback in the log, and the server keeps answering;
- 50 concurrent reviews keep their latency under the timeout (p50/p99 printed for the page);
- an SLO whose name is at the 249-character limit gets its rules (its PrometheusRule is
  `slo-<name>`, 253 characters); a longer name is refused at admission (tests/cases).
"""

from __future__ import annotations

import concurrent.futures
import http.client
import json
import pathlib
import ssl
import statistics
import time
import uuid
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import hypothesis
import pytest

from cases import hostile_strategies, manifest_strategies
from cluster.conftest import control_plane, kubeconfig
from slo_operator.api import kind_names
from slo_operator.kube import admission_tls
from slo_operator.rules import checks
from support import waiting
from testkit import controlplane, operator_process

__all__ = ["control_plane", "kubeconfig"]

pytestmark = pytest.mark.timeout(600)

TIMEOUT_SECONDS = 10.0
"""The apiserver's default webhook timeout; the configuration the operator registers allows 30."""
CONCURRENT = 50

FUZZ = hypothesis.settings(
    derandomize=True,
    database=None,
    deadline=None,
    print_blob=True,
    suppress_health_check=list(hypothesis.HealthCheck),
)


class Webhook:
    """HTTPS client of the operator's webhook, trusting only the CA the operator generated."""

    def __init__(self, url: str, ca_file: pathlib.Path) -> None:
        parts = urlsplit(url)
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or 443
        self.path = parts.path
        self.context = ssl.create_default_context(cafile=str(ca_file))

    def post(self, body: bytes, path: str | None = None) -> tuple[int, bytes, float]:
        """(status, response body, seconds) of one POST, on a new connection as the apiserver
        opens them under load."""
        began = time.monotonic()
        connection = http.client.HTTPSConnection(
            self.host, self.port, context=self.context, timeout=60
        )
        try:
            connection.request(
                "POST", path or self.path, body, {"Content-Type": "application/json"}
            )
            response = connection.getresponse()
            return response.status, response.read(), time.monotonic() - began
        finally:
            connection.close()

    def review(
        self, obj: Any, plural: str, operation: str = "CREATE"
    ) -> tuple[dict[str, Any], float]:
        """The review's answer and its latency; an HTTP 400 answer for a review the apiserver
        could not have sent (`admission_tls.review_problem`) is returned as `{"http": 400}`."""
        uid = str(uuid.uuid4())
        request = {
            "apiVersion": "admission.k8s.io/v1",
            "kind": "AdmissionReview",
            "request": {
                "uid": uid,
                "kind": {
                    "group": "slo.dev",
                    "version": "v1alpha1",
                    "kind": kind_names.kind_of_plural(plural),
                },
                "resource": {"group": "slo.dev", "version": "v1alpha1", "resource": plural},
                "operation": operation,
                "userInfo": {"username": "fuzz"},
                "object": obj,
                "oldObject": None,
                "dryRun": True,
            },
        }
        status, body, seconds = self.post(json.dumps(request).encode())
        if admission_tls.review_problem(request) is not None:
            assert status == 400, (status, body[:500])
            return {"http": status}, seconds
        assert status == 200, (status, body[:500])
        answer = json.loads(body)
        assert answer["response"]["uid"] == uid
        return answer["response"], seconds


@pytest.fixture(scope="module")
def operator(
    control_plane: controlplane.ControlPlane, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[operator_process.OperatorProcess]:
    namespace = control_plane.create_namespace(prefix="admission")
    running = operator_process.OperatorProcess(
        [f"--namespace={namespace}"],
        kubeconfig=control_plane.kubeconfig,
        log_dir=tmp_path_factory.mktemp("admission"),
    )
    with running:
        running.namespace = namespace  # type: ignore[attr-defined]
        yield running
    control_plane.delete_namespace(namespace)


@pytest.fixture(scope="module")
def webhooks(
    control_plane: controlplane.ControlPlane, operator: operator_process.OperatorProcess
) -> dict[str, Webhook]:
    """The URL the operator registered for each plural, found where the apiserver finds it."""

    def registered() -> dict[str, str]:
        urls = {}
        found = control_plane.kubectl_json("get", "validatingwebhookconfigurations")
        for configuration in found.get("items", []):
            for hook in configuration.get("webhooks") or []:
                url = (hook.get("clientConfig") or {}).get("url", "")
                if f":{operator.webhook_port}/" not in url:
                    continue
                for rule in hook.get("rules") or []:
                    for plural in rule.get("resources") or []:
                        urls[plural] = str(url)
        return urls

    plurals = {kind_names.SLO_PLURAL, kind_names.SLA_PLURAL}
    waiting.wait_for(lambda: plurals <= set(registered()), 60, "the webhook configuration")
    ca_file = operator.log_dir / "webhook-certs" / "ca.crt"
    return {plural: Webhook(url, ca_file) for plural, url in registered().items()}


@pytest.fixture(scope="module")
def webhook(webhooks: dict[str, Webhook]) -> Webhook:
    """The SLOs' webhook."""
    return webhooks[kind_names.SLO_PLURAL]


def _plural(obj: Any) -> str:
    kind = obj.get("kind") if isinstance(obj, dict) else None
    if kind == "ServiceLevelAgreement":
        return kind_names.SLA_PLURAL
    return kind_names.SLO_PLURAL


def test_every_review_gets_the_verdict_of_validate(
    webhooks: dict[str, Webhook], capsys: pytest.CaptureFixture[str]
) -> None:
    latencies: list[float] = []
    verdicts = {"allowed": 0, "denied": 0, "not a review": 0}

    @hypothesis.settings(FUZZ, max_examples=250)
    @hypothesis.given(
        obj=hostile_strategies.HOSTILE_MANIFESTS
        | manifest_strategies.mutated_manifests(finite=True)
        | manifest_strategies.json_values(finite=True).filter(lambda value: value is not None)
    )
    def review(obj: Any) -> None:
        plural = _plural(obj)
        answer, seconds = webhooks[plural].review(obj, plural)
        latencies.append(seconds)
        assert seconds < TIMEOUT_SECONDS
        if "http" in answer:
            verdicts["not a review"] += 1
            return
        expected = checks.check_resource(obj, "<admission>")
        assert answer["allowed"] == (not isinstance(expected, list)), (answer, expected)
        if isinstance(expected, list):
            verdicts["denied"] += 1
            message = answer["status"]["message"]
            assert answer["status"]["code"] == 422
            assert "Traceback" not in message
            for problem in expected:
                assert f"{problem.field}: " in message or not problem.field, (problem, message)
        else:
            verdicts["allowed"] += 1

    review()
    with capsys.disabled():
        print(
            f"\nadmission fuzz: {len(latencies)} reviews over HTTPS, {verdicts}, "
            f"max {max(latencies) * 1000:.0f} ms"
        )


def _deep_json(depth: int) -> bytes:
    return ("[" * depth + "]" * depth).encode()


def _huge_review() -> bytes:
    obj = {
        "apiVersion": "slo.dev/v1alpha1",
        "kind": "ServiceLevelObjective",
        "metadata": {"name": "huge"},
        "spec": {"service": "x", "description": "x" * 10_000_000},
    }
    return json.dumps({"request": {"uid": "u", "object": obj}}).encode()


RAW_BODIES = {
    "not-json": lambda: b"\x00\xff{not json",
    "empty": lambda: b"",
    "json-scalar": lambda: b"42",
    "no-request": lambda: b'{"apiVersion": "admission.k8s.io/v1"}',
    "nested-100000": lambda: _deep_json(100_000),
    "nested-object-in-review": lambda: (
        b'{"request": {"uid": "u", "userInfo": {}, "resource": {"group": "slo.dev", '
        b'"version": "v1alpha1", "resource": "servicelevelobjectives"}, "object": '
        + _deep_json(5000)
        + b"}}"
    ),
    "10MB": _huge_review,
}


@pytest.mark.parametrize("case", list(RAW_BODIES))
def test_a_body_that_is_not_a_review_gets_a_client_error(
    case: str, webhook: Webhook, operator: operator_process.OperatorProcess
) -> None:
    status, body, seconds = webhook.post(RAW_BODIES[case]())
    print(f"{case}: HTTP {status} in {seconds * 1000:.0f} ms: {body[:120]!r}")
    assert seconds < TIMEOUT_SECONDS
    assert 400 <= status < 500, (status, body[:500])
    # Still serving, and nothing in the log reads like a crash.
    answer, _ = webhook.review(dict(hostile_strategies_valid()), kind_names.SLO_PLURAL)
    assert answer["allowed"]
    assert "Traceback" not in operator.log(lines=400)


def hostile_strategies_valid() -> dict[str, Any]:
    return {
        "apiVersion": "slo.dev/v1alpha1",
        "kind": "ServiceLevelObjective",
        "metadata": {"name": "fine", "namespace": "shop"},
        "spec": {
            "service": "checkout",
            "indicator": {"ratio": {"errors": 'x{code="500"}', "total": "x"}},
            "window": "30d",
            "objectives": [{"name": "standard", "target": 99.9}],
        },
    }


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def test_fifty_concurrent_reviews_stay_under_the_timeout(
    webhook: Webhook, capsys: pytest.CaptureFixture[str]
) -> None:
    valid = hostile_strategies_valid()
    invalid = json.loads(json.dumps(valid))
    invalid["spec"]["indicator"]["ratio"]["errors"] = 'x{code="5"} or vector(1)'
    rounds = 6
    latencies: list[float] = []
    began = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(CONCURRENT) as pool:
        for _ in range(rounds):
            futures = [
                pool.submit(webhook.review, valid if i % 2 else invalid, kind_names.SLO_PLURAL)
                for i in range(CONCURRENT)
            ]
            for index, future in enumerate(futures):
                answer, seconds = future.result(timeout=60)
                assert answer["allowed"] == bool(index % 2), answer
                latencies.append(seconds)
    wall = time.monotonic() - began
    p50, p99 = statistics.median(latencies), _percentile(latencies, 0.99)
    with capsys.disabled():
        print(
            f"\n{CONCURRENT} concurrent reviews x {rounds} rounds over HTTPS: p50 "
            f"{p50 * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms, max {max(latencies) * 1000:.0f} ms, "
            f"{len(latencies) / wall:.0f} reviews/s"
        )
    assert p99 < TIMEOUT_SECONDS
    assert max(latencies) < TIMEOUT_SECONDS


@pytest.mark.parametrize("length", [63, 64, 249])
def test_an_slo_named_at_the_length_limits_gets_its_rules(
    length: int,
    control_plane: controlplane.ControlPlane,
    operator: operator_process.OperatorProcess,
    webhooks: dict[str, Webhook],
) -> None:
    """Admitted through the webhook by the apiserver, then reconciled: the rule object is
    `slo-<name>` (at most 253 characters) and its labels hold at most 63."""
    namespace = operator.namespace  # type: ignore[attr-defined]
    body = hostile_strategies_valid()
    name = ("a" * (length - 1) + "z")[:length]
    body["metadata"] = {"name": name, "namespace": namespace}
    control_plane.apply(body)

    def ready() -> dict[str, Any]:
        found = control_plane.kubectl_json("get", "slo", name, "-n", namespace)
        conditions = (found.get("status") or {}).get("conditions") or []
        return next((c for c in conditions if c["type"] == "Ready"), {})

    waiting.wait_for(lambda: bool(ready()), 60, "Ready set")
    assert ready()["status"] == "True", ready()
    control_plane.kubectl("get", "prometheusrule", f"slo-{name}", "-n", namespace)
