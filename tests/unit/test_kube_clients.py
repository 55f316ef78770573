"""The command line finds the cluster the way kubectl does: through `KUBECONFIG` as it is when
the command runs, not as it was when the client library was imported."""

from __future__ import annotations

import pathlib

import pytest
import yaml

from slo_operator.kube import clients


def _kubeconfig(path: pathlib.Path, server: str, namespace: str) -> pathlib.Path:
    path.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [{"name": "c", "cluster": {"server": server}}],
                "users": [{"name": "u", "user": {"token": "t"}}],
                "contexts": [
                    {"name": "x", "context": {"cluster": "c", "user": "u", "namespace": namespace}}
                ],
                "current-context": "x",
            }
        )
    )
    return path


def test_kubeconfig_set_after_import_is_the_one_used(
    tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    first = _kubeconfig(tmp_path / "first", "https://127.0.0.1:6443", "team-a")
    monkeypatch.setenv("KUBECONFIG", str(first))
    assert clients.current_namespace() == "team-a"
    client = clients.api_client(in_cluster_first=False)
    assert client.configuration.host == "https://127.0.0.1:6443"

    second = _kubeconfig(tmp_path / "second", "https://127.0.0.1:7443", "team-b")
    monkeypatch.setenv("KUBECONFIG", str(second))
    assert clients.current_namespace() == "team-b"
    assert clients.api_client(in_cluster_first=False).configuration.host == (
        "https://127.0.0.1:7443"
    )


def test_a_missing_kubeconfig_is_named_in_the_error(
    tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "absent"))
    with pytest.raises(Exception, match=r"absent|[Ii]nvalid kube-config"):
        clients.api_client(in_cluster_first=False)
    assert clients.current_namespace() == "default"
