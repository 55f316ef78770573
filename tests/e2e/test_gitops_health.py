"""GitOps health checks against one set of objects (docs/argocd/testdata/):

- the Argo CD check (docs/argocd/health.lua) with real Lua interpreters. Argo CD runs gopher-lua,
  a Lua 5.1 where every number is a float; each case runs under Debian's lua5.1 and lua5.4 with
  the numbers as floats, so the script relies on neither version's extensions;
- the Flux `healthCheckExprs` printed in docs/gitops.md, with cel-go in Flux's environment and
  evaluation order (hack/flux-cel), which must agree with the Argo CD check on every object.

The objects' statuses are checked against the operator's status models, so they hold only what
the operator can write.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from slo_operator.api import status as status_api
from slo_operator.rules import checks
from support import paths

ARGOCD = paths.REPO / "docs" / "argocd"
HEALTH = ARGOCD / "health.lua"
CASES = yaml.safe_load((ARGOCD / "health_test.yaml").read_text())["tests"]
INTERPRETERS = ["lua5.1", "lua5.4"]


def lua_literal(value: Any) -> str:
    """A Lua expression for a JSON-like value, numbers as floats (as gopher-lua has them)."""
    if value is None:
        raise ValueError("null has no place in a Lua table (it would end a sequence)")
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(float(value))
    if isinstance(value, str):
        return lua_string(value)
    if isinstance(value, list):
        return "{" + ", ".join(lua_literal(item) for item in value) + "}"
    if isinstance(value, dict):
        items = (f"[{lua_string(str(k))}] = {lua_literal(v)}" for k, v in value.items())
        return "{" + ", ".join(items) + "}"
    raise TypeError(f"no Lua literal for {type(value).__name__}")


def lua_string(text: str) -> str:
    """A double-quoted Lua 5.1 string: escapes, and bytes beyond ASCII as decimal escapes."""
    out = []
    for byte in text.encode():
        char = chr(byte)
        if char in '"\\':
            out.append("\\" + char)
        elif 32 <= byte < 127:
            out.append(char)
        else:
            out.append(f"\\{byte:03d}")
    return '"' + "".join(out) + '"'


def run_health_check(interpreter: str, body: dict[str, Any]) -> tuple[str, str]:
    executable = shutil.which(interpreter)
    assert executable, f"{interpreter} is missing: run `make setup` (hack/setup.sh installs it)"
    script = (
        f"obj = {lua_literal(body)}\n"
        f"local hs = dofile({lua_string(str(HEALTH))})\n"
        'io.write(hs.status, "\\n", hs.message or "", "\\n")\n'
    )
    result = subprocess.run(
        [executable, "-"], input=script, capture_output=True, text=True, timeout=10, check=False
    )
    assert result.returncode == 0, result.stderr
    status, message, _ = result.stdout.split("\n", 2)
    return status, message


@pytest.mark.parametrize("interpreter", INTERPRETERS)
@pytest.mark.parametrize("case", CASES, ids=lambda case: Path(case["inputPath"]).stem)
def test_health(interpreter: str, case: dict[str, Any]) -> None:
    body = yaml.safe_load((ARGOCD / case["inputPath"]).read_text())
    expected = case["healthStatus"]
    assert run_health_check(interpreter, body) == (expected["status"], expected["message"])


def test_every_fixture_has_a_case_and_every_state_is_covered() -> None:
    fixtures = {f"testdata/{path.name}" for path in (ARGOCD / "testdata").glob("*.yaml")}
    assert fixtures == {case["inputPath"] for case in CASES}
    statuses = {case["healthStatus"]["status"] for case in CASES}
    assert statuses == {"Healthy", "Progressing", "Degraded"}


@pytest.mark.parametrize("case", CASES, ids=lambda case: Path(case["inputPath"]).stem)
def test_fixture_is_what_the_operator_can_write(case: dict[str, Any]) -> None:
    body = yaml.safe_load((ARGOCD / case["inputPath"]).read_text())
    spec_only = {key: value for key, value in body.items() if key != "status"}
    checked = checks.check_resource(spec_only, source=case["inputPath"])
    assert not isinstance(checked, list), checked
    if "status" in body:
        model = (
            status_api.ServiceLevelObjectiveStatus
            if body["kind"] == "ServiceLevelObjective"
            else status_api.ServiceLevelAgreementStatus
        )
        model.model_validate(body["status"])


def test_gitops_doc_carries_the_tested_script_for_both_kinds() -> None:
    """The argocd-cm snippet in docs/gitops.md is valid YAML holding health.lua verbatim."""
    text = (paths.REPO / "docs" / "gitops.md").read_text()
    blocks = [block.split("```", 1)[0] for block in text.split("```yaml\n")[1:]]
    (snippet,) = [block for block in blocks if "kind: ConfigMap" in block and "argocd-cm" in block]
    configmap = yaml.safe_load(snippet)
    script = HEALTH.read_text()
    for kind in ("ServiceLevelObjective", "ServiceLevelAgreement"):
        assert configmap["data"][f"resource.customizations.health.slo.dev_{kind}"] == script


FLUX_STATUS = {"Healthy": "Current", "Progressing": "InProgress", "Degraded": "Failed"}


@pytest.fixture(scope="module")
def flux_cel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """hack/flux-cel built with the committed go.sum (Go's build cache makes rebuilds instant)."""
    binary = tmp_path_factory.mktemp("flux-cel") / "flux-cel"
    subprocess.run(
        ["go", "build", "-mod=readonly", "-o", str(binary), "."],
        cwd=paths.REPO / "hack" / "flux-cel",
        env={**os.environ, "CGO_ENABLED": "0"},
        check=True,
        timeout=600,
    )
    return binary


def flux_expressions() -> dict[str, dict[str, str]]:
    """The healthCheckExprs of the Kustomization printed in docs/gitops.md, by kind."""
    text = (paths.REPO / "docs" / "gitops.md").read_text()
    blocks = [block.split("```", 1)[0] for block in text.split("```yaml\n")[1:]]
    (snippet,) = [block for block in blocks if "kind: Kustomization" in block]
    kustomization = yaml.safe_load(snippet)
    assert kustomization["apiVersion"] == "kustomize.toolkit.fluxcd.io/v1"
    return {entry["kind"]: entry for entry in kustomization["spec"]["healthCheckExprs"]}


@pytest.mark.timeout(900)
def test_flux_health_check_exprs_agree_with_argo_cd(flux_cel: Path) -> None:
    expressions = flux_expressions()
    assert sorted(expressions) == ["ServiceLevelAgreement", "ServiceLevelObjective"]
    for kind, entry in expressions.items():
        assert entry["apiVersion"] == "slo.dev/v1alpha1"
        cases = []
        for case in CASES:
            body = yaml.safe_load((ARGOCD / case["inputPath"]).read_text())
            if body["kind"] == kind:
                cases.append((case, json.loads(json.dumps(body))))
        request = {
            "inProgress": entry["inProgress"],
            "failed": entry["failed"],
            "current": entry["current"],
            "objects": [body for _, body in cases],
        }
        result = subprocess.run(
            [str(flux_cel)], input=json.dumps(request), capture_output=True, text=True, check=True
        )
        answers = result.stdout.splitlines()
        assert len(answers) == len(cases), result.stdout
        for (case, body), answer in zip(cases, answers, strict=True):
            if "status" not in body:
                # CEL cannot test whether a top-level variable exists (docs/gitops.md).
                assert answer.startswith("Error: no such attribute"), (case["inputPath"], answer)
            else:
                expected = FLUX_STATUS[case["healthStatus"]["status"]]
                assert answer == expected, (case["inputPath"], answer)
