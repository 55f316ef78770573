"""`make image`: the operator's real OCI image, built without a container engine, inspected as a
registry would see it, and run from its own root file system.

No container can be started in this sandbox (crun's setrlimit is refused: "OCI permission
denied"), so the image's root file system -- unpacked from the archive by umoci, layer by layer,
exactly as a runtime would -- is entered with chroot as the image's user: the operator runs from
the image's own Python and virtualenv against the real control plane.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from e2e.helm_chart import Helm, find
from e2e.operator_in_root import apply_example_until_ready, running_operator, snapshot
from support import paths
from testkit import controlplane, operator_process

WEBHOOK_CERTS = "/var/run/slo-operator/webhook-certs"
# A cold base (mmdebstrap) and the wheels: a few minutes; cached later (base tar in the cache).
pytestmark = pytest.mark.timeout(1200)


class Image:
    def __init__(self, archive: Path, work: Path) -> None:
        self.archive = archive
        self.reference = f"oci-archive:{archive}"
        self.config: dict[str, Any] = json.loads(
            subprocess.run(
                ["skopeo", "inspect", "--config", self.reference],
                capture_output=True,
                text=True,
                check=True,
            ).stdout
        )
        self.manifest: dict[str, Any] = json.loads(
            subprocess.run(
                ["skopeo", "inspect", "--raw", self.reference],
                capture_output=True,
                text=True,
                check=True,
            ).stdout
        )
        layout = work / "layout"
        subprocess.run(
            ["skopeo", "copy", "--quiet", self.reference, f"oci:{layout}:image"], check=True
        )
        self.bundle = work / "bundle"
        subprocess.run(
            ["umoci", "unpack", "--image", f"{layout}:image", str(self.bundle)],
            capture_output=True,
            check=True,
        )
        self.root = self.bundle / "rootfs"

    def host(self, path: str) -> Path:
        """Where ``path`` of the image is on this machine: symbolic links inside the image
        (Debian's /var/run -> /run) are followed within its root, never out to the host's."""
        current = self.root
        for part in Path(path).relative_to("/").parts:
            candidate = current / part
            hops = 0
            while candidate.is_symlink() and hops < 16:
                target = Path(os.readlink(candidate))
                base = self.root if target.is_absolute() else candidate.parent
                candidate = (
                    base / target.relative_to("/") if target.is_absolute() else base / target
                )
                hops += 1
            current = candidate
        return current

    def command(self, argv: list[str], entrypoint: bool = True) -> list[str]:
        """``argv`` as the image's user inside its root (the entry point first, unless not)."""
        user = self.config["config"]["User"]
        head = self.config["config"]["Entrypoint"] if entrypoint else []
        return ["chroot", f"--userspec={user}", str(self.root), *head, *argv]

    def environ(self, extra: dict[str, str]) -> dict[str, str]:
        environ = dict(item.split("=", 1) for item in self.config["config"]["Env"])
        return {**environ, **extra}


@pytest.fixture(scope="module")
def image(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Image]:
    work = tmp_path_factory.mktemp("image")
    built = subprocess.run(
        ["make", "-s", "image"],
        cwd=paths.REPO,
        env={**os.environ, "SLO_OPERATOR_IMAGE_DIR": str(work / "out")},
        capture_output=True,
        text=True,
        timeout=1100,
        check=False,
    )
    assert built.returncode == 0, built.stderr[-4000:]
    archive = Path(built.stdout.strip().splitlines()[-1])
    assert archive.is_file() and archive.parent == work / "out"
    print(built.stderr.strip().splitlines()[-1])  # the digest and size, for the run's log
    unpacked = Image(archive, work)
    # The chart's writable mounts: an emptyDir at /tmp and one for the webhook certificates.
    unpacked.host("/tmp").chmod(0o1777)
    certs = unpacked.host(WEBHOOK_CERTS)
    certs.mkdir(parents=True)
    certs.chmod(0o1777)
    try:
        yield unpacked
    finally:
        shutil.rmtree(unpacked.bundle, ignore_errors=True)


def test_image_configuration_is_what_the_chart_and_the_dockerfile_state(
    image: Image, helm: Helm
) -> None:
    config = image.config["config"]
    assert config["User"] == "65532:65532"
    assert config["Entrypoint"] == ["slo-operator", "run"]
    assert config["WorkingDir"] == "/tmp"
    assert sorted(config["ExposedPorts"]) == ["8080/tcp", "9090/tcp", "9443/tcp"]
    assert "HOME=/tmp" in config["Env"] and "USER=slo-operator" in config["Env"]
    # Two layers: the Debian base, then the virtualenv (a change to the operator rebuilds one).
    assert len(image.manifest["layers"]) == 2
    sizes = [layer["size"] for layer in image.manifest["layers"]]
    assert sum(sizes) < 120_000_000, sizes
    # The chart's defaults name the image as the archive does.
    container = find(helm.render(), "Deployment")["spec"]["template"]["spec"]["containers"][0]
    assert container["image"] == "slo-operator:0.1.0", container["image"]
    assert image.manifest["schemaVersion"] == 2
    assert all(
        layer["mediaType"] == "application/vnd.oci.image.layer.v1.tar+gzip"
        for layer in image.manifest["layers"]
    )


def test_image_holds_no_compiler_no_pip_and_no_package_manager(image: Image) -> None:
    for tool in ("gcc", "cc", "make", "apt-get", "pip", "pip3"):
        assert not image.host(f"/usr/bin/{tool}").exists(), tool
    venv = image.host("/opt/slo-operator")
    assert (venv / "bin" / "slo-operator").exists()
    assert not list(venv.glob("bin/pip*"))
    site = next(venv.glob("lib/python3.11/site-packages"))
    assert not list(site.glob("pip")) and not list(site.glob("setuptools"))
    assert (site / "slo_operator").is_dir()
    assert not (site / "testkit").exists(), "the test kit is not shipped"
    assert image.host("/usr/share/zoneinfo/Europe/Berlin").exists(), "IANA zones for SLAs"


def test_the_operator_runs_from_the_image_as_its_user_on_a_read_only_root(
    image: Image,
    control_plane: controlplane.ControlPlane,
    namespace: str,
    tmp_path: Path,
) -> None:
    uid, gid = (int(part) for part in image.config["config"]["User"].split(":"))
    kubeconfig = image.host("/tmp") / "kubeconfig"
    shutil.copy(control_plane.kubeconfig, kubeconfig)
    os.chown(kubeconfig, uid, gid)
    health, metrics, webhook = (operator_process.free_port() for _ in range(3))
    writable = (image.host("/tmp"), image.host(WEBHOOK_CERTS))
    before = snapshot(image.root, writable)
    with running_operator(
        image.command(
            [
                f"--namespace={namespace}",
                f"--health-port={health}",
                f"--metrics-port={metrics}",
                f"--webhook-port={webhook}",
                "--webhook-host=127.0.0.1",
                f"--webhook-cert-dir={WEBHOOK_CERTS}",
            ]
        ),
        env=image.environ({"KUBECONFIG": "/tmp/kubeconfig"}),
        log_path=tmp_path / "operator.log",
        health_port=health,
        control_plane=control_plane,
    ):
        apply_example_until_ready(control_plane, namespace, timeout=60)
        rules = control_plane.kubectl("get", "prometheusrule", "-n", namespace, "-o", "name")
        assert "slo-chatbot-latency" in rules.stdout
    assert snapshot(image.root, writable) == before, "nothing written outside the mounts"
