"""The committed crds/ are exactly what the models generate: one source of truth.

When this fails after a change to the models, run `make crds` and commit the result.
"""

from __future__ import annotations

import pathlib
import subprocess
import sys

import pytest
import yaml

from slo_operator.api import crd
from support import paths


@pytest.mark.parametrize("kind", crd.KINDS, ids=lambda kind: kind.kind)
def test_committed_crd_matches_the_models(kind: crd.ResourceKind) -> None:
    path = paths.CRDS / kind.file_name
    generated = crd.to_yaml(crd.custom_resource_definition(kind))
    assert path.is_file(), f"{path} is missing: run `make crds`"
    assert path.read_text(encoding="utf-8") == generated, (
        f"{path} differs from what the models generate: run `make crds` and commit the result"
    )


def test_crds_dir_holds_nothing_but_generated_crds() -> None:
    expected = {kind.file_name for kind in crd.KINDS}
    present = {path.name for path in paths.CRDS.glob("*.yaml")}
    assert present == expected, "crds/ holds files the models do not generate"


def run_crds(*args: str) -> subprocess.CompletedProcess[str]:
    script = pathlib.Path(sys.executable).with_name("slo-operator")
    return subprocess.run(
        [str(script), "crds", *args], capture_output=True, text=True, timeout=60, check=False
    )


def test_crds_verb_prints_both_crds() -> None:
    result = run_crds()
    assert result.returncode == 0, result.stderr
    documents = list(yaml.safe_load_all(result.stdout))
    assert documents == crd.custom_resource_definitions()


def test_crds_verb_writes_the_committed_files(tmp_path: pathlib.Path) -> None:
    result = run_crds("--output-dir", str(tmp_path / "crds"))
    assert result.returncode == 0, result.stderr
    for kind in crd.KINDS:
        written = (tmp_path / "crds" / kind.file_name).read_text(encoding="utf-8")
        assert written == (paths.CRDS / kind.file_name).read_text(encoding="utf-8")
