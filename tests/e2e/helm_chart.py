"""Rendering the chart with the built helm, and picking documents out of the output."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from support import paths
from testkit import controlplane

CHART = paths.CHART
VALUES_DIR = Path(__file__).resolve().parent / "values"
# Render for the apiserver the tests run (helm template alone assumes v1.20, below kubeVersion).
KUBE_VERSION = controlplane.read_versions()["K8S_VERSION"]


class HelmFailed(AssertionError):
    """helm exited non-zero; the message holds its stderr."""


class Helm:
    """The built helm binary with its own config, cache and data folders (nothing of the user's)."""

    def __init__(self, binary: Path, home: Path) -> None:
        self.binary = binary
        self.environ = {
            **os.environ,
            "HELM_CACHE_HOME": str(home / "cache"),
            "HELM_CONFIG_HOME": str(home / "config"),
            "HELM_DATA_HOME": str(home / "data"),
        }

    def run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [str(self.binary), *args],
            capture_output=True,
            text=True,
            env=self.environ,
            timeout=120,
            check=False,
        )
        if check and result.returncode != 0:
            raise HelmFailed(f"helm {' '.join(args)} exited {result.returncode}:\n{result.stderr}")
        return result

    def template(
        self,
        *,
        release: str = "slo",
        namespace: str = "slo-system",
        values_files: Sequence[Path] = (),
        set_json: Sequence[str] = (),
        check: bool = True,
    ) -> subprocess.CompletedProcess[str]:
        args = ["template", release, str(CHART), "--namespace", namespace]
        args += ["--kube-version", KUBE_VERSION]
        for path in values_files:
            args += ["--values", str(path)]
        for assignment in set_json:
            args += ["--set-json", assignment]
        return self.run(*args, check=check)

    def render(self, **kwargs: Any) -> list[dict[str, Any]]:
        """The rendered documents, parsed."""
        output = self.template(**kwargs).stdout
        return [document for document in yaml.safe_load_all(output) if document]


def find(documents: Sequence[dict[str, Any]], kind: str, name: str | None = None) -> dict[str, Any]:
    """The one document of `kind` (and `name`); fails listing what there is."""
    matches = [
        document
        for document in documents
        if document["kind"] == kind and name in (None, document["metadata"]["name"])
    ]
    assert len(matches) == 1, (
        f"expected one {kind} {name or ''}, got {len(matches)} among "
        f"{[(d['kind'], d['metadata']['name']) for d in documents]}"
    )
    return matches[0]


def as_json(documents: Sequence[dict[str, Any]]) -> str:
    """A List kubectl accepts on stdin."""
    return json.dumps({"apiVersion": "v1", "kind": "List", "items": list(documents)})
