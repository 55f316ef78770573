"""`slo-operator validate` and `generate` as users run them: the installed console script.

Every invalid manifest of tests/cases/invalid_manifests.py is rejected with a line naming its
field; every example passes; no input whatever (empty, binary, not YAML, wrong kinds, nested
garbage) produces a traceback.
"""

from __future__ import annotations

import pathlib
import re
import shutil
import string
import subprocess
import sys
from typing import Any

import hypothesis
import pytest
import yaml
from hypothesis import strategies

from cases import invalid_manifests, manifest_strategies
from slo_operator.api import validation
from support import paths

CONSOLE_SCRIPT = pathlib.Path(sys.executable).with_name("slo-operator")
PROBLEM_LINE = re.compile(
    r"^(?P<file>[^:]+)"
    r"(?::(?P<line>\d+):(?P<column>\d+): "
    r"(?:(?P<object>ServiceLevel(?:Objective|Agreement)(?: [-a-z0-9./]+)?): )?"
    r"(?:(?P<field>[^:\s]+): )?"
    r"|:(?P<document>\d+): |: )(?P<msg>.+)$"
)
"""`file:line:column: Kind namespace/name: field: message`; `file:document: message` where YAML
gives no position; `file: message` for a whole file."""


def slo_operator(*args: str) -> subprocess.CompletedProcess[str]:
    assert CONSOLE_SCRIPT.exists() or shutil.which("slo-operator"), "run `make setup`"
    command = str(CONSOLE_SCRIPT) if CONSOLE_SCRIPT.exists() else "slo-operator"
    return subprocess.run([command, *args], capture_output=True, text=True, timeout=60, check=False)


def write_manifest(folder: pathlib.Path, name: str, *documents: Any) -> pathlib.Path:
    path = folder / f"{name}.yaml"
    path.write_text(yaml.safe_dump_all(documents, sort_keys=False), encoding="utf-8")
    return path


def problem_fields(stdout: str) -> list[str]:
    """The field of each problem line; fails on a line that is not `file:document:field: msg`."""
    fields = []
    for line in stdout.splitlines():
        match = PROBLEM_LINE.match(line)
        assert match, f"not a problem line: {line!r}"
        fields.append(match["field"] or "")
        assert match["msg"]
    return fields


def names_field(found: str, expected: str) -> bool:
    """`spec.labels.cost-center` names `spec.labels`; `spec.labelsX` does not."""
    return found == expected or found.startswith((f"{expected}.", f"{expected}["))


# --- the table of invalid manifests -----------------------------------------------------------


@pytest.fixture(scope="module")
def table_verdicts(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[str]]:
    """Problem lines per case, from one `validate` run over one file per case.

    One process for the whole table keeps the tier fast; the lines name their file, so each
    case is still judged on its own.
    """
    folder = tmp_path_factory.mktemp("invalid-manifests")
    for case in invalid_manifests.CASES:
        write_manifest(folder, case.id, case.manifest)
    result = slo_operator("validate", "-f", str(folder))
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    verdicts: dict[str, list[str]] = {case.id: [] for case in invalid_manifests.CASES}
    for line in result.stdout.splitlines():
        match = PROBLEM_LINE.match(line)
        assert match, f"not a problem line: {line!r}"
        verdicts[pathlib.Path(match["file"]).stem].append(line)
    return verdicts


@pytest.mark.parametrize("case", invalid_manifests.CASES, ids=lambda case: case.id)
def test_invalid_manifest_is_rejected_naming_its_field(
    case: invalid_manifests.InvalidCase, table_verdicts: dict[str, list[str]]
) -> None:
    lines = table_verdicts[case.id]
    fields = problem_fields("\n".join(lines))
    assert any(names_field(field, case.field) for field in fields), (
        f"expected a problem at {case.field}, got: {lines}"
    )
    assert any(case.message_contains in line for line in lines)


@pytest.mark.parametrize("case_id", ["target-zero", "selector-unclosed-brace", "kind-unknown"])
def test_one_invalid_manifest_exits_1(case_id: str, tmp_path: pathlib.Path) -> None:
    path = write_manifest(tmp_path, case_id, invalid_manifests.CASES_BY_ID[case_id].manifest)
    result = slo_operator("validate", "-f", str(path))
    assert result.returncode == 1
    assert PROBLEM_LINE.match(result.stdout.splitlines()[0])
    assert result.stdout.startswith(f"{path}:")


@pytest.mark.parametrize("name", sorted(invalid_manifests.VALID_BASES))
def test_case_bases_are_valid(name: str, tmp_path: pathlib.Path) -> None:
    # Each case must fail for its own mutation, not for something wrong in its base.
    path = write_manifest(tmp_path, name, invalid_manifests.VALID_BASES[name])
    result = slo_operator("validate", "-f", str(path))
    assert result.returncode == 0, result.stdout


def test_table_covers_every_rule_of_the_api() -> None:
    assert len(invalid_manifests.CASES) >= 25
    webhook_only = [case for case in invalid_manifests.CASES if not case.apiserver_can_judge]
    assert all(case.why_webhook_only for case in webhook_only)


def test_every_problem_of_a_file_is_reported_with_its_document(tmp_path: pathlib.Path) -> None:
    cases = invalid_manifests.CASES_BY_ID
    path = write_manifest(
        tmp_path,
        "several",
        invalid_manifests.SLO_RATIO,
        cases["target-zero"].manifest,
        cases["credit-percent-zero"].manifest,
    )
    result = slo_operator("validate", "-f", str(path))
    assert result.returncode == 1
    # Lines and columns of the offending nodes in the three-document file, and the objects.
    text = path.read_text().splitlines()
    target = next(n for n, line in enumerate(text, 1) if line.strip() == "target: 0")
    credit = next(n for n, line in enumerate(text, 1) if "creditPercent: 0" in line)
    slo_name = invalid_manifests.SLO_RATIO["metadata"]["name"]
    sla_name = invalid_manifests.SLA["metadata"]["name"]
    assert result.stdout.splitlines() == [
        f"{path}:{target}:5: ServiceLevelObjective {slo_name}: spec.objectives[0].target: "
        "Input should be greater than 0",
        f"{path}:{credit}:5: ServiceLevelAgreement {sla_name}: spec.credits[0].creditPercent: "
        "Input should be greater than 0",
    ]


# --- examples and the happy path --------------------------------------------------------------


def test_examples_are_valid() -> None:
    result = slo_operator("validate", "-f", str(paths.EXAMPLES))
    assert result.returncode == 0, result.stdout
    examples = sorted(paths.EXAMPLES.glob("*.yaml"))
    assert result.stdout.startswith(f"{len(examples)} manifest(s) in {len(examples)} file(s)")
    assert len(result.stdout.splitlines()) == 1


@pytest.mark.parametrize(
    "example", sorted(paths.EXAMPLES.glob("*.yaml")), ids=lambda path: path.name
)
def test_each_example_is_valid_alone(example: pathlib.Path) -> None:
    result = slo_operator("validate", "-f", str(example))
    assert result.returncode == 0, result.stdout


# --- hostile input ----------------------------------------------------------------------------

HOSTILE_FILES = {
    "empty": b"",
    "whitespace": b"  \n\n",
    "only-comments": b"# nothing\n---\n# still nothing\n",
    "not-yaml": b"apiVersion: [unclosed\nkind: {",
    "tab-indent": b"spec:\n\tservice: x\n",
    "binary": bytes(range(256)) * 4,
    "utf8-with-nul": "kind: Service\u0000LevelObjective\n".encode(),
    "latin1": "owner: \xe9quipe\n".encode("latin-1"),
    "scalar": b"42\n",
    "list": b"- apiVersion: slo.dev/v1alpha1\n  kind: ServiceLevelObjective\n",
    "wrong-kind": b"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n",
    "kind-not-text": b"kind: [ServiceLevelObjective]\n",
    "spec-is-a-list": b"apiVersion: slo.dev/v1alpha1\nkind: ServiceLevelObjective\n"
    b"metadata: {name: x}\nspec: [1, 2]\n",
    "metadata-missing": b"apiVersion: slo.dev/v1alpha1\nkind: ServiceLevelAgreement\nspec: {}\n",
    "impossible-date": b"kind: ServiceLevelAgreement\nstart: 2026-13-45\n",
    "deep-nesting": b"[" * 5000 + b"]" * 5000,
    "deep-mappings": b"a: " + b"{b: " * 200 + b"1" + b"}" * 200,
    "alias-bomb": b"a: &a [x, x, x, x, x, x, x, x, x]\n"
    + b"".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join([f'*{chr(97 + i)}'] * 9)}]\n".encode()
        for i in range(8)
    )
    + b"kind: ServiceLevelObjective\nspec: *i\n",
    "recursive-alias": b"kind: ServiceLevelObjective\nspec: &s {a: *s}\n",
    "complex-key": b"? [a, b]\n: c\n",
    "set-and-binary": b"kind: ServiceLevelObjective\nspec: !!set {a, b}\nx: !!binary AAAA\n",
    "python-tag": b"kind: !!python/object:os.system {}\n",
    "nan-target": b"apiVersion: slo.dev/v1alpha1\nkind: ServiceLevelObjective\n"
    b"metadata: {name: x}\nspec: {service: x, indicator: {boolGauge: {metric: up}},"
    b" window: 1d, objectives: [{name: a, target: .nan}]}\n",
    "non-string-keys": b"kind: ServiceLevelObjective\n1: a\ntrue: b\n~: c\n2026-01-01: d\n",
}


@pytest.mark.parametrize("content", HOSTILE_FILES.values(), ids=HOSTILE_FILES.keys())
def test_hostile_file_gives_problem_lines_not_a_traceback(
    content: bytes, tmp_path: pathlib.Path
) -> None:
    path = tmp_path / "input.yaml"
    path.write_bytes(content)
    result = slo_operator("validate", "-f", str(path))
    assert result.returncode == 1, result.stdout
    assert "Traceback" not in result.stderr + result.stdout
    assert result.stdout.strip(), "a rejection says why"
    problem_fields(result.stdout)
    assert all(line.startswith(f"{path}:") for line in result.stdout.splitlines())


def test_missing_path_is_a_problem(tmp_path: pathlib.Path) -> None:
    result = slo_operator("validate", "-f", str(tmp_path / "nope.yaml"))
    assert result.returncode == 1
    assert result.stdout == f"{tmp_path / 'nope.yaml'}: no such file or directory\n"


def test_directory_is_searched_for_manifests(tmp_path: pathlib.Path) -> None:
    (tmp_path / "nested").mkdir()
    write_manifest(tmp_path / "nested", "good", invalid_manifests.SLA)
    bad = write_manifest(tmp_path, "bad", invalid_manifests.CASES_BY_ID["target-zero"].manifest)
    (tmp_path / "README.md").write_text("not a manifest")
    result = slo_operator("validate", "-f", str(tmp_path))
    assert result.returncode == 1
    (line,) = result.stdout.splitlines()
    assert line.startswith(f"{bad}:")
    assert line.endswith(": spec.objectives[0].target: Input should be greater than 0")


def test_usage_errors_exit_2() -> None:
    assert slo_operator("validate").returncode == 2
    assert slo_operator("frobnicate").returncode == 2


def test_version() -> None:
    result = slo_operator("--version")
    assert result.returncode == 0
    assert re.fullmatch(r"slo-operator \d+\.\d+\.\d+\n", result.stdout)


# --- hypothesis: the loader never raises ------------------------------------------------------


def assert_well_formed(problems: list[validation.Problem]) -> None:
    for problem in problems:
        assert problem.message
        assert isinstance(problem.field, str)


@hypothesis.settings(max_examples=400, deadline=None)
@hypothesis.given(manifest_strategies.mutated_manifests())
def test_check_resource_never_raises_on_mutated_manifests(manifest: Any) -> None:
    checked = validation.check_resource(manifest, "<fuzz>")
    if isinstance(checked, list):
        assert checked, "an invalid manifest has at least one problem"
        assert_well_formed(checked)


@hypothesis.settings(max_examples=300, deadline=None)
@hypothesis.given(manifest_strategies.json_values())
def test_check_resource_never_raises_on_arbitrary_values(body: Any) -> None:
    checked = validation.check_resource(body, "<fuzz>")
    assert isinstance(checked, list)
    assert_well_formed(checked)


yaml_alphabet = string.ascii_letters + string.digits + " \t\n:-[]{},&*!|>'\"#%@`?.~\\"


@hypothesis.settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[hypothesis.HealthCheck.function_scoped_fixture],
)
@hypothesis.given(
    content=strategies.text(alphabet=yaml_alphabet, max_size=200).map(str.encode)
    | strategies.binary(max_size=200)
)
def test_load_resources_never_raises_on_garbage(content: bytes, tmp_path: pathlib.Path) -> None:
    path = tmp_path / "garbage.yaml"
    path.write_bytes(content)
    resources, problems = validation.load_resources([path])
    assert_well_formed(problems)
    assert resources or problems


@hypothesis.settings(
    max_examples=10,
    deadline=None,
    suppress_health_check=[hypothesis.HealthCheck.function_scoped_fixture],
)
@hypothesis.given(body=manifest_strategies.mutated_manifests() | manifest_strategies.json_values())
def test_console_script_never_prints_a_traceback(body: Any, tmp_path: pathlib.Path) -> None:
    path = tmp_path / "fuzz.yaml"
    path.write_text(yaml.safe_dump(body), encoding="utf-8")
    result = slo_operator("validate", "-f", str(path))
    assert result.returncode in (0, 1), result.stderr
    assert "Traceback" not in result.stderr
    if result.returncode == 1:
        problem_fields(result.stdout)


# --- generate ---------------------------------------------------------------------------------


def test_generate_writes_the_valid_slos_and_names_each_invalid_one(
    tmp_path: pathlib.Path,
) -> None:
    # As `kubectl apply -f DIR`: one bad manifest in a folder does not stop the others.
    case = invalid_manifests.CASES_BY_ID["selector-or-vector"]
    path = write_manifest(tmp_path, case.id, invalid_manifests.SLO_LATENCY, case.manifest)
    other = write_manifest(
        tmp_path, "zz-bad", invalid_manifests.CASES_BY_ID["target-zero"].manifest
    )
    result = slo_operator("generate", "-f", str(tmp_path))
    assert result.returncode == 1
    rules = list(yaml.safe_load_all(result.stdout))
    assert [rule["metadata"]["name"] for rule in rules] == [
        f"slo-{invalid_manifests.SLO_LATENCY['metadata']['name']}"
    ]
    assert ": spec.indicator.ratio.errors: column 33:" in result.stderr
    assert f"{path}:" in result.stderr and f"{other}:" in result.stderr
    assert ": spec.objectives[0].target:" in result.stderr


def test_generate_extra_label_needs_prometheusrule_format() -> None:
    result = slo_operator(
        "generate", "-f", str(paths.EXAMPLES), "--format", "rulefile", "--extra-label", "a=b"
    )
    assert result.returncode == 1
    assert result.stdout == ""
    assert "--extra-label needs --format prometheusrule or vmrule" in result.stderr


def test_generate_extra_label_must_be_key_value() -> None:
    result = slo_operator("generate", "-f", str(paths.EXAMPLES), "--extra-label", "novalue")
    assert result.returncode == 2
    assert "KEY=VALUE" in result.stderr


def test_generate_prometheus_rules_for_every_example_slo() -> None:
    result = slo_operator(
        "generate",
        "-f",
        str(paths.EXAMPLES),
        "--extra-label",
        "prometheus=main",
        "--extra-label",
        "a=b",
    )
    assert result.returncode == 0, result.stderr
    documents = list(yaml.safe_load_all(result.stdout))
    slo_names = sorted(
        body["metadata"]["name"]
        for path in paths.EXAMPLES.glob("*.yaml")
        for body in yaml.safe_load_all(path.read_text())
        if body["kind"] == "ServiceLevelObjective"
    )
    assert sorted(doc["metadata"]["name"] for doc in documents) == [
        f"slo-{name}" for name in slo_names
    ]
    for document in documents:
        assert document["apiVersion"] == "monitoring.coreos.com/v1"
        assert document["kind"] == "PrometheusRule"
        assert document["metadata"]["labels"]["prometheus"] == "main"
        assert document["metadata"]["labels"]["a"] == "b"
        assert document["spec"]["groups"]


def test_generate_vmrules_hold_the_prometheus_rules_groups() -> None:
    """vm-operator users without the Prometheus CRDs apply VMRule objects: the same groups."""
    vmrules = slo_operator(
        "generate", "-f", str(paths.EXAMPLES), "--format", "vmrule", "--extra-label", "a=b"
    )
    prometheus_rules = slo_operator("generate", "-f", str(paths.EXAMPLES), "--extra-label", "a=b")
    assert vmrules.returncode == 0, vmrules.stderr
    expected = list(yaml.safe_load_all(prometheus_rules.stdout))
    found = list(yaml.safe_load_all(vmrules.stdout))
    assert len(found) == len(expected) > 1
    for vmrule, prometheus_rule in zip(found, expected, strict=True):
        assert vmrule["apiVersion"] == "operator.victoriametrics.com/v1beta1"
        assert vmrule["kind"] == "VMRule"
        assert vmrule["metadata"] == prometheus_rule["metadata"]
        assert vmrule["spec"] == prometheus_rule["spec"]


def test_generate_rule_file() -> None:
    result = slo_operator("generate", "-f", str(paths.EXAMPLES), "--format", "rulefile")
    assert result.returncode == 0, result.stderr
    rule_file = yaml.safe_load(result.stdout)
    assert set(rule_file) == {"groups"}
    assert rule_file["groups"]


def test_generate_refuses_the_same_slo_twice(tmp_path: pathlib.Path) -> None:
    first = write_manifest(tmp_path, "first", invalid_manifests.SLO_RATIO)
    second = write_manifest(tmp_path, "second", invalid_manifests.SLO_RATIO)
    result = slo_operator("generate", "-f", str(first), str(second), "--format", "rulefile")
    assert result.returncode == 1
    # The first definition is generated once; the second is reported.
    (group,) = yaml.safe_load(result.stdout)["groups"][:1]
    assert "checkout-availability" in group["name"]
    assert result.stderr.startswith(f"{second}:1:metadata.name: SLO default/checkout-availability")


@pytest.mark.parametrize(
    ("param", "said"),
    [
        ("time=0", "--query-param: Value error, time: set by each query, not by the backend"),
        ("dedup", "--query-param 'dedup': expected KEY=VALUE"),
    ],
)
def test_evaluate_refuses_a_bad_query_param_before_querying(param: str, said: str) -> None:
    # Port 1 answers nothing: a query sent would fail differently.
    checked = slo_operator(
        "evaluate",
        "-f",
        str(paths.REPO / "examples" / "checkout-availability.yaml"),
        "--prometheus-url",
        "http://127.0.0.1:1",
        "--query-param",
        param,
    )
    assert checked.returncode == 1
    assert said in checked.stderr
    assert "Traceback" not in checked.stderr
