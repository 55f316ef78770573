"""The admission webhook's server: a CA and serving certificate generated and kept by the
operator, and a guard that answers a malformed review with 400 instead of kopf's 500."""

from __future__ import annotations

import base64
import dataclasses
import datetime
import ipaddress
import json
import logging
import pathlib
import tempfile
import urllib.parse
from collections.abc import AsyncIterator, Sequence
from typing import Any

import aiohttp.web
import kopf
import kubernetes
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from . import settings as operator_settings

logger = logging.getLogger(__name__)

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


@dataclasses.dataclass(frozen=True)
class Certificates:
    """A CA and the serving certificate it signed, PEM-encoded."""

    ca: bytes
    chain: bytes
    """The serving certificate followed by the CA."""
    key: bytes
    """The serving certificate's private key (PKCS#8, unencrypted)."""

    def serves(self, hosts: Sequence[str]) -> bool:
        """Whether the certificate names every host and has more than `RENEW_BEFORE` left."""
        current = x509.load_pem_x509_certificate(self.chain)
        names = current.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        have = {str(n.value) for n in names}
        left = current.not_valid_after_utc - datetime.datetime.now(datetime.UTC)
        return left > RENEW_BEFORE and set(hosts) <= have


def generate_certificates(hosts: Sequence[str]) -> Certificates:
    """A new CA and a serving certificate for `hosts` (the first one is its common name)."""
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
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return Certificates(
        ca=ca_pem, chain=cert.public_bytes(serialization.Encoding.PEM) + ca_pem, key=key_pem
    )


def write_certificates(
    certificates: Certificates, cert_dir: pathlib.Path
) -> tuple[bytes, pathlib.Path, pathlib.Path]:
    """The files kopf's server loads: (CA bundle, certificate chain file, key file)."""
    cert_dir.mkdir(parents=True, exist_ok=True)
    ca_path, cert_path, key_path = cert_dir / "ca.crt", cert_dir / "tls.crt", cert_dir / "tls.key"
    key_path.write_bytes(certificates.key)
    key_path.chmod(0o600)
    cert_path.write_bytes(certificates.chain)
    ca_path.write_bytes(certificates.ca)
    return certificates.ca, cert_path, key_path


def ensure_certificates(
    cert_dir: pathlib.Path, hosts: Sequence[str]
) -> tuple[bytes, pathlib.Path, pathlib.Path]:
    """The CA bundle and the serving certificate/key files, generated if absent or expiring.

    Certificates live in `cert_dir` so a restarted process reuses them; the CA bundle is
    re-published into the webhook configuration by kopf. One replica only: replicas that each
    made their own would each publish their own CA (see `shared_certificates`).
    """
    paths = [cert_dir / "ca.crt", cert_dir / "tls.crt", cert_dir / "tls.key"]
    if all(path.exists() for path in paths):
        kept = Certificates(*(path.read_bytes() for path in paths))
        if kept.serves(hosts):
            return write_certificates(kept, cert_dir)
    return write_certificates(generate_certificates(hosts), cert_dir)


SECRET_KEYS = ("ca.crt", "tls.crt", "tls.key")


def _from_secret(secret: Any) -> Certificates | None:
    data = secret.data or {}
    if not all(data.get(key) for key in SECRET_KEYS):
        return None
    return Certificates(*(base64.b64decode(data[key]) for key in SECRET_KEYS))


def shared_certificates(
    api_client: kubernetes.client.ApiClient, namespace: str, name: str, hosts: Sequence[str]
) -> Certificates:
    """The certificates every replica serves, kept in the Secret `namespace/name`.

    The first replica that finds no usable certificate there writes a new one: a create when
    the Secret is absent, an update of the resourceVersion it read otherwise. A replica that
    loses that race (409 Conflict, or 409 AlreadyExists) reads the winner's. So the replicas
    publish one CA bundle, and none overwrites what another wrote.
    """
    core = kubernetes.client.CoreV1Api(api_client)
    for _ in range(5):
        try:
            secret = core.read_namespaced_secret(name, namespace)
        except kubernetes.client.ApiException as error:
            if error.status != 404:
                raise
            secret = None
        kept = None if secret is None else _from_secret(secret)
        version = secret.metadata.resource_version if secret and secret.metadata else None
        if kept is not None and kept.serves(hosts):
            return kept
        fresh = generate_certificates(hosts)
        data = {
            key: base64.b64encode(value).decode()
            for key, value in zip(SECRET_KEYS, (fresh.ca, fresh.chain, fresh.key), strict=True)
        }
        body = kubernetes.client.V1Secret(
            metadata=kubernetes.client.V1ObjectMeta(
                name=name,
                namespace=namespace,
                labels={"app.kubernetes.io/managed-by": "slo-operator"},
                resource_version=version,
            ),
            type="kubernetes.io/tls",
            data=data,
        )
        try:
            if secret is None:
                core.create_namespaced_secret(namespace, body)
            else:
                core.replace_namespaced_secret(name, namespace, body)
        except kubernetes.client.ApiException as error:
            if error.status != 409:
                raise
            continue
        logger.info("wrote the webhook certificate to the Secret %s/%s", namespace, name)
        return fresh
    raise RuntimeError(f"the Secret {namespace}/{name} kept changing while it was written")


def review_problem(review: Any) -> str | None:
    """What makes a decoded body unfit for kopf's admission code, or None for a review.

    The apiserver never sends such bodies, but anything that reaches the port can: kopf takes
    the review's fields as given and answers 500 (with a traceback in the log) when one has
    another type.
    """
    if not isinstance(review, dict) or not isinstance(review.get("request"), dict):
        return "not an AdmissionReview: no request object"
    request = review["request"]
    resource = request.get("resource")
    if not isinstance(resource, dict) or not all(
        isinstance(resource.get(key), str) for key in ("group", "version", "resource")
    ):
        return "request.resource needs group, version and resource"
    if not isinstance(request.get("userInfo"), dict):
        return "request.userInfo is missing"
    objects = [request.get("object"), request.get("oldObject")]
    if all(item is None for item in objects) or not all(
        item is None or isinstance(item, dict) for item in objects
    ):
        return "request.object and request.oldObject must be objects (one of them at least)"
    for item in objects:
        if item is not None and not _is_object_meta(item.get("metadata")):
            return "request.object.metadata must be an object with string fields"
    if not isinstance(request.get("uid", ""), str) or not isinstance(
        request.get("operation", ""), str
    ):
        return "request.uid and request.operation must be strings"
    return None


def _is_object_meta(metadata: Any) -> bool:
    """Whether `metadata` has the types the apiserver guarantees for the fields kopf reads."""
    if not isinstance(metadata, dict):
        return False
    texts = ("name", "namespace", "uid", "resourceVersion", "generateName")
    maps = ("labels", "annotations")
    return all(
        metadata.get(key) is None or isinstance(metadata[key], str) for key in texts
    ) and all(
        metadata.get(key) is None
        or (
            isinstance(metadata[key], dict)
            and all(isinstance(value, str) for value in metadata[key].values())
        )
        for key in maps
    )


class GuardedWebhookServer(kopf.WebhookServer):
    """kopf's server, refusing bodies that are not admission reviews with 400 Bad Request.

    Bodies over aiohttp's 1 MiB limit are refused with 413 before they are read (the apiserver
    sends at most its own 3 MiB request limit; no valid manifest comes near 1 MiB).
    """

    def __init__(self, *, public_port: int = 0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.public_port = public_port
        """The port in the published URL, when a proxy in front listens elsewhere (0: ours)."""

    async def __call__(self, fn: Any) -> AsyncIterator[Any]:
        async for client_config in super().__call__(fn):
            url = client_config.get("url")
            if self.public_port and url:
                parts = urllib.parse.urlsplit(url)
                netloc = f"{parts.hostname}:{self.public_port}"
                client_config["url"] = urllib.parse.urlunsplit(parts._replace(netloc=netloc))
            yield client_config

    @staticmethod
    async def _serve(fn: Any, request: aiohttp.web.Request) -> aiohttp.web.Response:
        try:
            review = json.loads(await request.text())
        except (ValueError, RecursionError) as error:
            # ValueError: not UTF-8 or not JSON; RecursionError: nested deeper than the stack.
            reason = "not JSON" if isinstance(error, ValueError) else "JSON nested too deeply"
            raise aiohttp.web.HTTPBadRequest(reason=reason) from error
        problem = review_problem(review)
        if problem is not None:
            raise aiohttp.web.HTTPBadRequest(reason=problem)
        # kopf reads the body again from aiohttp's cache.
        response: aiohttp.web.Response = await kopf.WebhookServer._serve(fn, request)
        return response


class ServiceWebhookServer(GuardedWebhookServer):
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


def build_server(
    cfg: operator_settings.OperatorConfig, api_client: kubernetes.client.ApiClient
) -> kopf.WebhookServer | None:
    """The webhook server for the configuration, or None when the webhook is disabled."""
    if not cfg.webhook_port:
        return None
    cert_dir = pathlib.Path(cfg.webhook_cert_dir or tempfile.mkdtemp(prefix="slo-webhook-"))
    if cfg.webhook_service:
        namespace, _, name = cfg.webhook_service.partition("/")
        hosts = [f"{name}.{namespace}.svc", f"{name}.{namespace}.svc.cluster.local", name]
    else:
        host = cfg.webhook_host or "127.0.0.1"
        hosts = [host, "127.0.0.1", "localhost"]
    if cfg.webhook_cert_secret:
        secret_namespace, _, secret_name = cfg.webhook_cert_secret.partition("/")
        shared = shared_certificates(api_client, secret_namespace, secret_name, hosts)
        cadata, certfile, pkeyfile = write_certificates(shared, cert_dir)
    else:
        cadata, certfile, pkeyfile = ensure_certificates(cert_dir, hosts)
    files = {"cadata": cadata, "certfile": certfile, "pkeyfile": pkeyfile}
    if cfg.webhook_service:
        return ServiceWebhookServer(
            service_namespace=namespace,
            service_name=name,
            addr="0.0.0.0",
            port=cfg.webhook_port,
            **files,
        )
    return GuardedWebhookServer(
        addr=hosts[0] if hosts[0] == "127.0.0.1" else "0.0.0.0",
        port=cfg.webhook_port,
        host=hosts[0],
        public_port=cfg.webhook_public_port,
        **files,
    )
