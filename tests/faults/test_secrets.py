"""Backend credentials never leave the files they are read from.

The operator runs at `--log-level=debug` (kopf's, urllib3's and the clients' internals logged)
with four backends in front of a real Prometheus, each behind a proxy that answers 401 unless the
request carries the right `Authorization` header (testkit/faultproxy.py):

- `bearer`: a bearer token from a file, plus a tenant header (`X-Scope-OrgID`);
- `basic`: basic auth, user name and password from files;
- `wrong`: a bearer token the proxy refuses (the error path, where messages are built);
- `default`: `--prometheus-url` with the user and password in the URL itself.

An SLO uses each, one more names a policy webhook whose Secret URL carries a token. After the
backends were used (the proxies counted authorized requests, the refused one shows its 401 in
Ready), none of the secret strings appears in: the operator's log, the SLO objects and their
status, the namespace's Events, the operator's `/metrics`, and `slo-operator report` (Markdown and
HTML) run against the URL with credentials.
"""

from __future__ import annotations

import base64
import pathlib
import secrets
from collections.abc import Iterator
from typing import Any

import pytest
import yaml

from cluster.conftest import control_plane, kubeconfig
from slo_operator import cli
from support import waiting
from testkit import controlplane, faultproxy, operator_process, prometheus

__all__ = ["control_plane", "kubeconfig"]

pytestmark = pytest.mark.timeout(300)


def _secret(kind: str) -> str:
    return f"{kind}-{secrets.token_hex(12)}"


SECRETS = {
    kind: _secret(kind)
    for kind in ("token", "tenant", "user", "password", "wrong", "urluser", "urlpass", "hook")
}


def _basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[prometheus.PrometheusServer]:
    folder = tmp_path_factory.mktemp("secrets")
    with prometheus.PrometheusServer(folder / "tsdb", work_dir=folder / "prometheus") as running:
        yield running


def _slo(name: str, backend: str | None, webhook: bool = False) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "service": name,
        "indicator": {
            "ratio": {
                "errors": f'http_requests_total{{job="{name}",code=~"5.."}}',
                "total": f'http_requests_total{{job="{name}"}}',
            }
        },
        "window": "1d",
        "objectives": [{"name": "standard", "target": 99.0}],
    }
    if backend:
        spec["backend"] = backend
    if webhook:
        action = {"type": "Webhook", "webhook": {"secretRef": {"name": "hook", "key": "url"}}}
        spec["errorBudgetPolicy"] = [
            {"name": "freeze", "whenConsumedPercent": 50, "actions": [action]}
        ]
    return {
        "apiVersion": "slo.dev/v1alpha1",
        "kind": "ServiceLevelObjective",
        "metadata": {"name": name},
        "spec": spec,
    }


def _ready(plane: controlplane.ControlPlane, namespace: str, name: str) -> dict[str, Any]:
    body = plane.kubectl_json("get", "slo", name, "-n", namespace)
    for condition in (body.get("status") or {}).get("conditions") or []:
        if condition["type"] == "Ready":
            return dict(condition)
    return {}


def test_credentials_appear_nowhere_at_debug_level(
    control_plane: controlplane.ControlPlane,
    server: prometheus.PrometheusServer,
    tmp_path: pathlib.Path,
) -> None:
    namespace = control_plane.create_namespace(prefix="secrets")
    files = {}
    for kind in ("token", "user", "password", "wrong"):
        files[kind] = tmp_path / kind
        files[kind].write_text(SECRETS[kind] + "\n")
    with (
        faultproxy.FaultProxy(server.url) as bearer,
        faultproxy.FaultProxy(server.url) as basic,
        faultproxy.FaultProxy(server.url) as in_url,
    ):
        bearer.authorization = f"Bearer {SECRETS['token']}"
        basic.authorization = _basic(SECRETS["user"], SECRETS["password"])
        in_url.authorization = _basic(SECRETS["urluser"], SECRETS["urlpass"])
        backends = {
            "backends": [
                {
                    "name": "bearer",
                    "url": bearer.url,
                    "bearerTokenFile": str(files["token"]),
                    "headers": {"X-Scope-OrgID": SECRETS["tenant"]},
                },
                {
                    "name": "basic",
                    "url": basic.url,
                    "basicAuth": {
                        "usernameFile": str(files["user"]),
                        "passwordFile": str(files["password"]),
                    },
                },
                {"name": "wrong", "url": bearer.url, "bearerTokenFile": str(files["wrong"])},
            ]
        }
        backends_file = tmp_path / "backends.yaml"
        backends_file.write_text(yaml.safe_dump(backends))
        url_with_credentials = in_url.url.replace(
            "://", f"://{SECRETS['urluser']}:{SECRETS['urlpass']}@"
        )
        control_plane.kubectl(
            "create",
            "secret",
            "generic",
            "hook",
            "-n",
            namespace,
            f"--from-literal=url=http://127.0.0.1:9/hook?token={SECRETS['hook']}",
        )
        manifests = [
            _slo("via-bearer", "bearer"),
            _slo("via-basic", "basic"),
            _slo("via-wrong", "wrong"),
            _slo("via-url", None, webhook=True),
        ]
        for manifest in manifests:
            control_plane.apply(manifest, namespace=namespace)
        (tmp_path / "operator").mkdir()
        operator = operator_process.OperatorProcess(
            [
                f"--namespace={namespace}",
                f"--prometheus-url={url_with_credentials}",
                f"--backends-file={backends_file}",
                "--evaluation-interval=1",
                "--log-level=debug",
                "--policy-webhook-host=127.0.0.1",
            ],
            kubeconfig=control_plane.kubeconfig,
            log_dir=tmp_path / "operator",
        )
        with operator:

            def measured(name: str) -> bool:
                return _ready(control_plane, namespace, name).get("reason") in (
                    "NoData",
                    "Evaluated",
                    "BackendUnavailable",
                )

            for manifest in manifests:
                name = manifest["metadata"]["name"]
                waiting.wait_for(lambda n=name: measured(n), 90, f"{name} evaluated")
            metrics_text = operator.metrics()
        log = operator.log_path.read_text(errors="replace")

        objects = control_plane.kubectl("get", "slo", "-n", namespace, "-o", "yaml").stdout
        events = control_plane.kubectl("get", "events", "-n", namespace, "-o", "yaml").stdout
        report = tmp_path / "report.md"
        html = tmp_path / "report.html"
        code = cli.main(
            [
                "report",
                "-n",
                namespace,
                f"--prometheus-url={url_with_credentials}",
                f"--markdown={report}",
                f"--html={html}",
            ]
        )

        # Each credential was sent, and only the right one was accepted.
        assert bearer.authorized > 0 and basic.authorized > 0 and in_url.authorized > 0
        assert ("X-Scope-OrgID", SECRETS["tenant"]) in bearer.headers_seen
        for name in ("via-bearer", "via-basic", "via-url"):
            assert _ready(control_plane, namespace, name)["status"] == "True", name
        refused = _ready(control_plane, namespace, "via-wrong")
        assert refused["status"] == "False" and "401" in refused["message"], refused
        # urllib3's request lines: logged at debug level only.
        assert "/api/v1/query?" in log and 'HTTP/1.1" 200' in log

    places = {
        "operator log (debug)": log,
        "SLO objects": objects,
        "Events": events,
        "/metrics": metrics_text,
        "report (Markdown)": report.read_text() if report.exists() else "",
        "report (HTML)": html.read_text() if html.exists() else "",
    }
    requests_logged = log.count('HTTP/1.1" ')
    print(
        f"log {len(log.splitlines())} lines, {requests_logged} of them urllib3 requests; "
        f"report exit {code}; proxies authorized {bearer.authorized}/{basic.authorized}/"
        f"{in_url.authorized} requests"
    )
    assert places["report (Markdown)"], "the report was written"
    encoded = {
        _basic(SECRETS["user"], SECRETS["password"]).split()[1],
        _basic(SECRETS["urluser"], SECRETS["urlpass"]).split()[1],
    }
    for where, text in places.items():
        for kind, value in SECRETS.items():
            assert value not in text, f"{kind} found in {where}"
        for value in encoded:
            assert value not in text, f"encoded basic auth found in {where}"
    control_plane.delete_namespace(namespace)
