"""The admission webhook's certificates (kube/admission_tls.py): renewed under the same CA, so
the CA bundle the webhook configuration publishes stays valid, and renewed while the server
runs, in its SSL context, so the apiserver never meets an expired certificate."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime
import pathlib
import socket
import ssl
import urllib.parse
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature

from slo_operator.kube import admission_tls

HOSTS = ["127.0.0.1", "localhost"]
YEAR = datetime.timedelta(days=365)


def serving(certificates: admission_tls.Certificates) -> x509.Certificate:
    return x509.load_pem_x509_certificate(certificates.chain)


def trusted_by(bundle: bytes, certificates: admission_tls.Certificates) -> bool:
    leaf = serving(certificates)
    for ca in x509.load_pem_x509_certificates(bundle):
        try:
            leaf.verify_directly_issued_by(ca)
        except (ValueError, TypeError, InvalidSignature):  # another issuer, or its key
            continue
        return True
    return False


def test_a_due_certificate_is_renewed_under_the_same_ca() -> None:
    first = admission_tls.generate_certificates(HOSTS, datetime.timedelta(seconds=30))
    # 30 s left: due under a 2-minute validity (renewed with a third left), not under 1 minute.
    assert first.serves(HOSTS, datetime.timedelta(minutes=1))
    assert not first.serves(HOSTS, datetime.timedelta(minutes=2))
    renewed = admission_tls.renewed(first, HOSTS, YEAR)
    assert (renewed.ca, renewed.ca_key) == (first.ca, first.ca_key)  # the published bundle holds
    assert serving(renewed).serial_number != serving(first).serial_number
    assert renewed.serves(HOSTS, YEAR) and trusted_by(first.ca, renewed)
    left = serving(renewed).not_valid_after_utc - datetime.datetime.now(datetime.UTC)
    assert YEAR - datetime.timedelta(minutes=1) < left <= YEAR


def test_certificates_without_the_ca_key_get_a_new_ca_that_trusts_the_old_one() -> None:
    """Written before renewal existed: the CA's key is not there, so the CA is replaced; the
    bundle keeps the old CA for replicas still serving the old certificate."""
    old = admission_tls.generate_certificates(HOSTS)
    legacy = admission_tls.Certificates(ca=old.ca, chain=old.chain, key=old.key)
    replaced = admission_tls.renewed(legacy, [*HOSTS, "webhook.ops.svc"], YEAR)
    assert replaced.ca_key and replaced.ca != old.ca
    assert replaced.ca.endswith(old.ca)
    assert trusted_by(replaced.ca, replaced) and trusted_by(replaced.ca, old)


def test_a_certificate_folder_keeps_the_ca_key_private(tmp_path: pathlib.Path) -> None:
    first = admission_tls.ensure_certificates(tmp_path, HOSTS)
    assert (tmp_path / "ca.key").stat().st_mode & 0o777 == 0o600
    assert (tmp_path / "tls.key").stat().st_mode & 0o777 == 0o600
    assert admission_tls.ensure_certificates(tmp_path, HOSTS) == first
    # A host more: a new serving certificate, the same CA.
    second = admission_tls.ensure_certificates(tmp_path, [*HOSTS, "webhook"])
    assert second.ca == first.ca and second.chain != first.chain
    assert admission_tls.read_certificates(tmp_path) == second


def test_a_folder_without_the_ca_key_is_replaced_at_start_while_it_still_serves(
    tmp_path: pathlib.Path,
) -> None:
    """Kept as it is, it could not be renewed while running (a new CA cannot be published
    then), so it is replaced when the server starts, when its bundle is published."""
    old = admission_tls.generate_certificates(HOSTS)
    admission_tls.write_certificates(dataclasses.replace(old, ca_key=b""), tmp_path)
    started = admission_tls.ensure_certificates(tmp_path, HOSTS)
    assert started.ca_key and started.ca.endswith(old.ca) and started.ca != old.ca


def served_serial(port: int, cafile: pathlib.Path) -> int:
    """The serial of the certificate a new connection gets, verified against `cafile`."""
    context = ssl.create_default_context(cafile=str(cafile))
    raw = socket.create_connection(("127.0.0.1", port), timeout=5)
    with context.wrap_socket(raw, server_hostname="127.0.0.1") as connection:
        der = connection.getpeercert(binary_form=True)
    assert der is not None
    return x509.load_der_x509_certificate(der).serial_number


async def serve_and_renew(tmp_path: pathlib.Path) -> tuple[list[int], bytes, bytes]:
    """A webhook server whose certificates last 6 s: the serials new connections get over
    9 s, the bundle it published, and the bundle after."""
    validity = datetime.timedelta(seconds=6)
    cert_dir = tmp_path / "certs"

    def obtain() -> admission_tls.Certificates:
        return admission_tls.ensure_certificates(cert_dir, HOSTS, validity)

    current = obtain()
    cadata, certfile, keyfile = admission_tls.write_certificates(current, cert_dir)
    server = admission_tls.GuardedWebhookServer(
        addr="127.0.0.1",
        host="127.0.0.1",
        cadata=cadata,
        certfile=certfile,
        pkeyfile=keyfile,
        renewal=admission_tls.Renewal(obtain, current, cert_dir, validity),
    )

    async def review(*args: Any, **kwargs: Any) -> Any:
        return {}

    configs = server(review)
    config = await anext(configs)
    port = urllib.parse.urlsplit(config["url"]).port
    assert port is not None
    cafile = tmp_path / "published-ca.crt"
    cafile.write_bytes(cadata)
    serials = []
    try:
        for _ in range(18):
            serials.append(await asyncio.to_thread(served_serial, port, cafile))
            await asyncio.sleep(0.5)
    finally:
        await configs.aclose()
    after = admission_tls.read_certificates(cert_dir)
    assert after is not None
    return serials, cadata, after.ca


def test_the_running_server_serves_the_renewed_certificate(tmp_path: pathlib.Path) -> None:
    serials, published, after = asyncio.run(serve_and_renew(tmp_path))
    # Renewed with a third of its 6 s left, checked every 0.6 s: at least once in 9 s, and
    # every connection verified against the bundle published at the start.
    runs = [serial for i, serial in enumerate(serials) if i == 0 or serial != serials[i - 1]]
    assert len(runs) >= 2 and len(runs) == len(set(runs)), serials  # none comes back
    assert after == published
