"""The generated CRDs are structural, documented, and declare every field the models hold.

The real proof that the apiserver accepts them (structural rules, CEL cost budget) is in
tests/cluster/test_crds.py; these checks are the fast ones that name the offending path.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pydantic
import pytest

from cases import full_status
from slo_operator.api import common, crd

FORBIDDEN_KEYWORDS = ("$ref", "$defs", "anyOf", "allOf", "oneOf", "not", "title", "const")


def walk(node: dict[str, Any], path: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    """Every schema node with its path: `.spec.objectives[].target`, `.spec.labels.*`."""
    yield path, node
    for name, child in node.get("properties", {}).items():
        yield from walk(child, f"{path}.{name}")
    if "items" in node:
        yield from walk(node["items"], f"{path}[]")
    if isinstance(node.get("additionalProperties"), dict):
        yield from walk(node["additionalProperties"], f"{path}.*")


def schema_of(kind: crd.ResourceKind) -> dict[str, Any]:
    version = crd.custom_resource_definition(kind)["spec"]["versions"][0]
    schema: dict[str, Any] = version["schema"]["openAPIV3Schema"]
    return schema


def all_nodes() -> list[tuple[str, str, dict[str, Any]]]:
    return [(kind.kind, path, node) for kind in crd.KINDS for path, node in walk(schema_of(kind))]


NODES = all_nodes()
NODE_IDS = [f"{kind}{path or '.'}" for kind, path, _ in NODES]


@pytest.mark.parametrize(("kind", "path", "node"), NODES, ids=NODE_IDS)
def test_node_is_structural(kind: str, path: str, node: dict[str, Any]) -> None:
    assert "type" in node, "every node needs a type"
    for keyword in FORBIDDEN_KEYWORDS:
        assert keyword not in node, f"{keyword} has no place in a structural schema"
    assert not ("properties" in node and "additionalProperties" in node)
    assert node.get("additionalProperties", {}) is not False
    for flag in ("exclusiveMinimum", "exclusiveMaximum"):
        if flag in node:
            assert node[flag] is True, "OpenAPI v3.0 bounds are flags next to minimum/maximum"
            assert ("minimum" if flag == "exclusiveMinimum" else "maximum") in node


@pytest.mark.parametrize(("kind", "path", "node"), NODES, ids=NODE_IDS)
def test_every_field_is_described(kind: str, path: str, node: dict[str, Any]) -> None:
    for name, child in node.get("properties", {}).items():
        if path == "" and name == "metadata":
            continue  # the apiserver forbids describing metadata; it documents ObjectMeta itself
        assert child.get("description", "").strip(), f"{path}.{name} has no description"
        assert "`" not in child["description"], "kubectl explain shows plain text"


@pytest.mark.parametrize(("kind", "path", "node"), NODES, ids=NODE_IDS)
def test_defaults_are_valid_values(kind: str, path: str, node: dict[str, Any]) -> None:
    if "default" not in node:
        return
    default = node["default"]
    assert default not in (None, "", [], {}), "no empty defaults: absence says the same"
    if "enum" in node:
        assert default in node["enum"]
    if "pattern" in node:
        assert re.search(node["pattern"], default)
    if "minimum" in node:
        assert default >= node["minimum"]
    if "maximum" in node:
        assert default <= node["maximum"]


@pytest.mark.parametrize(("kind", "path", "node"), NODES, ids=NODE_IDS)
def test_cel_rules_have_messages(kind: str, path: str, node: dict[str, Any]) -> None:
    for rule in node.get("x-kubernetes-validations", []):
        assert set(rule) <= {"rule", "message", "fieldPath", "reason"}
        assert rule["message"], f"{rule['rule']} needs a message naming the field"
        if "fieldPath" in rule:
            # The apiserver follows dotted paths (`.timeslice.target`) into nested objects.
            found = node
            for field in rule["fieldPath"].lstrip(".").split("."):
                properties = found.get("properties", {})
                assert field in properties, f"fieldPath {rule['fieldPath']} is not a field"
                found = properties[field]


SPEC_COLLECTIONS = [
    (kind, path, node)
    for kind, path, node in NODES
    if path.startswith(".spec") and (node["type"] == "array" or "additionalProperties" in node)
]


@pytest.mark.parametrize(
    ("kind", "path", "node"),
    SPEC_COLLECTIONS,
    ids=[f"{kind}{path}" for kind, path, _ in SPEC_COLLECTIONS],
)
def test_spec_collections_are_bounded(kind: str, path: str, node: dict[str, Any]) -> None:
    # The apiserver prices a CEL rule by the largest input the schema allows; an unbounded list
    # or map under a rule blows its cost budget (and the manifests have no use for thousands).
    bound = "maxItems" if node["type"] == "array" else "maxProperties"
    assert bound in node


@pytest.mark.parametrize(
    ("kind", "status"),
    [
        (crd.SERVICE_LEVEL_OBJECTIVE, full_status.SLO_STATUS),
        (crd.SERVICE_LEVEL_AGREEMENT, full_status.SLA_STATUS),
    ],
    ids=["ServiceLevelObjective", "ServiceLevelAgreement"],
)
def test_every_status_field_is_declared(kind: crd.ResourceKind, status: pydantic.BaseModel) -> None:
    written = full_status.wire(status)
    assert full_status.unset_fields(written) == [], "set every field in tests/cases/full_status.py"
    declared = {path for path, _ in walk(schema_of(kind)["properties"]["status"])}

    def paths(value: Any, path: str = "") -> Iterator[str]:
        yield path
        if isinstance(value, dict):
            is_map = path in {".burnRates", ".groups[].labels"}
            for key, item in value.items():
                yield from paths(item, f"{path}.{'*' if is_map else key}")
        elif isinstance(value, list):
            for item in value:
                yield from paths(item, f"{path}[]")

    assert set(paths(written)) <= declared


@pytest.mark.parametrize(
    ("kind", "columns"),
    [
        (crd.SERVICE_LEVEL_OBJECTIVE, ["Service", "Target", "SLI", "Budget", "Ready", "Age"]),
        (
            crd.SERVICE_LEVEL_AGREEMENT,
            ["Customer", "Period", "Attainment", "Credit", "Compliant", "Ready", "Age"],
        ),
    ],
    ids=["ServiceLevelObjective", "ServiceLevelAgreement"],
)
def test_printer_columns_point_at_declared_fields(
    kind: crd.ResourceKind, columns: list[str]
) -> None:
    version = crd.custom_resource_definition(kind)["spec"]["versions"][0]
    shown = [c["name"] for c in version["additionalPrinterColumns"] if not c.get("priority")]
    assert shown == columns
    declared = {path for path, _ in walk(schema_of(kind))}
    for column in version["additionalPrinterColumns"]:
        plain = re.sub(r"\[\?\(@\.type==\"\w+\"\)\]", "[]", column["jsonPath"])
        if plain.startswith(".metadata."):
            continue
        if plain.endswith("[].status"):
            plain = plain.removesuffix(".status") + ".status"
        assert plain in declared, f"{column['name']}: {column['jsonPath']} is not in the schema"


def test_names_and_scope() -> None:
    for kind, short in ((crd.SERVICE_LEVEL_OBJECTIVE, "slo"), (crd.SERVICE_LEVEL_AGREEMENT, "sla")):
        body = crd.custom_resource_definition(kind)
        assert body["metadata"]["name"] == f"{kind.plural}.slo.dev"
        assert body["spec"]["scope"] == "Namespaced"
        assert body["spec"]["names"]["shortNames"] == [short]
        # A category equal to a short name would make `kubectl get slo NAME` ask for two kinds.
        assert short not in body["spec"]["names"]["categories"]
        version = body["spec"]["versions"][0]
        assert (version["name"], version["served"], version["storage"]) == ("v1alpha1", True, True)
        assert version["subresources"] == {"status": {}}


def test_selector_pattern_is_in_the_schema_and_matches_the_examples() -> None:
    ratio = schema_of(crd.SERVICE_LEVEL_OBJECTIVE)["properties"]["spec"]["properties"]["indicator"][
        "properties"
    ]["ratio"]["properties"]
    assert ratio["total"]["pattern"] == common.SELECTOR_SHAPE_PATTERN


class _Union(common.Model):
    value: int | str
    """Either."""


class _Open(common.Model):
    extra: dict[str, Any]
    """Anything."""


class _Undescribed(common.Model):
    value: int


@pytest.mark.parametrize(
    ("model", "reason"),
    [
        (_Union, "a union of several types"),
        (_Open, "open objects"),
        (_Undescribed, "field has no description"),
    ],
    ids=["union", "open-map", "undescribed"],
)
def test_untranslatable_models_are_refused(model: type[pydantic.BaseModel], reason: str) -> None:
    with pytest.raises(crd.SchemaNotStructural, match=reason):
        crd.structural_schema(model)
