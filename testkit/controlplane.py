"""A real Kubernetes control plane on 127.0.0.1 for the cluster tests, the demo and benchmarks.

Runs etcd, kube-apiserver and kube-controller-manager built from their Go modules by
``hack/build-control-plane.sh``, the way controller-runtime's envtest runs them: a
generated CA, serving and client certificates, service-account signing keys, RBAC authorization,
free ports, a temporary work folder. Unlike envtest it also runs the controller-manager with the
garbage-collector and namespace controllers, so ownerReference cleanup and namespace deletion are
real. There is no scheduler and no kubelet: Pods are stored but never run.

Two ways to use it:

* In-process, as a context manager (pytest, benchmarks)::

      with ControlPlane() as control_plane:
          control_plane.kubectl("get", "namespaces")

* Detached, from a shell (the demo): ``python -m testkit.controlplane up`` starts a
  supervisor in the background and prints ``export`` lines for ``eval``; ``down`` stops it.
"""

from __future__ import annotations

import argparse
import atexit
import base64
import contextlib
import fcntl
import http.client
import json
import logging
import os
import re
import secrets
import shlex
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import FrameType, TracebackType
from typing import Any, ClassVar, Final, Self

import yaml

from . import processes

logger = logging.getLogger(__name__)

REPO_ROOT: Final = Path(__file__).resolve().parents[1]
"""The project checkout this module runs from (``testkit/`` sits at its top)."""

BUILD_SCRIPT: Final = REPO_ROOT / "hack" / "build-control-plane.sh"
VERSIONS_FILE: Final = REPO_ROOT / "hack" / "control-plane" / "versions.env"

CONTROLLERS: Final = ("garbage-collector-controller", "namespace-controller")
"""The only controllers kube-controller-manager runs: ownerReference cleanup and namespace
deletion are behaviours the operator relies on; everything else (Deployments, Pods) is not."""

_LOG_TAIL_LINES: Final = 40
_MODULE: Final = "testkit.controlplane"
"""Our import name; ``__name__`` is ``__main__`` when run with ``python -m``."""


class ControlPlaneError(Exception):
    """Base of everything the harness raises."""


class BuildFailed(ControlPlaneError):
    """``hack/build-control-plane.sh`` failed; its progress output above says where."""

    def __init__(self, returncode: int) -> None:
        super().__init__(f"{BUILD_SCRIPT} exited with code {returncode}")
        self.returncode = returncode


class ComponentFailed(ControlPlaneError):
    """A component exited or did not become ready; carries the tail of its log."""

    def __init__(self, component: str, reason: str, log_path: Path, log_tail: str) -> None:
        super().__init__(
            f"{component} {reason}; last lines of {log_path}:\n{log_tail}"
            if log_tail
            else f"{component} {reason}; {log_path} is empty"
        )
        self.component = component
        self.reason = reason
        self.log_path = log_path
        self.log_tail = log_tail


class KubectlFailed(ControlPlaneError):
    """A kubectl command exited non-zero; carries its arguments and stderr."""

    def __init__(self, args: Sequence[str], returncode: int, stderr: str) -> None:
        super().__init__(f"kubectl {shlex.join(args)} exited with code {returncode}: {stderr}")
        self.args_ = tuple(args)
        self.returncode = returncode
        self.stderr = stderr


@dataclass(frozen=True)
class ApiResponse:
    """The status and decoded JSON body of one raw request to the apiserver."""

    status: int
    body: Any


@dataclass
class _Component:
    name: str
    process: subprocess.Popen[bytes]
    log_path: Path
    argv: list[str]


def cache_root() -> Path:
    """The cache folder shared with ``hack/build-control-plane.sh``."""
    if override := os.environ.get("SLO_OPERATOR_CACHE"):
        return Path(override)
    xdg = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(xdg) / "slo-operator"


def read_versions() -> dict[str, str]:
    """The pinned component versions from ``hack/control-plane/versions.env``."""
    versions: dict[str, str] = {}
    for line in VERSIONS_FILE.read_text().splitlines():
        key, sep, value = line.partition("=")
        if sep and not key.lstrip().startswith("#"):
            versions[key.strip()] = value.strip()
    return versions


def ensure_binaries() -> Path:
    """Builds the components if they are not cached yet and returns their folder.

    Instant when cached; a cold build takes tens of minutes (see docs/control-plane.md).
    Progress goes to this process's stderr.
    """
    result = subprocess.run(
        ["bash", str(BUILD_SCRIPT)], stdout=subprocess.PIPE, text=True, check=False
    )
    if result.returncode != 0:
        raise BuildFailed(result.returncode)
    return Path(result.stdout.strip().splitlines()[-1])


PROMETHEUS_OPERATOR_CRDS: Final = ("podmonitors", "prometheusrules", "servicemonitors")
"""The prometheus-operator kinds a test control plane serves: PrometheusRule is what the
operator writes; the chart can create a ServiceMonitor or a PodMonitor for its metrics."""


def prometheus_operator_crd_dir() -> Path:
    """The prometheus-operator CRDs of the pinned version, copied from its Go module by
    ``hack/build-control-plane.sh`` into the cache (fetched first when missing)."""
    version = read_versions()["PROMETHEUS_OPERATOR_VERSION"]
    folder = cache_root() / "crds" / f"prometheus-operator-{version}"
    if not (folder / ".complete").is_file():
        ensure_binaries()
    return folder


def default_crd_paths() -> list[Path]:
    """Our CRDs (``crds/*.yaml``, possibly none yet) and the prometheus-operator CRDs."""
    folder = prometheus_operator_crd_dir()
    upstream = [folder / f"monitoring.coreos.com_{kind}.yaml" for kind in PROMETHEUS_OPERATOR_CRDS]
    missing = [str(path) for path in upstream if not path.is_file()]
    if missing:
        raise ControlPlaneError(f"prometheus-operator CRDs not found: {', '.join(missing)}")
    return sorted((REPO_ROOT / "crds").glob("*.yaml")) + upstream


def _free_ports(count: int) -> list[int]:
    """Distinct free ports on 127.0.0.1; all are held until all are chosen."""
    with contextlib.ExitStack() as stack:
        ports = []
        for _ in range(count):
            sock = stack.enter_context(socket.socket(socket.AF_INET, socket.SOCK_STREAM))
            sock.bind(("127.0.0.1", 0))
            ports.append(int(sock.getsockname()[1]))
        return ports


def _log_tail(path: Path, lines: int = _LOG_TAIL_LINES) -> str:
    try:
        text = path.read_text(errors="replace")
    except FileNotFoundError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


def _b64(path: Path) -> str:
    return base64.b64encode(path.read_bytes()).decode()


def _client_cert_user(cert: Path, key: Path) -> dict[str, str]:
    """A kubeconfig user that authenticates with a client certificate, inlined."""
    return {"client-certificate-data": _b64(cert), "client-key-data": _b64(key)}


class _CertificateAuthority:
    """A throwaway CA and the keys signed by it, made with the ``openssl`` CLI.

    ECDSA P-256 keys: generated in milliseconds, accepted by Go's TLS stack and by the
    apiserver's service-account token signer (ES256).
    """

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.cert = folder / "ca.crt"
        self.key = folder / "ca.key"
        self._config = folder / "openssl.cnf"
        # A config of our own, so the host's openssl.cnf defaults never leak into the certs.
        self._config.write_text("[req]\ndistinguished_name = dn\n[dn]\n")
        self._new_key(self.key)
        self._sign(
            "ca",
            "/CN=slo-operator-test-ca",
            self.key,
            self.cert,
            "basicConstraints = critical, CA:TRUE\n"
            "keyUsage = critical, keyCertSign, cRLSign, digitalSignature\n"
            "subjectKeyIdentifier = hash\n",
            self_signed=True,
        )

    def _openssl(self, *args: str) -> None:
        result = subprocess.run(
            ["openssl", *args], capture_output=True, text=True, check=False, cwd=self.folder
        )
        if result.returncode != 0:
            raise ControlPlaneError(f"openssl {shlex.join(args)} failed: {result.stderr}")

    def _new_key(self, path: Path) -> None:
        self._openssl(
            "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", str(path)
        )
        path.chmod(0o600)

    def _sign(
        self,
        name: str,
        subject: str,
        key: Path,
        cert: Path,
        extensions: str,
        *,
        self_signed: bool = False,
    ) -> None:
        csr = self.folder / f"{name}.csr"
        extfile = self.folder / f"{name}.ext"
        extfile.write_text(f"[ext]\n{extensions}")
        self._openssl(
            "req", "-new", "-config", str(self._config), "-key", str(key), "-subj", subject,
            "-out", str(csr),
        )  # fmt: skip
        if self_signed:
            signer = ["-signkey", str(key)]
        else:
            signer = ["-CA", str(self.cert), "-CAkey", str(self.key)]
        self._openssl(
            "x509", "-req", "-in", str(csr), *signer, "-days", "30",
            "-set_serial", str(secrets.randbits(63)), "-sha256",
            "-extfile", str(extfile), "-extensions", "ext", "-out", str(cert),
        )  # fmt: skip
        csr.unlink()
        extfile.unlink()

    def issue(self, name: str, subject: str, extensions: str, *, client: bool) -> tuple[Path, Path]:
        """A new key and a certificate for it; returns ``(cert, key)``."""
        key = self.folder / f"{name}.key"
        cert = self.folder / f"{name}.crt"
        usage = "clientAuth" if client else "serverAuth"
        self._new_key(key)
        self._sign(
            name,
            subject,
            key,
            cert,
            "basicConstraints = critical, CA:FALSE\n"
            "keyUsage = critical, digitalSignature, keyEncipherment\n"
            f"extendedKeyUsage = {usage}\n"
            "subjectKeyIdentifier = hash\n"
            "authorityKeyIdentifier = keyid\n" + extensions,
        )
        return cert, key

    def service_account_keys(self) -> tuple[Path, Path]:
        """The signing key for service-account tokens and its public half; ``(private, public)``."""
        private = self.folder / "sa.key"
        public = self.folder / "sa.pub"
        self._new_key(private)
        self._openssl("pkey", "-in", str(private), "-pubout", "-out", str(public))
        return private, public


class ControlPlane:
    """etcd + kube-apiserver + kube-controller-manager on 127.0.0.1, torn down on exit.

    Use as a context manager, or call :meth:`start` and :meth:`stop`. Everything lives in
    :attr:`work_dir` (certificates, kubeconfig, etcd data, one ``<component>.log`` each) and is
    removed on stop unless ``keep_work_dir`` is set.
    """

    def __init__(
        self,
        *,
        bin_dir: Path | None = None,
        work_dir: Path | None = None,
        crd_paths: Sequence[Path] | None = None,
        keep_work_dir: bool = False,
        ready_timeout: float = 90.0,
    ) -> None:
        """Configures, does not start.

        ``bin_dir`` defaults to the build script's cache (building if needed); ``work_dir`` to
        a new temporary folder; ``crd_paths`` to :func:`default_crd_paths`.
        """
        self._bin_dir = bin_dir
        self._requested_work_dir = work_dir
        self._crd_paths = crd_paths
        self.keep_work_dir = keep_work_dir
        self.ready_timeout = ready_timeout
        self._work_dir: Path | None = None
        self._components: list[_Component] = []
        self._server_url: str | None = None
        self._previous_sigterm: Any = None
        self.startup_seconds: float | None = None
        """Wall time of the last :meth:`start`, from nothing to CRDs established."""
        self.crd_names: list[str] = []
        """Names of the CRDs installed at start, e.g. ``prometheusrules.monitoring.coreos.com``."""

    # -- public attributes --------------------------------------------------------------------

    @property
    def bin_dir(self) -> Path:
        """Folder with etcd, kube-apiserver, kube-controller-manager, kubectl and helm."""
        if self._bin_dir is None:
            self._bin_dir = ensure_binaries()
        return self._bin_dir

    @property
    def work_dir(self) -> Path:
        if self._work_dir is None:
            raise ControlPlaneError("the control plane is not started")
        return self._work_dir

    @property
    def kubeconfig(self) -> Path:
        """A kubeconfig with cluster-admin rights (client certificate in ``system:masters``)."""
        return self.work_dir / "kubeconfig"

    @property
    def ca_cert(self) -> Path:
        """The CA that signed the apiserver's serving certificate and the client certificates."""
        return self.work_dir / "pki" / "ca.crt"

    @property
    def server_url(self) -> str:
        """``https://127.0.0.1:<port>`` of the apiserver."""
        if self._server_url is None:
            raise ControlPlaneError("the control plane is not started")
        return self._server_url

    def environ(self, base: Mapping[str, str] | None = None) -> dict[str, str]:
        """Environment for subprocesses: ``KUBECONFIG`` set, the built tools first on ``PATH``."""
        env = dict(os.environ if base is None else base)
        env["KUBECONFIG"] = str(self.kubeconfig)
        env["PATH"] = f"{self.bin_dir}{os.pathsep}{env.get('PATH', '')}"
        return env

    # -- lifecycle ----------------------------------------------------------------------------

    def __enter__(self) -> Self:
        self._install_sigterm_handler()
        try:
            self.start()
        except BaseException:
            self._restore_sigterm_handler()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def start(self) -> None:
        """Starts all components, writes the kubeconfig, installs and establishes the CRDs.

        On any failure (or interrupt) everything started so far is stopped and removed.
        """
        if self._components:
            raise ControlPlaneError("the control plane is already started")
        bin_dir = self.bin_dir
        try:
            self._start(bin_dir)
        except BaseException:
            self.stop()
            raise

    def _start(self, bin_dir: Path) -> None:
        started = time.monotonic()
        if self._requested_work_dir is None:
            self._work_dir = Path(tempfile.mkdtemp(prefix="slo-operator-cp-"))
        else:
            self._work_dir = self._requested_work_dir
            self._work_dir.mkdir(parents=True, exist_ok=True)
        atexit.register(self.stop)
        pki = self.work_dir / "pki"
        pki.mkdir(exist_ok=True)
        etcd_port, etcd_peer_port, apiserver_port, kcm_port = _free_ports(4)
        self._server_url = f"https://127.0.0.1:{apiserver_port}"

        phase = time.monotonic()
        timings: dict[str, float] = {}
        ca = _CertificateAuthority(pki)
        serving_cert, serving_key = ca.issue(
            "apiserver",
            "/CN=kube-apiserver",
            "subjectAltName = IP:127.0.0.1, DNS:localhost, IP:10.0.0.1, DNS:kubernetes, "
            "DNS:kubernetes.default, DNS:kubernetes.default.svc, "
            "DNS:kubernetes.default.svc.cluster.local\n",
            client=False,
        )
        admin_cert, admin_key = ca.issue(
            "admin", "/O=system:masters/CN=slo-operator-admin", "", client=True
        )
        kcm_cert, kcm_key = ca.issue(
            "kube-controller-manager",
            "/O=system:masters/CN=system:kube-controller-manager",
            "",
            client=True,
        )
        sa_private, sa_public = ca.service_account_keys()
        self._write_kubeconfig(self.kubeconfig, _client_cert_user(admin_cert, admin_key))
        kcm_kubeconfig = self.work_dir / "kube-controller-manager.kubeconfig"
        self._write_kubeconfig(kcm_kubeconfig, _client_cert_user(kcm_cert, kcm_key))
        timings["certificates"] = time.monotonic() - phase

        phase = time.monotonic()
        etcd_url = f"http://127.0.0.1:{etcd_port}"
        peer_url = f"http://127.0.0.1:{etcd_peer_port}"
        etcd = self._spawn(
            "etcd",
            [
                str(bin_dir / "etcd"),
                "--name=default",
                f"--data-dir={self.work_dir / 'etcd-data'}",
                f"--listen-client-urls={etcd_url}",
                f"--advertise-client-urls={etcd_url}",
                f"--listen-peer-urls={peer_url}",
                f"--initial-advertise-peer-urls={peer_url}",
                f"--initial-cluster=default={peer_url}",
                # Test data is thrown away; fsync only costs time (envtest does the same).
                "--unsafe-no-fsync",
            ],
        )
        self._wait_for(etcd, "/health", lambda: self._etcd_healthy(etcd_url), 30.0)
        timings["etcd"] = time.monotonic() - phase

        phase = time.monotonic()
        apiserver = self._spawn(
            "kube-apiserver",
            [
                str(bin_dir / "kube-apiserver"),
                "--advertise-address=127.0.0.1",
                "--bind-address=127.0.0.1",
                f"--secure-port={apiserver_port}",
                f"--etcd-servers={etcd_url}",
                f"--cert-dir={pki}",
                f"--tls-cert-file={serving_cert}",
                f"--tls-private-key-file={serving_key}",
                f"--client-ca-file={ca.cert}",
                "--authorization-mode=RBAC",
                f"--service-account-issuer={self._server_url}",
                f"--service-account-key-file={sa_public}",
                f"--service-account-signing-key-file={sa_private}",
                "--service-cluster-ip-range=10.0.0.0/24",
                "--allow-privileged=true",
                # No controller creates a `default` ServiceAccount in new namespaces, so the
                # admission plugin would refuse every Pod without one (envtest does the same).
                "--disable-admission-plugins=ServiceAccount",
                # The `kubernetes` Service cannot point at a loopback address (the reconciler
                # would log a validation error every 10s), and nothing here needs it.
                "--endpoint-reconciler-type=none",
                "--profiling=false",
            ],
        )
        self._wait_for(apiserver, "/readyz", self._apiserver_ready, self.ready_timeout)
        timings["kube-apiserver"] = time.monotonic() - phase

        phase = time.monotonic()
        kcm = self._spawn(
            "kube-controller-manager",
            [
                str(bin_dir / "kube-controller-manager"),
                f"--kubeconfig={kcm_kubeconfig}",
                f"--controllers={','.join(CONTROLLERS)}",
                "--leader-elect=false",
                "--bind-address=127.0.0.1",
                f"--secure-port={kcm_port}",
                f"--cert-dir={self.work_dir / 'kube-controller-manager-certs'}",
                "--profiling=false",
            ],
        )
        # The CRDs install while the controller-manager starts; both only need the apiserver.
        crd_paths = default_crd_paths() if self._crd_paths is None else list(self._crd_paths)
        self.crd_names = self.install_crds(crd_paths)
        timings["CRDs"] = time.monotonic() - phase
        self._wait_for(
            kcm, "/healthz", lambda: self._https_ok(f"https://127.0.0.1:{kcm_port}/healthz"), 30.0
        )
        timings["kube-controller-manager (alongside the CRDs)"] = time.monotonic() - phase

        self.startup_seconds = time.monotonic() - started
        logger.info(
            "control plane ready at %s in %.1fs (%s); work dir %s",
            self._server_url,
            self.startup_seconds,
            ", ".join(f"{name} {seconds:.1f}s" for name, seconds in timings.items()),
            self.work_dir,
        )

    def stop(self) -> None:
        """Stops the components (newest first) and removes the work dir. Idempotent."""
        atexit.unregister(self.stop)
        for component in reversed(self._components):
            processes.stop(component.process, component.name)
        self._components = []
        self._restore_sigterm_handler()
        if self._work_dir is not None and not self.keep_work_dir:
            try:
                shutil.rmtree(self._work_dir)
            except FileNotFoundError:
                pass
            except OSError as error:
                logger.warning("could not remove %s: %s", self._work_dir, error)
        self._work_dir = None
        self._server_url = None

    def restart_apiserver(self, down_seconds: float = 0.0, *, kill: bool = False) -> float:
        """Stop kube-apiserver (SIGTERM, or SIGKILL with ``kill``), wait `down_seconds`, start
        it again with the same flags, port and certificates on the same etcd; returns how long
        it was unreachable (until ``/readyz`` answers)."""
        return self._restart("kube-apiserver", down_seconds, kill=kill)

    def restart_etcd(self, down_seconds: float = 0.0, *, kill: bool = False) -> float:
        """Stop etcd (SIGTERM, or SIGKILL with ``kill``), wait `down_seconds`, start it again on
        the same data; returns how long it was down, until the apiserver is ready again."""
        return self._restart("etcd", down_seconds, kill=kill)

    def _restart(self, name: str, down_seconds: float, *, kill: bool) -> float:
        (index,) = [i for i, c in enumerate(self._components) if c.name == name]
        old = self._components[index]
        began = time.monotonic()
        if kill:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(old.process.pid, signal.SIGKILL)
        processes.stop(old.process, old.name)
        time.sleep(down_seconds)
        process = processes.spawn(old.argv, old.log_path, cwd=self.work_dir)
        component = _Component(old.name, process, old.log_path, old.argv)
        self._components[index] = component
        if name == "etcd":
            url = self.etcd_url
            self._wait_for(component, "/health", lambda: self._etcd_healthy(url), 30.0)
        (apiserver,) = [c for c in self._components if c.name == "kube-apiserver"]
        self._wait_for(apiserver, "/readyz", self._apiserver_ready, self.ready_timeout)
        return time.monotonic() - began

    @property
    def etcd_url(self) -> str:
        """``http://127.0.0.1:<port>``: etcd's client URL (no TLS, loopback only)."""
        (etcd,) = [c for c in self._components if c.name == "etcd"]
        (flag,) = [arg for arg in etcd.argv if arg.startswith("--listen-client-urls=")]
        return flag.partition("=")[2]

    def etcd_compact(self) -> int:
        """Compacts etcd's history up to its current revision (what the apiserver does every
        5 minutes, here at once): a watch resumed from an older resourceVersion then gets
        410 Gone. Returns the revision."""

        def post(path: str, body: Mapping[str, Any]) -> Any:
            request = urllib.request.Request(
                f"{self.etcd_url}{path}",
                data=json.dumps(body).encode(),
                headers={"Content-Type": "application/json"},
                method="POST",
            )
            with urllib.request.urlopen(request, timeout=30) as response:
                return json.loads(response.read())

        # etcd's JSON gateway: keys are base64; any key's range answer carries the revision.
        revision = int(
            post("/v3/kv/range", {"key": base64.b64encode(b"/").decode()})["header"]["revision"]
        )
        post("/v3/kv/compaction", {"revision": revision, "physical": True})
        return revision

    def check_alive(self) -> None:
        """Raises :class:`ComponentFailed` if a component has exited since start."""
        for component in self._components:
            returncode = component.process.poll()
            if returncode is not None:
                raise ComponentFailed(
                    component.name,
                    f"exited with code {returncode}",
                    component.log_path,
                    _log_tail(component.log_path),
                )

    def log_path(self, component: str) -> Path:
        """The log file of ``etcd``, ``kube-apiserver`` or ``kube-controller-manager``."""
        return self.work_dir / f"{component}.log"

    # -- helpers for tests --------------------------------------------------------------------

    def kubectl(
        self,
        *args: str,
        stdin: str | None = None,
        check: bool = True,
        timeout: float = 60.0,
        kubeconfig: Path | None = None,
    ) -> subprocess.CompletedProcess[str]:
        """Runs the built kubectl against this control plane (as admin unless ``kubeconfig``).

        Raises :class:`KubectlFailed` on a non-zero exit when ``check`` is set.
        """
        command = [
            str(self.bin_dir / "kubectl"),
            f"--kubeconfig={kubeconfig or self.kubeconfig}",
            # A cache per control plane: ports are reused, and a stale discovery cache from an
            # earlier cluster on the same port would hide freshly installed CRDs.
            f"--cache-dir={self.work_dir / 'kubectl-cache'}",
            *args,
        ]
        result = subprocess.run(
            command, input=stdin, capture_output=True, text=True, timeout=timeout, check=False
        )
        if check and result.returncode != 0:
            raise KubectlFailed(args, result.returncode, result.stderr.strip())
        return result

    def kubectl_json(self, *args: str, stdin: str | None = None, timeout: float = 60.0) -> Any:
        """Runs kubectl with ``-o json`` and returns the decoded output."""
        return json.loads(self.kubectl(*args, "-o", "json", stdin=stdin, timeout=timeout).stdout)

    def apply(self, manifest: str | Mapping[str, Any], *, namespace: str | None = None) -> str:
        """Server-side applies a YAML string or an object; returns kubectl's output."""
        text = manifest if isinstance(manifest, str) else json.dumps(manifest)
        args = ["apply", "--server-side", "--field-manager=slo-operator-tests", "-f", "-"]
        if namespace is not None:
            args += ["--namespace", namespace]
        return self.kubectl(*args, stdin=text).stdout

    def create_namespace(self, name: str | None = None, *, prefix: str = "test") -> str:
        """Creates a namespace (a unique ``<prefix>-<random>`` name unless given); returns it."""
        if name is None:
            slug = re.sub(r"[^a-z0-9-]+", "-", prefix.lower()).strip("-")[:50].strip("-")
            slug = slug or "test"
            name = f"{slug}-{secrets.token_hex(4)}"
        self.kubectl("create", "namespace", name)
        return name

    def delete_namespace(self, name: str, *, wait: bool = False, timeout: float = 60.0) -> None:
        """Deletes a namespace; the namespace controller then deletes its contents."""
        self.kubectl(
            "delete", "namespace", name, "--ignore-not-found", f"--wait={str(wait).lower()}",
            f"--timeout={int(timeout)}s", timeout=timeout + 10,
        )  # fmt: skip

    def create_service_account(self, namespace: str, name: str) -> None:
        self.kubectl("create", "serviceaccount", name, "--namespace", namespace)

    def service_account_token(
        self,
        namespace: str,
        service_account: str,
        *,
        audiences: Sequence[str] = (),
        duration_seconds: int = 3600,
    ) -> str:
        """Mints a token for an existing ServiceAccount through the TokenRequest API."""
        args = [
            "create", "token", service_account, "--namespace", namespace,
            f"--duration={duration_seconds}s",
        ]  # fmt: skip
        args += [f"--audience={audience}" for audience in audiences]
        return self.kubectl(*args).stdout.strip()

    def write_token_kubeconfig(
        self, token: str, path: Path, *, namespace: str | None = None
    ) -> Path:
        """Writes a kubeconfig that authenticates with ``token``, e.g. to run the operator as
        the ServiceAccount its chart creates, so its RBAC rules are what is tested."""
        self._write_kubeconfig(path, {"token": token}, namespace=namespace)
        return path

    def api_request(
        self,
        method: str,
        path: str,
        *,
        token: str | None = None,
        body: Any = None,
        timeout: float = 30.0,
    ) -> ApiResponse:
        """One raw HTTPS request to the apiserver, as admin or with a bearer ``token``.

        Does not raise on HTTP errors: the status is the answer (e.g. 403 for RBAC tests).
        """
        context = ssl.create_default_context(cafile=str(self.ca_cert))
        headers = {"Accept": "application/json"}
        if token is None:
            pki = self.work_dir / "pki"
            context.load_cert_chain(pki / "admin.crt", pki / "admin.key")
        else:
            headers["Authorization"] = f"Bearer {token}"
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        request = urllib.request.Request(
            self.server_url + path, data=data, headers=headers, method=method
        )
        try:
            with urllib.request.urlopen(request, context=context, timeout=timeout) as response:
                return ApiResponse(response.status, _decode(response.read()))
        except urllib.error.HTTPError as error:
            return ApiResponse(error.code, _decode(error.read()))

    def install_crds(self, paths: Sequence[Path], *, timeout: float = 60.0) -> list[str]:
        """Server-side applies CRD files and waits until every CRD is Established.

        Server-side apply because the prometheus-operator CRDs exceed the 256 KiB annotation
        that client-side apply would write. Returns the CRD names.
        """
        if not paths:
            return []
        files = [arg for path in paths for arg in ("-f", str(path))]
        output = self.kubectl(
            "apply", "--server-side", "--force-conflicts", "--field-manager=slo-operator-tests",
            "-o", "name", *files, timeout=timeout,
        ).stdout  # fmt: skip
        names = [
            line.partition("/")[2]
            for line in output.splitlines()
            if line.startswith("customresourcedefinition.")
        ]
        if names:
            self.kubectl(
                "wait", "--for=condition=Established", f"--timeout={int(timeout)}s",
                *(f"customresourcedefinition/{name}" for name in names), timeout=timeout + 10,
            )  # fmt: skip
        return names

    # -- internals ----------------------------------------------------------------------------

    def _write_kubeconfig(
        self, path: Path, user: Mapping[str, str], *, namespace: str | None = None
    ) -> None:
        context: dict[str, str] = {"cluster": "slo-operator-test", "user": "user"}
        if namespace is not None:
            context["namespace"] = namespace
        config = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [
                {
                    "name": "slo-operator-test",
                    "cluster": {
                        "server": self.server_url,
                        "certificate-authority-data": _b64(self.ca_cert),
                    },
                }
            ],
            "users": [{"name": "user", "user": dict(user)}],
            "contexts": [{"name": "slo-operator-test", "context": context}],
            "current-context": "slo-operator-test",
        }
        path.write_text(yaml.safe_dump(config, sort_keys=False))
        path.chmod(0o600)

    def _spawn(self, name: str, argv: list[str]) -> _Component:
        log_path = self.log_path(name)
        # Its own process group: a terminal's Ctrl-C reaches only us, and we stop the
        # components in order; stop() signals the whole group.
        process = processes.spawn(argv, log_path, cwd=self.work_dir)
        component = _Component(name, process, log_path, argv)
        self._components.append(component)
        logger.debug("started %s (pid %d): %s", name, process.pid, shlex.join(argv))
        return component

    def _wait_for(
        self, component: _Component, what: str, probe: Callable[[], bool], timeout: float
    ) -> None:
        deadline = time.monotonic() + timeout
        while True:
            returncode = component.process.poll()
            if returncode is not None:
                raise ComponentFailed(
                    component.name,
                    f"exited with code {returncode} before {what} answered",
                    component.log_path,
                    _log_tail(component.log_path),
                )
            if probe():
                return
            if time.monotonic() > deadline:
                raise ComponentFailed(
                    component.name,
                    f"not ready: {what} did not answer OK within {timeout:.0f}s",
                    component.log_path,
                    _log_tail(component.log_path),
                )
            time.sleep(0.1)

    @staticmethod
    def _etcd_healthy(url: str) -> bool:
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=2) as response:
                return bool(json.loads(response.read()).get("health") == "true")
        except (OSError, http.client.HTTPException, ValueError):
            return False

    def _apiserver_ready(self) -> bool:
        try:
            return self.api_request("GET", "/readyz", timeout=2).status == 200
        except (OSError, http.client.HTTPException):
            return False

    @staticmethod
    def _https_ok(url: str) -> bool:
        # The controller-manager serves /healthz with a self-signed certificate of its own.
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        try:
            with urllib.request.urlopen(url, context=context, timeout=2) as response:
                return bool(response.status == 200)
        except (OSError, http.client.HTTPException):
            return False

    def _install_sigterm_handler(self) -> None:
        """Turns SIGTERM into KeyboardInterrupt so ``__exit__`` runs and pytest tears down.

        Only when nobody else handles SIGTERM (the default would kill us without cleanup), and
        only in the main thread, where Python delivers signals.
        """
        if threading.current_thread() is not threading.main_thread():
            return
        if signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL:
            return

        def on_sigterm(signum: int, frame: FrameType | None) -> None:
            raise KeyboardInterrupt(f"signal {signum}")

        self._previous_sigterm = signal.signal(signal.SIGTERM, on_sigterm)

    def _restore_sigterm_handler(self) -> None:
        if self._previous_sigterm is not None:
            signal.signal(signal.SIGTERM, self._previous_sigterm)
            self._previous_sigterm = None


def wait_until(
    condition: Callable[[], bool],
    *,
    timeout: float,
    description: str,
    interval: float = 0.2,
) -> None:
    """Polls ``condition`` until it holds; raises TimeoutError naming ``description``."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"not true within {timeout:.0f}s: {description}")
        time.sleep(interval)


def _decode(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except ValueError:
        return raw.decode(errors="replace")


# -- detached mode: `python -m testkit.controlplane up|down|status` ----------------


def state_dir() -> Path:
    """Where the detached control plane keeps its pid, log, kubeconfig and work dir.

    ``$SLO_OPERATOR_CLUSTER_DIR`` overrides it, e.g. to run a second one beside the usual one.
    """
    if override := os.environ.get("SLO_OPERATOR_CLUSTER_DIR"):
        return Path(override)
    return cache_root() / "cluster"


@dataclass(frozen=True)
class _State(processes.SupervisorState):
    module: ClassVar[str] = _MODULE

    @property
    def work_dir(self) -> Path:
        return self.folder / "run"

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        """Serialises `up` and `down` of the same state folder."""
        self.folder.mkdir(parents=True, exist_ok=True)
        with (self.folder.parent / "cluster.lock").open("w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            yield


def _export_lines(ready: Mapping[str, str]) -> str:
    return (
        f"export KUBECONFIG={shlex.quote(ready['kubeconfig'])}\n"
        f'export PATH={shlex.quote(ready["bin_dir"])}:"$PATH"\n'
    )


def _up(state: _State, timeout: float) -> int:
    with state.locked():
        ready = state.ready()
        if state.supervisor_pid() is not None and ready is not None:
            print(f"control plane already running at {ready['server']}", file=sys.stderr)
            sys.stdout.write(_export_lines(ready))
            return 0
        _stop_supervisor(state)  # a dead or half-started one: clean up after it
        bin_dir = ensure_binaries()
        state.folder.mkdir(parents=True, exist_ok=True)
        supervisor = state.start_supervisor("--bin-dir", str(bin_dir))
        print(f"starting control plane (log: {state.log_file})", file=sys.stderr)
        try:
            ready = state.wait_until_ready(supervisor, timeout, "control plane")
        except processes.SupervisorFailed as error:
            print(error, file=sys.stderr)
            _stop_supervisor(state)
            return 1
        except BaseException:
            _stop_supervisor(state)
            raise
        sys.stdout.write(_export_lines(ready))
        return 0


def _stop_supervisor(state: _State, grace_seconds: float = 60.0) -> bool:
    """Stops a running supervisor and removes the state folder; True if one was running."""
    pid = state.stop_supervisor(grace_seconds)
    shutil.rmtree(state.folder, ignore_errors=True)
    return pid is not None


def _down(state: _State) -> int:
    with state.locked():
        if _stop_supervisor(state):
            print("control plane stopped", file=sys.stderr)
        else:
            print("control plane was not running", file=sys.stderr)
    return 0


def _status(state: _State) -> int:
    ready = state.ready()
    if state.supervisor_pid() is None or ready is None:
        print("control plane is not running", file=sys.stderr)
        return 1
    print(f"control plane running at {ready['server']}", file=sys.stderr)
    sys.stdout.write(_export_lines(ready))
    return 0


def _serve(state: _State, bin_dir: Path) -> int:
    """The detached supervisor: runs the control plane until SIGTERM/SIGINT/SIGHUP."""

    processes.raise_shutdown_on_signals()
    try:
        with ControlPlane(bin_dir=bin_dir, work_dir=state.work_dir) as control_plane:
            ready = {
                "server": control_plane.server_url,
                "kubeconfig": str(control_plane.kubeconfig),
                "bin_dir": str(bin_dir),
            }
            state.publish_ready(ready)
            while True:
                time.sleep(1)
                control_plane.check_alive()
    except processes.Shutdown:
        logger.info("stopped on signal")
        return 0
    except ControlPlaneError as error:
        logger.error("%s", error)
        state.ready_file.unlink(missing_ok=True)
        return 1


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m testkit.controlplane",
        description="Runs a local Kubernetes control plane in the background.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    up = commands.add_parser("up", help="start (or find) it; print export lines for eval")
    up.add_argument("--timeout", type=float, default=180.0, help="seconds to wait for ready")
    commands.add_parser("down", help="stop it and remove its files")
    commands.add_parser("status", help="exit 0 and print export lines if it is running")
    serve = commands.add_parser("serve", help=argparse.SUPPRESS)
    serve.add_argument("--state-dir", type=Path, required=True)
    serve.add_argument("--bin-dir", type=Path, required=True)
    args = parser.parse_args(argv)

    logging.basicConfig(level=logging.INFO, format="[control-plane] %(message)s", stream=sys.stderr)
    if args.command == "serve":
        return _serve(_State(args.state_dir), args.bin_dir)
    state = _State(state_dir())
    try:
        if args.command == "up":
            return _up(state, args.timeout)
        if args.command == "down":
            return _down(state)
        return _status(state)
    except ControlPlaneError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
