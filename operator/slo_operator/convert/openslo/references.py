"""The index of documents: SLIs, alert policies and conditions by kind and name, for references."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence

from ...api import validation
from . import reading, reporting, vocabulary


@dataclasses.dataclass
class Index:
    """Named OpenSLO documents by kind, for `indicatorRef`, `alertPolicyRef`, `conditionRef`..."""

    by_kind: dict[str, dict[str, validation.Document]] = dataclasses.field(default_factory=dict)
    referenced: set[tuple[str, str]] = dataclasses.field(default_factory=set)

    def find(self, kind: str, name: str) -> validation.Document | None:
        document = self.by_kind.get(kind, {}).get(name)
        if document is not None:
            self.referenced.add((kind, name))
        return document


def index_documents(
    documents: Sequence[validation.Document], findings: list[reporting.Finding]
) -> tuple[Index, list[validation.Document]]:
    """Sort documents by kind; report those that are not OpenSLO v1 at all."""
    index = Index()
    slos: list[validation.Document] = []
    for document in documents:
        report = reporting.Report(findings)
        at = reporting.At(document)
        body = document.body
        if not isinstance(body, Mapping):
            report.error(
                at, f"expected an OpenSLO document (a mapping), got {reading.type_name(body)}"
            )
            continue
        version = body.get("apiVersion")
        kind = body.get("kind")
        if version != vocabulary.API_VERSION:
            hint = (
                " (v1alpha and v2alpha documents are not supported)"
                if isinstance(version, str) and version.startswith("openslo/")
                else ""
            )
            report.error(
                at / "apiVersion", f"expected {vocabulary.API_VERSION}, got {version!r}{hint}"
            )
            continue
        if kind not in vocabulary.KINDS:
            report.error(
                at / "kind", f"expected one of {', '.join(vocabulary.KINDS)}, got {kind!r}"
            )
            continue
        metadata = body.get("metadata")
        name = metadata.get("name") if isinstance(metadata, Mapping) else None
        if not isinstance(name, str) or not name:
            report.error(at / "metadata" / "name", "required: every OpenSLO document has a name")
            continue
        named = index.by_kind.setdefault(kind, {})
        if name in named:
            earlier = named[name]
            report.error(
                at / "metadata" / "name",
                f"{kind} {name!r} is already defined in {earlier.source}:{earlier.index}",
            )
            continue
        named[name] = document
        if kind == "SLO":
            slos.append(document)
    return index, slos
