"""The Dockerfile without a container engine: its install steps replayed into a temporary root,
its entry point run as its non-root user on a tree that user cannot write, and the chart checked
against its ENTRYPOINT, EXPOSE and USER. See dockerfile_replay for what the replay stands in for.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from e2e import dockerfile_replay
from e2e.helm_chart import Helm, find
from e2e.operator_in_root import apply_example_until_ready, running_operator, snapshot
from support import paths
from testkit import controlplane, operator_process

DOCKERFILE = paths.REPO / "Dockerfile"
# The chart's emptyDir for the webhook certificates (the only writable path besides /tmp).
WEBHOOK_CERTS = "/var/run/slo-operator/webhook-certs"
# A cold pip download of every dependency, then the build: minutes, not the default 300 s.
pytestmark = pytest.mark.timeout(1200)


@pytest.fixture(scope="module")
def image() -> Iterator[dockerfile_replay.Replay]:
    """The Dockerfile replayed: builder stage, then the final stage with only what it copies."""
    folder = Path(tempfile.mkdtemp(prefix="slo-operator-image-"))
    folder.chmod(0o755)  # the image's user must reach the interpreter and the root
    try:
        replay = dockerfile_replay.Replay(
            dockerfile_replay.parse(DOCKERFILE),
            context=paths.REPO,
            root=folder / "root",
            base=dockerfile_replay.base_python(folder / "base-image"),
        )
        replay.build()
        # The chart's emptyDir mounts, writable; everything else is sealed.
        replay.seal()
        certs = replay.host(WEBHOOK_CERTS)
        certs.mkdir(parents=True)
        certs.chmod(0o1777)
        yield replay
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def test_final_image_holds_only_the_virtualenv(image: dockerfile_replay.Replay) -> None:
    dockerfile = image.dockerfile
    builder, final = dockerfile.stages
    assert final.base == builder.base, "the virtualenv's interpreter link needs the same base"
    assert not final.all("RUN"), "nothing is installed (or compiled) in the final stage"
    copies = [i.arguments for i in final.all("COPY")]
    assert copies == ["--from=builder /opt/slo-operator /opt/slo-operator"]
    top_level = sorted(path.name for path in image.root.iterdir())
    assert top_level == ["opt", "tmp", "var"], top_level  # var: the certificates' mount point
    installed = image.host("/opt/slo-operator")
    assert (installed / "bin" / "slo-operator").exists()
    assert not (installed / "bin" / "pip").exists(), "no pip in the runtime virtualenv"
    site = next(installed.glob("lib/python3.11/site-packages"))
    assert list(site.glob("slo_operator/**/__pycache__/*.pyc")), "bytecode compiled at build"
    assert not list(site.glob("setuptools*")), "no build tools in the runtime virtualenv"


def test_entrypoint_help_runs_as_the_image_user_on_a_read_only_root(
    image: dockerfile_replay.Replay,
) -> None:
    writable = (image.host("/tmp"), image.host(WEBHOOK_CERTS))
    before = snapshot(image.root, writable)
    result = image.run_entrypoint(["--help"])
    assert result.returncode == 0, result.stderr
    assert "--all-namespaces" in result.stdout and "--webhook-service" in result.stdout
    assert snapshot(image.root, writable) == before


def test_the_operator_runs_from_the_image_on_a_read_only_root(
    image: dockerfile_replay.Replay,
    control_plane: controlplane.ControlPlane,
    namespace: str,
    tmp_path: Path,
) -> None:
    """`slo-operator run` from the replayed image, as uid 65532 with only /tmp and the
    certificates' folder writable: healthy, webhook certificates made, an SLO reconciled."""
    uid, gid = image.dockerfile.user()
    kubeconfig = image.host("/tmp") / "kubeconfig"
    shutil.copy(control_plane.kubeconfig, kubeconfig)
    os.chown(kubeconfig, uid, gid)
    health, metrics, webhook = (operator_process.free_port() for _ in range(3))
    writable = (image.host("/tmp"), image.host(WEBHOOK_CERTS))
    before = snapshot(image.root, writable)
    with running_operator(
        image.entrypoint_command(
            [
                f"--namespace={namespace}",
                f"--health-port={health}",
                f"--metrics-port={metrics}",
                f"--webhook-port={webhook}",
                "--webhook-host=127.0.0.1",
                f"--webhook-cert-dir={image.host(WEBHOOK_CERTS)}",
            ]
        ),
        env=image.entrypoint_environ({"KUBECONFIG": str(kubeconfig)}),
        cwd=image.host(image.workdir),
        log_path=tmp_path / "operator.log",
        health_port=health,
        control_plane=control_plane,
        timeout=60,
    ):
        assert sorted(p.name for p in image.host(WEBHOOK_CERTS).iterdir()) == [
            "ca.crt",
            "ca.key",
            "tls.crt",
            "tls.key",
        ]
        apply_example_until_ready(control_plane, namespace, timeout=30)
    assert snapshot(image.root, writable) == before


def test_chart_runs_the_image_as_built(helm: Helm) -> None:
    """The chart's container uses the image's ENTRYPOINT, its ports and its user."""
    dockerfile = dockerfile_replay.parse(DOCKERFILE)
    assert dockerfile.entrypoint() == ["slo-operator", "run"]
    pod = find(helm.render(), "Deployment")["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert "command" not in container, "the chart must not override the image's ENTRYPOINT"
    assert all(arg.startswith("--") for arg in container["args"]), "flags of `run` only"
    ports = sorted(port["containerPort"] for port in container["ports"])
    assert ports == sorted(dockerfile.exposed_ports())
    names = {port["name"]: port["containerPort"] for port in container["ports"]}
    assert f"--health-port={names['health']}" in container["args"]
    assert f"--metrics-port={names['metrics']}" in container["args"]
    assert f"--webhook-port={names['webhook']}" in container["args"]
    uid, gid = dockerfile.user()
    assert (
        container["securityContext"]["runAsUser"],
        container["securityContext"]["runAsGroup"],
    ) == (
        uid,
        gid,
    )
    writable = {m["mountPath"] for m in container["volumeMounts"] if not m.get("readOnly")}
    workdirs = [i.arguments for i in dockerfile.final.all("WORKDIR")]
    assert workdirs[-1] in writable, "the image's WORKDIR is a writable mount in the chart"
    assert WEBHOOK_CERTS in writable


def test_dockerignore_keeps_the_context_to_the_package() -> None:
    patterns = [
        line.strip()
        for line in (paths.REPO / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    kept = ["pyproject.toml", "README.md", "operator/slo_operator/cli/__init__.py"]
    dropped = [
        ".venv/bin/python",
        ".git/HEAD",
        "tests/e2e/conftest.py",
        "operator/slo_operator/cli/__pycache__/common.cpython-311.pyc",
        "operator/slo_operator.egg-info/PKG-INFO",
    ]
    for path in kept:
        assert not dockerfile_replay.dockerignore_excludes(patterns, path), path
    for path in dropped:
        assert dockerfile_replay.dockerignore_excludes(patterns, path), path
