"""The e2e tier: the Helm chart, the Dockerfile and the GitOps health checks, as a user meets them.

The cluster fixtures (`control_plane`, `kubeconfig`, `namespace`) are the cluster tier's, imported
so this folder gets its own session control plane: the e2e tests create cluster-scoped objects
(ClusterRoles, the webhook configurations) that must not leak into the cluster tier's tests.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import pytest

from cluster.conftest import control_plane, kubeconfig, namespace
from e2e.helm_chart import Helm
from testkit import controlplane

__all__ = ["control_plane", "kubeconfig", "namespace"]

_NEEDS_BINARIES = ("control_plane", "helm")


def pytest_collection_finish(session: pytest.Session) -> None:
    """Builds helm and the control plane before the first test when one needs them."""
    if session.config.option.collectonly:
        return
    if not any(
        name in getattr(item, "fixturenames", ())
        for item in session.items
        for name in _NEEDS_BINARIES
    ):
        return
    capture = session.config.pluginmanager.getplugin("capturemanager")
    with capture.global_and_fixture_disabled() if capture else contextlib.nullcontext():
        controlplane.ensure_binaries()


@pytest.fixture(scope="session")
def helm(tmp_path_factory: pytest.TempPathFactory) -> Helm:
    """helm v3 as built by hack/build-control-plane.sh."""
    return Helm(controlplane.ensure_binaries() / "helm", tmp_path_factory.mktemp("helm-home"))


@pytest.fixture
def release_namespace(control_plane: controlplane.ControlPlane) -> Iterator[str]:
    """A namespace to install a release into; deleted afterwards."""
    name = control_plane.create_namespace(prefix="release")
    yield name
    control_plane.delete_namespace(name)
