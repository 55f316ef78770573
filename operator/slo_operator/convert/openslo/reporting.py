"""What a conversion reports: findings that name the document and the field, and the result."""

from __future__ import annotations

import dataclasses
import enum
import pathlib
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from ...api import slo, validation


class Severity(enum.StrEnum):
    ERROR = "error"
    """The SLO is not written."""
    PROBLEM = "problem"
    """The SLO is written but differs from the document; the CLI exits 1."""
    NOTE = "note"
    """Dropped information that changes neither the measurement nor the alerts."""


@dataclasses.dataclass(frozen=True)
class Finding:
    """One thing said about one field of one document.

    Located (`locate`): `file:line:column: Kind name: field: message`, the line and column of
    the offending node, as `slo-operator validate`, kubectl, yamllint and promtool print them.
    Before that, or for input that is not a readable file: `file:document:field: message`.
    """

    source: str
    document: int
    field: str
    message: str
    severity: Severity
    line: int = 0
    """1-based line of the offending node in the file; 0 when unknown."""
    column: int = 0
    """1-based column of the offending node."""
    what: str = ""
    """The OpenSLO object, e.g. `SLO checkout`, when the document names one."""

    def __str__(self) -> str:
        prefix = "note: " if self.severity is Severity.NOTE else ""
        if not self.line:
            location = f"{self.source}:{self.document}"
            if self.field:
                location += f":{self.field}"
            return f"{location}: {prefix}{self.message}"
        parts = [f"{self.source}:{self.line}:{self.column}", self.what, self.field]
        return ": ".join([*(part for part in parts if part), f"{prefix}{self.message}"])


def locate(
    findings: Sequence[Finding], documents: Sequence[validation.Document], kinds: Iterable[str]
) -> list[Finding]:
    """The findings with the line and column of each offending node and the object's kind and
    name (of one of `kinds`), read from the files the documents came from (each composed once,
    and only when it has findings); findings whose file cannot be read again keep their
    document index."""
    bodies = {(document.source, document.index): document.body for document in documents}
    roots: dict[tuple[str, int], Any] = {}
    located = []
    for finding in findings:
        key = (finding.source, finding.document)
        if key not in roots:
            roots[key] = (
                validation.compose_document(pathlib.Path(finding.source), finding.document)
                if finding.document
                else None
            )
        root = roots[key]
        if root is None:
            located.append(finding)
            continue
        line, column = validation.position(root, finding.field)
        what = validation.object_name(bodies.get(key), kinds)
        located.append(dataclasses.replace(finding, line=line, column=column, what=what))
    return located


def document_place(document: validation.Document) -> str:
    """`file:line:column` where a document starts (`file:document` when it cannot be read)."""
    root = validation.compose_document(pathlib.Path(document.source), document.index)
    if root is None:
        return f"{document.source}:{document.index}"
    line, column = validation.position(root, "")
    return f"{document.source}:{line}:{column}"


@dataclasses.dataclass(frozen=True)
class Converted:
    """One ServiceLevelObjective made from one OpenSLO SLO document."""

    document: validation.Document
    """The OpenSLO SLO it was made from."""
    manifest: dict[str, Any]
    """The manifest as written out (camelCase, only the fields set)."""
    resource: slo.ServiceLevelObjective
    """The same manifest, validated by the complete check."""


@dataclasses.dataclass
class Conversion:
    """Everything one conversion produced."""

    converted: list[Converted] = dataclasses.field(default_factory=list)
    findings: list[Finding] = dataclasses.field(default_factory=list)
    not_converted: list[validation.Document] = dataclasses.field(default_factory=list)
    """SLO documents with at least one error."""

    @property
    def complete(self) -> bool:
        """Everything converted exactly: no errors and no problems (notes allowed)."""
        return not self.not_converted and all(
            finding.severity is Severity.NOTE for finding in self.findings
        )


@dataclasses.dataclass(frozen=True)
class At:
    """A field of a document: where a finding points."""

    document: validation.Document
    path: tuple[str | int, ...] = ()

    def __truediv__(self, part: str | int) -> At:
        return At(self.document, (*self.path, part))

    @property
    def field(self) -> str:
        return validation.format_path(self.path)


class Report:
    """Collects the findings of one SLO and whether any of them is an error."""

    def __init__(self, findings: list[Finding]) -> None:
        self._findings = findings
        self.failed = False

    def _add(self, at: At, message: str, severity: Severity) -> None:
        document = at.document
        self._findings.append(Finding(document.source, document.index, at.field, message, severity))

    def error(self, at: At, message: str) -> None:
        self.failed = True
        self._add(at, message, Severity.ERROR)

    def problem(self, at: At, message: str) -> None:
        self._add(at, message, Severity.PROBLEM)

    def note(self, at: At, message: str) -> None:
        self._add(at, message, Severity.NOTE)

    def unknown_fields(self, at: At, body: Mapping[str, Any], known: Iterable[str]) -> None:
        allowed = set(known)
        for key in body:
            if key not in allowed:
                self.problem(at / str(key), "not an OpenSLO v1 field here; not converted")
