"""The webhook certificate the replicas share (kube/admission_tls.py), kept in a Secret of the
real apiserver: replicas starting at the same moment end up serving one certificate, and a
certificate that no longer fits is renewed once, not by every replica in turn."""

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

    # A host the certificate lacks: one new serving certificate from the same CA (the published
    # bundle stays valid), which the next replica reads as is.
    more = [*HOSTS, "slo-operator-webhook"]
    renewed = admission_tls.shared_certificates(api_client, namespace, "tls", more)
    assert renewed != found[0] and renewed.serves(more)
    assert (renewed.ca, renewed.ca_key) == (found[0].ca, found[0].ca_key)
    assert admission_tls.shared_certificates(api_client, namespace, "tls", more) == renewed
    version = control_plane.kubectl_json("get", "secret", "tls", "-n", namespace)
    assert base64.b64decode(version["data"]["tls.crt"]) == renewed.chain


def test_a_certificate_written_without_its_ca_key_is_replaced_with_a_bundle_of_both_cas(
    control_plane: controlplane.ControlPlane, namespace: str
) -> None:
    """A Secret from before renewal existed (no ca.key): the first replica to start replaces it,
    and the new bundle keeps the old CA for the replicas still serving the old certificate."""
    api_client = kubernetes.config.new_client_from_config(str(control_plane.kubeconfig))
    old = admission_tls.generate_certificates(HOSTS)
    data = {
        key: base64.b64encode(value).decode()
        for key, value in (("ca.crt", old.ca), ("tls.crt", old.chain), ("tls.key", old.key))
    }
    kubernetes.client.CoreV1Api(api_client).create_namespaced_secret(
        namespace,
        kubernetes.client.V1Secret(
            metadata=kubernetes.client.V1ObjectMeta(name="legacy"),
            type="kubernetes.io/tls",
            data=data,
        ),
    )
    replaced = admission_tls.shared_certificates(api_client, namespace, "legacy", HOSTS)
    assert replaced.ca_key and replaced.ca != old.ca
    ca_of_the_new = replaced.chain.split(b"-----END CERTIFICATE-----\n", 1)[1]
    assert replaced.ca == ca_of_the_new + old.ca
    assert admission_tls.shared_certificates(api_client, namespace, "legacy", HOSTS) == replaced
