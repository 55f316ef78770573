"""The cluster tier: one real control plane per session, a fresh namespace per test.

The control plane is etcd + kube-apiserver + kube-controller-manager built from the Go modules
(docs/control-plane.md). Nothing here is skipped for a missing binary: the build runs instead,
before the first test, so its minutes are not charged to a test's timeout.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from testkit import controlplane


def pytest_collection_finish(session: pytest.Session) -> None:
    """Builds the control-plane binaries when a collected test needs them (instant if cached)."""
    if session.config.option.collectonly:
        return
    if not any("control_plane" in getattr(item, "fixturenames", ()) for item in session.items):
        return
    capture = session.config.pluginmanager.getplugin("capturemanager")
    # Show the build's progress live: a cold build takes minutes and should not look hung.
    with capture.global_and_fixture_disabled() if capture else contextlib.nullcontext():
        controlplane.ensure_binaries()


@pytest.fixture(scope="session")
def control_plane() -> Iterator[controlplane.ControlPlane]:
    """The session's control plane; ``KUBECONFIG`` points at it while it runs.

    Setting ``KUBECONFIG`` lets subprocesses (kubectl, helm, the operator) find it, and keeps a
    developer's own cluster out of reach of the tests.
    """
    with controlplane.ControlPlane() as plane:
        previous = os.environ.get("KUBECONFIG")
        os.environ["KUBECONFIG"] = str(plane.kubeconfig)
        try:
            yield plane
        finally:
            if previous is None:
                os.environ.pop("KUBECONFIG", None)
            else:
                os.environ["KUBECONFIG"] = previous


@pytest.fixture(scope="session")
def kubeconfig(control_plane: controlplane.ControlPlane) -> Path:
    """Path of the cluster-admin kubeconfig of the session's control plane."""
    return control_plane.kubeconfig


@pytest.fixture
def namespace(
    control_plane: controlplane.ControlPlane, request: pytest.FixtureRequest
) -> Iterator[str]:
    """A fresh namespace named after the test; deleted afterwards (contents by the controller)."""
    name = control_plane.create_namespace(prefix=request.node.name)
    yield name
    control_plane.delete_namespace(name)
