"""The admission webhook's certificate renewed while the operator runs, as the real apiserver
sees it: no restart, the published CA bundle unchanged, and the apiserver still calls the
webhook after the first certificate has expired (kube/admission_tls.py, `Renewal`).

The operator runs as the chart runs it (`--webhook-cert-secret`), with `--webhook-cert-validity`
at its 1-minute minimum so the test sees a renewal; production's default is a year, renewed
30 days before its end (docs/operations.md).
"""

from __future__ import annotations

import base64
import datetime
import json
import pathlib
import socket
import ssl
import time
from typing import Any

from cryptography import x509

from support import waiting
from testkit import controlplane, operator_process

CONFIGURATION = "validatingwebhookconfiguration/slo-operator.slo.dev"


def _slo(namespace: str, errors: str) -> dict[str, Any]:
    return {
        "apiVersion": "slo.dev/v1alpha1",
        "kind": "ServiceLevelObjective",
        "metadata": {"name": "renewal", "namespace": namespace},
        "spec": {
            "service": "checkout",
            "indicator": {"ratio": {"errors": errors, "total": "http_requests_total"}},
            "window": "30d",
            "objectives": [{"name": "standard", "target": 99.9}],
        },
    }


def _served(port: int, bundle: pathlib.Path) -> x509.Certificate:
    """The certificate a new connection to the webhook gets, verified against `bundle`."""
    context = ssl.create_default_context(cafile=str(bundle))
    with context.wrap_socket(
        socket.create_connection(("127.0.0.1", port), timeout=10), server_hostname="127.0.0.1"
    ) as connection:
        der = connection.getpeercert(binary_form=True)
    assert der is not None
    return x509.load_der_x509_certificate(der)


def _dry_run(plane: controlplane.ControlPlane, body: dict[str, Any]) -> Any:
    return plane.kubectl(
        "create", "--dry-run=server", "-f", "-", stdin=json.dumps(body), check=False
    )


def test_the_webhook_certificate_is_renewed_while_the_operator_runs(
    control_plane: controlplane.ControlPlane, namespace: str, tmp_path: pathlib.Path
) -> None:
    plane = control_plane
    operator = operator_process.OperatorProcess(
        [
            f"--namespace={namespace}",
            "--prometheus-url=http://127.0.0.1:9",
            f"--webhook-cert-secret={namespace}/webhook-tls",
            "--webhook-cert-validity=1m",
        ],
        kubeconfig=plane.kubeconfig,
        log_dir=tmp_path,
    )
    with operator:
        waiting.wait_for(
            lambda: plane.kubectl_json("get", CONFIGURATION).get("webhooks"),
            30,
            "the webhook configuration",
        )
        published = plane.kubectl_json("get", CONFIGURATION)["webhooks"][0]["clientConfig"]
        bundle = tmp_path / "published-ca.crt"
        bundle.write_bytes(base64.b64decode(published["caBundle"]))
        first = _served(operator.webhook_port, bundle)
        # Past the first certificate's end: the apiserver still reaches the webhook, and the
        # webhook still judges (a regular expression only the PromQL parser refuses).
        ended = first.not_valid_after_utc - datetime.datetime.now(datetime.UTC)
        time.sleep(max(0.0, ended.total_seconds()) + 2)
        admitted = _dry_run(plane, _slo(namespace, 'http_requests_total{code=~"5.."}'))
        assert admitted.returncode == 0, admitted.stderr + operator.log(20)
        refused = _dry_run(plane, _slo(namespace, 'http_requests_total{code=~"5(("}'))
        assert refused.returncode != 0 and "spec.indicator.ratio.errors" in refused.stderr
        assert "validate-slo" in refused.stderr, refused.stderr

        now = _served(operator.webhook_port, bundle)
        assert now.serial_number != first.serial_number
        assert now.not_valid_after_utc > datetime.datetime.now(datetime.UTC)
        configuration = plane.kubectl_json("get", CONFIGURATION)
        assert all(
            hook["clientConfig"]["caBundle"] == published["caBundle"]
            for hook in configuration["webhooks"]
        )
        secret = plane.kubectl_json("get", "secret", "webhook-tls", "-n", namespace)["data"]
        kept = x509.load_pem_x509_certificate(base64.b64decode(secret["tls.crt"]))
        assert kept.serial_number == now.serial_number
        assert "renewed the webhook serving certificate" in operator.log(200)
        assert operator.process is not None and operator.process.poll() is None
