"""helm install, upgrade, uninstall and install again on a cluster without our CRDs: the chart
installs the CRDs, upgrades them, keeps them (and every SLO) on uninstall, and adopts them again.

A control plane of its own, because the session's has the CRDs from crds/ already (applied by the
harness, owned by no release) and other tests rely on them.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from e2e.helm_chart import CHART, Helm
from support import paths
from testkit import controlplane

RELEASE = "slo"
NAMESPACE = "slo-system"
SLO_CRD = "servicelevelobjectives.slo.dev"
EXAMPLE = paths.REPO / "examples" / "checkout-availability.yaml"


@pytest.fixture(scope="module")
def bare_plane() -> Iterator[controlplane.ControlPlane]:
    ours = {path.resolve() for path in (paths.REPO / "crds").glob("*.yaml")}
    others = [path for path in controlplane.default_crd_paths() if path.resolve() not in ours]
    with controlplane.ControlPlane(crd_paths=others) as plane:
        yield plane


def helm_on(helm: Helm, plane: controlplane.ControlPlane, *args: str) -> str:
    return helm.run(*args, "--namespace", NAMESPACE, "--kubeconfig", str(plane.kubeconfig)).stdout


def crd(plane: controlplane.ControlPlane, name: str = SLO_CRD) -> dict[str, Any] | None:
    result = plane.kubectl("get", "crd", name, "-o", "json", check=False)
    return json.loads(result.stdout) if result.returncode == 0 else None


def columns(body: dict[str, Any] | None) -> list[str]:
    assert body is not None
    return [column["name"] for column in body["spec"]["versions"][0]["additionalPrinterColumns"]]


def chart_crds(plane: controlplane.ControlPlane) -> list[dict[str, Any]]:
    """The CRDs this release owns, as the apiserver has them."""
    listing = json.loads(plane.kubectl("get", "crd", "-o", "json").stdout)
    return [
        body
        for body in listing["items"]
        if body["metadata"].get("annotations", {}).get("meta.helm.sh/release-name") == RELEASE
    ]


def warm_storage(plane: controlplane.ControlPlane) -> None:
    """List every kind of the release from the apiserver's watch cache once, until it answers.

    kube-apiserver builds a kind's storage lazily, on the first request after a CRD change. When a
    CRD is deleted, its finalizer lists the instances; on storage still initializing that list
    fails, and if the finalizer's retry then meets a conflict on the CRD's status, it waits for
    the informer's 5-minute resync (kube-apiserver 1.34). In a cluster the running operator has
    read SLOs, SLAs and its peering objects long before; this plane runs no pods, so the test
    reads each kind itself, as the operator would.
    """
    for body in chart_crds(plane):
        group, plural = body["spec"]["group"], body["spec"]["names"]["plural"]
        version = next(v["name"] for v in body["spec"]["versions"] if v.get("storage"))
        path = f"/apis/{group}/{version}/{plural}?resourceVersion=0&limit=1"

        def listed(path: str = path) -> bool:
            return plane.kubectl("get", "--raw", path, check=False).returncode == 0

        controlplane.wait_until(
            listed, timeout=60, description=f"{plural}.{group} listed from the watch cache"
        )


def uninstall(helm: Helm, plane: controlplane.ControlPlane) -> None:
    """helm uninstall --wait, failing with what is left (a CRD's Terminating condition) instead
    of a bare timeout."""
    result = helm.run(
        "uninstall",
        RELEASE,
        "--wait",
        "--timeout",
        "90s",
        "--namespace",
        NAMESPACE,
        "--kubeconfig",
        str(plane.kubeconfig),
        check=False,
    )
    if result.returncode != 0:
        left = {
            body["metadata"]["name"]: body.get("status", {}).get("conditions", [])
            for body in chart_crds(plane)
        }
        raise AssertionError(f"helm uninstall failed: {result.stderr}\nCRDs left: {left}")


def next_chart_version(folder: Path) -> Path:
    """A copy of the chart whose SLO CRD has one more printer column, as a new release would."""
    chart = folder / "slo-operator"
    shutil.copytree(CHART, chart)
    path = chart / "files" / "crds" / "slo.dev_servicelevelobjectives.yaml"
    body = yaml.safe_load(path.read_text())
    body["spec"]["versions"][0]["additionalPrinterColumns"].append(
        {"name": "Owner", "type": "string", "jsonPath": ".spec.owner"}
    )
    path.write_text(yaml.safe_dump(body, sort_keys=False))
    metadata = yaml.safe_load((chart / "Chart.yaml").read_text())
    metadata["version"] = "0.1.1"
    (chart / "Chart.yaml").write_text(yaml.safe_dump(metadata, sort_keys=False))
    return chart


def test_install_upgrade_uninstall_keep_and_reinstall(
    bare_plane: controlplane.ControlPlane, helm: Helm, tmp_path: Path
) -> None:
    assert crd(bare_plane) is None
    notes = helm_on(helm, bare_plane, "install", RELEASE, str(CHART), "--create-namespace")
    assert "kubectl get slo,sla -A" in notes and "kubectl describe slo" in notes, notes
    installed = crd(bare_plane)
    assert installed is not None
    assert installed["metadata"]["annotations"]["helm.sh/resource-policy"] == "keep"
    bare_plane.kubectl("wait", "--for=condition=Established", f"crd/{SLO_CRD}")
    original_columns = columns(installed)

    bare_plane.create_namespace("shop")
    bare_plane.kubectl("apply", "-f", str(EXAMPLE))

    # Upgrade: the new chart version's CRD change reaches the cluster (crds/ would not).
    helm_on(helm, bare_plane, "upgrade", RELEASE, str(next_chart_version(tmp_path)))
    assert columns(crd(bare_plane)) == [*original_columns, "Owner"]
    listing = bare_plane.kubectl("get", "slo", "-n", "shop").stdout
    assert "OWNER" in listing.splitlines()[0] and "team-checkout" in listing, listing

    # Uninstall: the operator's objects go, the CRDs and every SLO stay.
    uninstall(helm, bare_plane)
    assert crd(bare_plane) is not None
    assert bare_plane.kubectl("get", "slo", "checkout-availability", "-n", "shop").returncode == 0
    for kind, name in [
        ("deployment", "slo-slo-operator"),
        ("clusterrole", "slo-slo-operator"),
        ("validatingwebhookconfiguration", "slo-operator.slo.dev"),
    ]:
        gone = bare_plane.kubectl("get", kind, name, "-n", NAMESPACE, check=False)
        assert gone.returncode != 0, f"{kind}/{name} survived the uninstall"

    # Install again under the same name: the kept CRDs are adopted and set to this chart's.
    helm_on(helm, bare_plane, "install", RELEASE, str(CHART))
    assert columns(crd(bare_plane)) == original_columns
    assert bare_plane.kubectl("get", "slo", "checkout-availability", "-n", "shop").returncode == 0

    # crds.keep=false: uninstalling deletes the CRDs, and every SLO with them.
    helm_on(helm, bare_plane, "upgrade", RELEASE, str(CHART), "--set", "crds.keep=false")
    warm_storage(bare_plane)
    uninstall(helm, bare_plane)
    controlplane.wait_until(
        lambda: crd(bare_plane) is None, timeout=30, description="the CRD deleted"
    )
