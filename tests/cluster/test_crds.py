"""The generated CRDs on a real kube-apiserver.

The apiserver itself decides here: the schemas are structural and their CEL rules fit the cost
budget (else the CRDs would not be Established), every example applies, every invalid manifest
the schema and CEL can judge is rejected with a message naming the field, `kubectl explain`
shows the models' docs, `kubectl get` shows the printer columns, and every status field the
operator writes survives the status subresource.

The cases only the admission webhook can judge (PromQL parsing, time zones, cron, Prometheus
duration arithmetic) are listed with their reason in tests/cases/invalid_manifests.py.
"""

from __future__ import annotations

import copy
import json
import re
from typing import Any

import hypothesis
import pydantic
import pytest

from cases import full_status, invalid_manifests, manifest_strategies
from slo_operator.api import crd, sla, slo, validation
from support import manifests
from testkit import controlplane

pytestmark = pytest.mark.cluster


def in_namespace(body: dict[str, Any], namespace: str) -> dict[str, Any]:
    moved = copy.deepcopy(body)
    moved["metadata"]["namespace"] = namespace
    return moved


def plain(text: str) -> str:
    """Whitespace collapsed: kubectl explain wraps descriptions at its terminal width."""
    return " ".join(text.split())


def contains_subset(whole: Any, part: Any) -> bool:
    """Whether `whole` holds everything of `part` (the apiserver adds defaults, never removes)."""
    if isinstance(part, dict):
        return isinstance(whole, dict) and all(
            key in whole and contains_subset(whole[key], value) for key, value in part.items()
        )
    if isinstance(part, list):
        return (
            isinstance(whole, list)
            and len(whole) == len(part)
            and all(contains_subset(w, p) for w, p in zip(whole, part, strict=True))
        )
    return bool(whole == part)


def resource_of(kind: str) -> str:
    return next(item.crd_name for item in crd.KINDS if item.kind == kind)


# --- the CRDs themselves ----------------------------------------------------------------------


@pytest.mark.parametrize("kind", crd.KINDS, ids=lambda kind: kind.kind)
def test_crd_is_established_as_generated(
    control_plane: controlplane.ControlPlane, kind: crd.ResourceKind
) -> None:
    installed = control_plane.kubectl_json("get", "customresourcedefinition", kind.crd_name)
    conditions = {c["type"]: c["status"] for c in installed["status"]["conditions"]}
    assert conditions["Established"] == "True"
    assert conditions["NamesAccepted"] == "True"
    generated = crd.custom_resource_definition(kind)
    # The apiserver keeps the schema exactly as sent: nothing was dropped as non-structural.
    assert installed["spec"]["versions"] == generated["spec"]["versions"]
    assert installed["spec"]["names"] == generated["spec"]["names"]
    assert installed["status"]["acceptedNames"]["shortNames"] == list(kind.short_names)


# --- examples ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "example",
    manifests.example_bodies(),
    ids=lambda body: f"{body['kind']}-{body['metadata']['name']}",
)
def test_example_applies_and_is_stored_as_written(
    control_plane: controlplane.ControlPlane, namespace: str, example: dict[str, Any]
) -> None:
    control_plane.apply(in_namespace(example, namespace))
    stored = control_plane.kubectl_json(
        "get", resource_of(example["kind"]), example["metadata"]["name"], "-n", namespace
    )
    assert contains_subset(stored["spec"], example["spec"])


def test_defaults_are_applied_by_the_apiserver(
    control_plane: controlplane.ControlPlane, namespace: str
) -> None:
    body = in_namespace(dict(invalid_manifests.SLO_RATIO), namespace)
    body["spec"]["alerting"] = {"page": {"labels": {"severity": "critical"}}}
    control_plane.apply(body)
    stored = control_plane.kubectl_json("get", "slo", body["metadata"]["name"], "-n", namespace)
    assert stored["spec"]["budgetingMethod"] == "Occurrences"
    assert stored["spec"]["alerting"]["enabled"] is True
    assert stored["spec"]["alerting"]["page"]["enabled"] is True
    assert "description" not in stored["spec"], "empty defaults stay out of stored objects"


# --- what the apiserver rejects ---------------------------------------------------------------

APISERVER_CASES = [case for case in invalid_manifests.CASES if case.apiserver_can_judge]


def names_field_in_error(stderr: str, field: str) -> bool:
    """`spec.window: Invalid value...`, or `unknown field "spec.windowSize"`."""
    return f"{field}: " in stderr or f'unknown field "{field}"' in stderr


@pytest.mark.parametrize("case", APISERVER_CASES, ids=lambda case: case.id)
def test_apiserver_rejects_invalid_manifest_naming_the_field(
    control_plane: controlplane.ControlPlane, namespace: str, case: invalid_manifests.InvalidCase
) -> None:
    # Client-side `kubectl apply`, as users run it: kubectl asks the apiserver for strict field
    # validation, so unknown fields are the apiserver's verdict too, not kubectl's.
    result = control_plane.kubectl(
        "apply", "-f", "-", "--namespace", namespace, stdin=json.dumps(case.manifest), check=False
    )
    assert result.returncode != 0, f"accepted: {result.stdout}"
    assert names_field_in_error(result.stderr, case.expected_apiserver_field), result.stderr
    stored = control_plane.kubectl(
        "get", resource_of(case.manifest["kind"]), case.manifest["metadata"]["name"],
        "-n", namespace, "--ignore-not-found", "-o", "name",
    )  # fmt: skip
    assert stored.stdout == ""


@hypothesis.settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[hypothesis.HealthCheck.function_scoped_fixture],
)
@hypothesis.given(manifest=manifest_strategies.mutated_manifests(under="spec", finite=True))
def test_nothing_the_apiserver_rejects_passes_validate(
    control_plane: controlplane.ControlPlane, namespace: str, manifest: dict[str, Any]
) -> None:
    """The CLI is never more lenient than the cluster: a manifest that passes `validate` in CI
    must not be refused at `kubectl apply`."""
    result = control_plane.kubectl(
        "create", "--dry-run=server", "-f", "-", "--namespace", namespace,
        stdin=json.dumps(manifest), check=False,
    )  # fmt: skip
    verdict = validation.check_resource(manifest, "<hypothesis>")
    if result.returncode != 0:
        assert isinstance(verdict, list), f"validate accepts what the apiserver refuses: {result}"


def test_at_least_the_table_rules_the_apiserver_can_judge() -> None:
    # Guards against flipping flags to make the cluster tier pass: most rules are CEL's job.
    assert len(APISERVER_CASES) >= 45


# --- kubectl explain and get ------------------------------------------------------------------


def described_fields(model: type[pydantic.BaseModel]) -> dict[str, str]:
    """Wire name -> description of each field of a model."""
    return {
        info.alias or name: plain(info.description or "")
        for name, info in model.model_fields.items()
    }


@pytest.mark.parametrize(
    ("path", "model"),
    [
        ("servicelevelobjective.spec.objectives", slo.Objective),
        ("servicelevelobjective.spec", slo.ServiceLevelObjectiveSpec),
        ("slo.spec.indicator.ratio", slo.RatioIndicator),
        ("slo.spec.alerting.noData", slo.NoDataAlert),
        ("sla.spec", sla.ServiceLevelAgreementSpec),
        ("sla.spec.exclusions", sla.Exclusion),
    ],
)
def test_explain_shows_the_field_docs(
    control_plane: controlplane.ControlPlane, path: str, model: type[pydantic.BaseModel]
) -> None:
    output = plain(control_plane.kubectl("explain", path).stdout)
    for name, description in described_fields(model).items():
        assert f"{name} <" in output, f"{path}.{name} missing"
        # The field's own words; where its type's docstring says the same at more length,
        # the CRD carries that instead (see crd._merge), which starts with the same words.
        words = description.replace("`", "").rstrip(".")
        assert words in output, f"{path}.{name}: {description!r}"


def write_status(
    control_plane: controlplane.ControlPlane,
    resource: str,
    name: str,
    namespace: str,
    status: pydantic.BaseModel,
) -> None:
    control_plane.kubectl(
        "patch", resource, name, "-n", namespace, "--subresource=status", "--type=merge",
        "-p", json.dumps({"status": full_status.wire(status)}),
    )  # fmt: skip


def table(output: str) -> list[list[str]]:
    return [re.split(r"\s{2,}", line.strip()) for line in output.strip().splitlines()]


@pytest.mark.parametrize(
    ("example_name", "status", "header", "row"),
    [
        (
            "chatbot-latency",
            full_status.SLO_STATUS,
            ["NAME", "SERVICE", "TARGET", "SLI", "BUDGET", "READY", "AGE"],
            ["chatbot-latency", "chatbot", "99", "99.412", "41.2", "True"],
        ),
        (
            "acme-store",
            full_status.SLA_STATUS,
            ["NAME", "CUSTOMER", "PERIOD", "ATTAINMENT", "CREDIT", "COMPLIANT", "READY", "AGE"],
            ["acme-store", "acme-store", "Month", "99.71", "0", "True", "True"],
        ),
    ],
    ids=["slo", "sla"],
)
def test_get_shows_the_printer_columns(
    control_plane: controlplane.ControlPlane,
    namespace: str,
    example_name: str,
    status: pydantic.BaseModel,
    header: list[str],
    row: list[str],
) -> None:
    example = next(b for b in manifests.example_bodies() if b["metadata"]["name"] == example_name)
    short_name = "slo" if example["kind"] == "ServiceLevelObjective" else "sla"
    control_plane.apply(in_namespace(example, namespace))
    write_status(control_plane, short_name, example_name, namespace, status)
    rows = table(control_plane.kubectl("get", short_name, "-n", namespace).stdout)
    assert rows[0] == header
    assert rows[1][: len(row)] == row
    # The short name means one kind, also with a name (see crd.CATEGORY).
    by_name = table(control_plane.kubectl("get", short_name, example_name, "-n", namespace).stdout)
    assert by_name[1][0] == example_name


def test_category_lists_both_kinds(
    control_plane: controlplane.ControlPlane, namespace: str
) -> None:
    for body in manifests.example_bodies():
        if body["metadata"]["name"] in ("chatbot-latency", "acme-store"):
            control_plane.apply(in_namespace(body, namespace))
    names = control_plane.kubectl("get", crd.CATEGORY, "-n", namespace, "-o", "name").stdout
    assert sorted(names.split()) == [
        "servicelevelagreement.slo.dev/acme-store",
        "servicelevelobjective.slo.dev/chatbot-latency",
    ]


# --- status -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("base", "status"),
    [
        (invalid_manifests.SLO_LATENCY, full_status.SLO_STATUS),
        (invalid_manifests.SLA, full_status.SLA_STATUS),
    ],
    ids=["slo", "sla"],
)
def test_every_status_field_survives_the_status_subresource(
    control_plane: controlplane.ControlPlane,
    namespace: str,
    base: dict[str, Any],
    status: pydantic.BaseModel,
) -> None:
    written = full_status.wire(status)
    assert full_status.unset_fields(written) == [], "set every field in tests/cases/full_status.py"
    resource = resource_of(base["kind"])
    name = base["metadata"]["name"]
    control_plane.apply(in_namespace(dict(base), namespace))
    write_status(control_plane, resource, name, namespace, status)
    stored = control_plane.kubectl_json("get", resource, name, "-n", namespace)
    # A field missing from the schema would have been pruned without an error.
    assert stored["status"] == written


def test_status_is_only_written_through_its_subresource(
    control_plane: controlplane.ControlPlane, namespace: str
) -> None:
    body = in_namespace(dict(invalid_manifests.SLO_RATIO), namespace)
    control_plane.apply(body)
    name = body["metadata"]["name"]
    control_plane.kubectl(
        "patch", "slo", name, "-n", namespace, "--type=merge",
        "-p", json.dumps({"status": {"sli": 12.5}}),
    )  # fmt: skip
    stored = control_plane.kubectl_json("get", "slo", name, "-n", namespace)
    assert "status" not in stored
