"""What a conversion reports: findings that name the document and the field, and the result."""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Iterable, Mapping
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
    """One thing said about one field of one document: `file:document:field: message`."""

    source: str
    document: int
    field: str
    message: str
    severity: Severity

    def __str__(self) -> str:
        location = f"{self.source}:{self.document}"
        if self.field:
            location += f":{self.field}"
        prefix = "note: " if self.severity is Severity.NOTE else ""
        return f"{location}: {prefix}{self.message}"


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
