"""The admission webhook's TLS: a CA and serving certificate generated and kept by the operator."""

from __future__ import annotations

import datetime
import ipaddress
import pathlib
import tempfile
from collections.abc import AsyncIterator, Sequence
from typing import Any

import kopf
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from . import settings as operator_settings

CERT_VALIDITY = datetime.timedelta(days=365)
RENEW_BEFORE = datetime.timedelta(days=30)


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _san(hosts: Sequence[str]) -> x509.SubjectAlternativeName:
    entries: list[x509.GeneralName] = []
    for host in hosts:
        try:
            entries.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            entries.append(x509.DNSName(host))
    return x509.SubjectAlternativeName(entries)


def ensure_certificates(
    cert_dir: pathlib.Path, hosts: Sequence[str]
) -> tuple[bytes, pathlib.Path, pathlib.Path]:
    """The CA bundle and the serving certificate/key files, generated if absent or expiring.

    Certificates live in `cert_dir` (an emptyDir in the cluster) so a restarted container
    reuses them; the CA bundle is re-published into the webhook configuration by kopf.
    """
    cert_dir.mkdir(parents=True, exist_ok=True)
    ca_path, cert_path, key_path = cert_dir / "ca.crt", cert_dir / "tls.crt", cert_dir / "tls.key"
    if ca_path.exists() and cert_path.exists() and key_path.exists():
        current = x509.load_pem_x509_certificate(cert_path.read_bytes())
        names = current.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        have = {str(n.value) for n in names}
        fresh = current.not_valid_after_utc - datetime.datetime.now(datetime.UTC) > RENEW_BEFORE
        if fresh and set(hosts) <= have:
            return ca_path.read_bytes(), cert_path, key_path
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(_name("slo-operator-webhook-ca"))
        .issuer_name(_name("slo-operator-webhook-ca"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + CERT_VALIDITY)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(hosts[0]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + CERT_VALIDITY)
        .add_extension(_san(hosts), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    ca_pem = ca_cert.public_bytes(serialization.Encoding.PEM)
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    key_path.chmod(0o600)
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM) + ca_pem)
    ca_path.write_bytes(ca_pem)
    return ca_pem, cert_path, key_path


class ServiceWebhookServer(kopf.WebhookServer):
    """kopf's server, but published as a Service reference (in-cluster) instead of a URL."""

    def __init__(self, *, service_namespace: str, service_name: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.service_namespace = service_namespace
        self.service_name = service_name

    async def __call__(self, fn: Any) -> AsyncIterator[Any]:
        async for client_config in super().__call__(fn):
            service_config: dict[str, Any] = {
                "service": {
                    "namespace": self.service_namespace,
                    "name": self.service_name,
                    "port": 443,
                    "path": self.path or "/",
                }
            }
            if "caBundle" in client_config:
                service_config["caBundle"] = client_config["caBundle"]
            yield service_config


def build_server(cfg: operator_settings.OperatorConfig) -> kopf.WebhookServer | None:
    """The webhook server for the configuration, or None when the webhook is disabled."""
    if not cfg.webhook_port:
        return None
    cert_dir = pathlib.Path(cfg.webhook_cert_dir or tempfile.mkdtemp(prefix="slo-webhook-"))
    if cfg.webhook_service:
        namespace, _, name = cfg.webhook_service.partition("/")
        hosts = [f"{name}.{namespace}.svc", f"{name}.{namespace}.svc.cluster.local", name]
        cadata, certfile, pkeyfile = ensure_certificates(cert_dir, hosts)
        return ServiceWebhookServer(
            service_namespace=namespace,
            service_name=name,
            addr="0.0.0.0",
            port=cfg.webhook_port,
            cadata=cadata,
            certfile=certfile,
            pkeyfile=pkeyfile,
        )
    host = cfg.webhook_host or "127.0.0.1"
    cadata, certfile, pkeyfile = ensure_certificates(cert_dir, [host, "127.0.0.1", "localhost"])
    return kopf.WebhookServer(
        addr=host if host == "127.0.0.1" else "0.0.0.0",
        port=cfg.webhook_port,
        host=host,
        cadata=cadata,
        certfile=certfile,
        pkeyfile=pkeyfile,
    )
