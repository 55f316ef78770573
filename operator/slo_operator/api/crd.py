"""CustomResourceDefinitions generated from the models, so the models stay the one source of truth.

pydantic writes JSON Schema (draft 2020-12); Kubernetes wants a *structural* OpenAPI v3 schema:
every node typed, no `$ref`, no `anyOf` alternatives of different types, no
`additionalProperties` next to `properties`, boolean `exclusiveMinimum`. `structural_schema`
translates one into the other and refuses anything it does not know how to translate, so a new
pydantic construct fails the build instead of reaching the apiserver half-translated.

What survives the translation: every description (so `kubectl explain` documents every field),
enums, patterns, bounds, formats, list and map types, safe defaults, and the CEL rules the models
attach as `x-kubernetes-validations`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any, Final

import pydantic
import yaml

from . import conditions, kind_names, sla, slo, status

GROUP: Final = "slo.dev"
VERSION: Final = "v1alpha1"
CATEGORY: Final = "servicelevels"
"""`kubectl get servicelevels` lists SLOs and SLAs together.

Not `slo`: kubectl expands a category before it looks at short names, so a category `slo` would
turn `kubectl get slo NAME` into a request for two kinds ("you must specify only one resource")
and make `kubectl delete slo --all` delete the SLAs as well.
"""


class SchemaNotStructural(ValueError):
    """The models produced JSON Schema that has no faithful structural OpenAPI form."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path or '<root>'}: {reason}")
        self.path = path
        self.reason = reason


@dataclasses.dataclass(frozen=True)
class PrinterColumn:
    """A column of `kubectl get`."""

    name: str
    json_path: str
    type: str
    """One of string, integer, number, boolean, date."""
    description: str
    priority: int = 0
    """0: shown by default; 1: only with `-o wide`."""

    def to_wire(self) -> dict[str, Any]:
        column: dict[str, Any] = {
            "name": self.name,
            "type": self.type,
            "jsonPath": self.json_path,
            "description": self.description,
        }
        if self.priority:
            column["priority"] = self.priority
        return column


@dataclasses.dataclass(frozen=True)
class ResourceKind:
    """One kind of the API group and how it appears in the cluster."""

    kind: str
    plural: str
    short_names: tuple[str, ...]
    model: type[pydantic.BaseModel]
    """The whole manifest's model; its docstring describes the kind in `kubectl explain`."""
    spec_model: type[pydantic.BaseModel]
    status_model: type[pydantic.BaseModel]
    printer_columns: tuple[PrinterColumn, ...]
    name_max_length: int = 253
    """The longest object name; shorter than Kubernetes' 253 when a derived object's name adds
    to it (the apiserver enforces it with a root CEL rule, which may read metadata.name)."""

    @property
    def crd_name(self) -> str:
        return f"{self.plural}.{GROUP}"

    @property
    def file_name(self) -> str:
        """Name of the committed file under `crds/`, as controller-gen would name it."""
        return f"{GROUP}_{self.plural}.yaml"


def _condition_column(
    condition: conditions.ConditionType, description: str, priority: int = 0
) -> PrinterColumn:
    return PrinterColumn(
        name=str(condition),
        json_path=f'.status.conditions[?(@.type=="{condition}")].status',
        type="string",
        description=description,
        priority=priority,
    )


_AGE = PrinterColumn(
    name="Age",
    json_path=".metadata.creationTimestamp",
    type="date",
    description="Time since the object was created.",
)

SERVICE_LEVEL_OBJECTIVE: Final = ResourceKind(
    kind=kind_names.SLO_KIND,
    plural=kind_names.SLO_PLURAL,
    short_names=("slo",),
    name_max_length=slo.NAME_MAX_LENGTH,
    model=slo.ServiceLevelObjective,
    spec_model=slo.ServiceLevelObjectiveSpec,
    status_model=status.ServiceLevelObjectiveStatus,
    printer_columns=(
        PrinterColumn("Service", ".spec.service", "string", "The service this SLO is about."),
        # The primary objective is named in spec.primaryObjective, and JSONPath cannot look an
        # objective up by a name held in another field, so the operator copies its target into
        # status.target.
        PrinterColumn(
            "Target", ".status.target", "number", "Target percent of the primary objective."
        ),
        PrinterColumn(
            "SLI", ".status.sli", "number", "Measured SLI percent of the primary objective."
        ),
        PrinterColumn(
            "Budget",
            ".status.errorBudgetRemainingPercent",
            "number",
            "Percent of the primary objective's error budget left.",
        ),
        _condition_column(
            conditions.ConditionType.READY, "Rules applied and the last evaluation succeeded."
        ),
        PrinterColumn(
            "Window", ".spec.window", "string", "Rolling window, if not calendar-aligned.", 1
        ),
        PrinterColumn("Calendar", ".spec.calendar.period", "string", "Calendar period, if any.", 1),
        _condition_column(
            conditions.ConditionType.STALLED, "The operator cannot make progress.", priority=1
        ),
        _AGE,
    ),
)

SERVICE_LEVEL_AGREEMENT: Final = ResourceKind(
    kind=kind_names.SLA_KIND,
    plural=kind_names.SLA_PLURAL,
    short_names=("sla",),
    model=sla.ServiceLevelAgreement,
    spec_model=sla.ServiceLevelAgreementSpec,
    status_model=status.ServiceLevelAgreementStatus,
    printer_columns=(
        PrinterColumn("Customer", ".spec.customer", "string", "Who the agreement is with."),
        PrinterColumn("Period", ".spec.period", "string", "Calendar period of settlement."),
        PrinterColumn(
            "Attainment",
            ".status.currentPeriod.attainment",
            "number",
            "Lowest attainment among the commitments in the current period, percent.",
        ),
        PrinterColumn(
            "Credit",
            ".status.currentPeriod.creditPercent",
            "number",
            "Service credit owed for the current period so far, percent.",
        ),
        _condition_column(
            conditions.ConditionType.COMPLIANT, "Every commitment is met in the current period."
        ),
        _condition_column(conditions.ConditionType.READY, "The last evaluation succeeded."),
        _condition_column(
            conditions.ConditionType.AT_RISK, "Projected to miss a commitment.", priority=1
        ),
        _condition_column(
            conditions.ConditionType.UNBACKED, "A commitment rests on a looser SLO.", priority=1
        ),
        _AGE,
    ),
)

KINDS: Final = (SERVICE_LEVEL_OBJECTIVE, SERVICE_LEVEL_AGREEMENT)


# --- JSON Schema -> structural OpenAPI v3 -----------------------------------------------------

_COPIED_KEYWORDS: Final = frozenset(
    {
        "type",
        "format",
        "enum",
        "pattern",
        "minLength",
        "maxLength",
        "minimum",
        "maximum",
        "minItems",
        "maxItems",
        "minProperties",
        "maxProperties",
        "x-kubernetes-validations",
        "x-kubernetes-list-type",
        "x-kubernetes-list-map-keys",
    }
)
"""Keywords whose meaning is the same in JSON Schema and in the apiserver's OpenAPI v3."""

_DROPPED_KEYWORDS: Final = frozenset({"title", "$defs"})
"""Keywords that carry nothing for the apiserver (titles are derived from names)."""


def structural_schema(model: type[pydantic.BaseModel]) -> dict[str, Any]:
    """The structural OpenAPI v3 schema of a model, `$ref`s inlined, as the CRD needs it."""
    schema = model.model_json_schema(by_alias=True, mode="validation")
    return _translate(schema, schema.get("$defs", {}), path="")


def _translate(node: Mapping[str, Any], defs: Mapping[str, Any], path: str) -> dict[str, Any]:
    """One node of the schema, translated; `path` names it in errors, e.g. `.spec.window`."""
    node = _inline(node, defs, path)
    result: dict[str, Any] = {}
    for key, value in node.items():
        if key in _COPIED_KEYWORDS:
            result[key] = value
        elif key == "description":
            result[key] = _clean_description(value)
        elif key in _DROPPED_KEYWORDS:
            continue
        elif key == "const":
            result["enum"] = [value]
        elif key in ("exclusiveMinimum", "exclusiveMaximum"):
            # Draft 2020-12 holds the bound; OpenAPI v3.0 a flag beside minimum/maximum.
            bound = "minimum" if key == "exclusiveMinimum" else "maximum"
            result[bound] = value
            result[key] = True
        elif key == "default":
            if _is_safe_default(value):
                result[key] = value
        elif key == "properties":
            result[key] = {}
            for name, child in value.items():
                result[key][name] = _translate(child, defs, f"{path}.{name}")
                if "description" not in result[key][name]:
                    raise SchemaNotStructural(
                        f"{path}.{name}", "field has no description (kubectl explain shows it)"
                    )
        elif key == "required":
            result[key] = list(value)
        elif key == "items":
            result[key] = _translate(value, defs, f"{path}[]")
        elif key == "additionalProperties":
            if value is False:
                # Unknown fields are rejected by the apiserver's strict field validation (and
                # pruned otherwise); structural schemas cannot say `false` here.
                continue
            if not isinstance(value, Mapping):
                raise SchemaNotStructural(path, "open objects (additionalProperties: true)")
            result[key] = _translate(value, defs, f"{path}.*")
        else:
            raise SchemaNotStructural(path, f"no structural form for keyword {key!r}")
    if "type" not in result:
        raise SchemaNotStructural(path, "node has no type")
    result = dict(sorted(result.items()))
    if "properties" in result and "additionalProperties" in result:
        raise SchemaNotStructural(path, "both properties and additionalProperties")
    return result


def _inline(node: Mapping[str, Any], defs: Mapping[str, Any], path: str) -> dict[str, Any]:
    """Resolves `$ref` and optional (`anyOf: [X, null]`) into one plain node.

    The referring node's own keywords win over the target's (a field's description is more
    specific than its type's); when both describe, the type's description follows the field's.
    """
    node = dict(node)
    if "anyOf" in node:
        options = [option for option in node.pop("anyOf") if option != {"type": "null"}]
        if len(options) != 1:
            raise SchemaNotStructural(path, "a union of several types")
        if node.get("default", ...) is None:
            del node["default"]
        node = _merge(_inline(options[0], defs, path), node)
    if "$ref" in node:
        name = node.pop("$ref").removeprefix("#/$defs/")
        if name not in defs:
            raise SchemaNotStructural(path, f"unknown reference {name!r}")
        node = _merge(_inline(defs[name], defs, path), node)
    return node


def _merge(target: dict[str, Any], referrer: Mapping[str, Any]) -> dict[str, Any]:
    merged = {**target, **referrer}
    own, inherited = referrer.get("description"), target.get("description")
    if own and inherited and inherited.startswith(own.rstrip(".")):
        merged["description"] = inherited
    elif own and inherited and inherited not in own:
        merged["description"] = f"{own}\n\n{inherited}"
    return merged


def _clean_description(text: str) -> str:
    """Docstrings as `kubectl explain` shows them: Markdown backticks dropped, no indentation."""
    lines = [line.strip() for line in text.replace("`", "").strip().splitlines()]
    return "\n".join(lines)


def _is_safe_default(value: Any) -> bool:
    """Defaults the apiserver may write into stored objects: non-empty scalars.

    `None` is no value; an empty string, list or map says nothing the absence of the field does
    not say, and a defaulted object would freeze today's defaults into every stored manifest.
    """
    if isinstance(value, bool | int | float):
        return True
    return isinstance(value, str) and value != ""


# --- the CRDs ---------------------------------------------------------------------------------


def _top_level_schema(kind: ResourceKind) -> dict[str, Any]:
    description = kind.model.__doc__ or kind.kind
    schema: dict[str, Any] = {
        "type": "object",
        "description": _clean_description(description),
        "required": ["spec"],
        "properties": {
            "apiVersion": {
                "type": "string",
                "description": "Versioned schema of this representation: slo.dev/v1alpha1.",
            },
            "kind": {
                "type": "string",
                "description": f"REST resource this object represents: {kind.kind}.",
            },
            # Structural schemas may say nothing about metadata but its type (not even a
            # description); the apiserver validates and documents ObjectMeta itself.
            "metadata": {"type": "object"},
            "spec": structural_schema(kind.spec_model),
            "status": structural_schema(kind.status_model),
        },
    }
    if kind.name_max_length < 253:
        schema["x-kubernetes-validations"] = [
            {
                "rule": f"self.metadata.name.size() <= {kind.name_max_length}",
                "message": (
                    f"metadata.name: at most {kind.name_max_length} characters (the "
                    f"{kind.kind}'s rule object is named {slo.RULE_OBJECT_PREFIX}<name>, "
                    "and an object name holds 253)"
                ),
            }
        ]
    return schema


def custom_resource_definition(kind: ResourceKind) -> dict[str, Any]:
    """The apiextensions.k8s.io/v1 CustomResourceDefinition of one kind."""
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": kind.crd_name},
        "spec": {
            "group": GROUP,
            "names": {
                "kind": kind.kind,
                "listKind": f"{kind.kind}List",
                "plural": kind.plural,
                "singular": kind.kind.lower(),
                "shortNames": list(kind.short_names),
                "categories": [CATEGORY],
            },
            "scope": "Namespaced",
            "versions": [
                {
                    "name": VERSION,
                    "served": True,
                    "storage": True,
                    "subresources": {"status": {}},
                    "additionalPrinterColumns": [
                        column.to_wire() for column in kind.printer_columns
                    ],
                    "schema": {"openAPIV3Schema": _top_level_schema(kind)},
                }
            ],
        },
    }


def custom_resource_definitions(kinds: Sequence[ResourceKind] = KINDS) -> list[dict[str, Any]]:
    """The CRDs of every kind of the API group, in a stable order."""
    return [custom_resource_definition(kind) for kind in kinds]


class _CRDDumper(yaml.SafeDumper):
    """Block YAML without anchors, multi-line descriptions as literal blocks."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def _represent_text(dumper: yaml.SafeDumper, text: str) -> yaml.ScalarNode:
    style = "|" if "\n" in text else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", text, style=style)


_CRDDumper.add_representer(str, _represent_text)

GENERATED_HEADER: Final = (
    "# Generated by `slo-operator crds` from the pydantic models in operator/slo_operator/api/.\n"
    "# Do not edit: change the models and run `make crds`.\n"
)


def to_yaml(crd: Mapping[str, Any]) -> str:
    """One CRD as a YAML document, with the generated-file header; stable byte for byte."""
    body = yaml.dump(crd, Dumper=_CRDDumper, sort_keys=False, width=100, default_flow_style=False)
    return GENERATED_HEADER + body
