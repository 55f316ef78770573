"""The webhook certificate the replicas share (kube/admission_tls.py), kept in a Secret of the
real apiserver: replicas starting at the same moment end up serving one certificate, and a
certificate that no longer fits is replaced once, not by every replica in turn."""

from __future__ import annotations

import base64
import concurrent.futures

import kubernetes

from slo_operator.kube import admission_tls
from testkit import controlplane

HOSTS = ["slo-operator-webhook.ops.svc", "slo-operator-webhook.ops.svc.cluster.local"]


def test_replicas_starting_together_share_one_certificate(
    control_plane: controlplane.ControlPlane, namespace: str
) -> None:
    api_client = kubernetes.config.new_client_from_config(str(control_plane.kubeconfig))
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        found = list(
            pool.map(
                lambda _: admission_tls.shared_certificates(api_client, namespace, "tls", HOSTS),
                range(4),
            )
        )
    assert all(certificates == found[0] for certificates in found)
    secret = control_plane.kubectl_json("get", "secret", "tls", "-n", namespace)
    assert secret["type"] == "kubernetes.io/tls"
    assert base64.b64decode(secret["data"]["ca.crt"]) == found[0].ca
    assert found[0].serves(HOSTS)

    # A host the certificate lacks: one new certificate, which the next replica reads as is.
    more = [*HOSTS, "slo-operator-webhook"]
    renewed = admission_tls.shared_certificates(api_client, namespace, "tls", more)
    assert renewed != found[0] and renewed.serves(more)
    # Replicas still serving the old certificate stay trusted: the bundle holds both CAs.
    assert renewed.ca == renewed.chain.split(b"-----END CERTIFICATE-----\n", 1)[1] + found[0].ca
    assert admission_tls.shared_certificates(api_client, namespace, "tls", more) == renewed
    version = control_plane.kubectl_json("get", "secret", "tls", "-n", namespace)
    assert base64.b64decode(version["data"]["tls.crt"]) == renewed.chain
