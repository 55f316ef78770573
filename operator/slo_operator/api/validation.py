"""Turning untrusted input into typed models, or into problems that name the field.

The same functions serve `slo-operator validate`, `generate`, `evaluate` and the admission
webhook, so everything the CLI rejects is rejected in the cluster too.
"""

from __future__ import annotations

import dataclasses
import pathlib
from collections.abc import Iterable, Iterator
from typing import Any

import pydantic
import yaml

from .. import errors
from . import sla, slo

Resource = slo.ServiceLevelObjective | sla.ServiceLevelAgreement

KINDS: dict[str, type[slo.ServiceLevelObjective] | type[sla.ServiceLevelAgreement]] = {
    "ServiceLevelObjective": slo.ServiceLevelObjective,
    "ServiceLevelAgreement": sla.ServiceLevelAgreement,
}
YAML_SUFFIXES = (".yaml", ".yml", ".json")


@dataclasses.dataclass(frozen=True)
class Problem:
    """One thing wrong with one document, located for a human: `file:document:field: message`."""

    source: str
    """File path, or `<admission>` for the webhook."""
    document: int
    """1-based index of the YAML document in the file."""
    field: str
    """Dotted path, e.g. `spec.objectives[1].threshold`; empty for the whole document."""
    message: str

    def __str__(self) -> str:
        location = f"{self.source}:{self.document}"
        if self.field:
            return f"{location}:{self.field}: {self.message}"
        return f"{location}: {self.message}"


@dataclasses.dataclass(frozen=True)
class Document:
    """One YAML document from a file, not yet validated."""

    source: str
    index: int
    body: Any


def format_path(parts: Iterable[str | int]) -> str:
    """`("spec", "objectives", 1, "threshold")` -> `spec.objectives[1].threshold`."""
    text = ""
    for part in parts:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else part
    return text


def _problems_from_validation_error(
    error: pydantic.ValidationError, source: str, index: int
) -> list[Problem]:
    problems = []
    for detail in error.errors():
        location: list[str | int] = [part for part in detail["loc"] if isinstance(part, str | int)]
        # pydantic names union and validator branches in loc (e.g. `function-after[...]`);
        # a reader only wants the field path.
        location = [part for part in location if not (isinstance(part, str) and "[" in part)]
        cause = detail.get("ctx", {}).get("error")
        message: str = detail["msg"]
        if isinstance(cause, errors.FieldProblem):
            location += list(cause.path)
            message = cause.message
        elif isinstance(cause, ValueError):
            message = str(cause)
        elif detail["type"] == "extra_forbidden":
            message = "unknown field"
        elif detail["type"] == "missing":
            message = "required field is missing"
        problems.append(Problem(source, index, format_path(location), message))
    return problems


def parse_resource(body: Any, source: str = "<input>", index: int = 1) -> Resource:
    """Validate one manifest body; raises `InvalidManifest` carrying every problem found."""
    problems = check_resource(body, source, index)
    if isinstance(problems, list):
        raise InvalidManifest(problems)
    return problems


class InvalidManifest(errors.InvalidSpec):
    """A manifest with one or more problems, each naming its field."""

    def __init__(self, problems: list[Problem]) -> None:
        first = problems[0]
        super().__init__(first.field, first.message)
        self.problems = problems

    def __str__(self) -> str:
        return "; ".join(
            f"{problem.field}: {problem.message}" if problem.field else problem.message
            for problem in self.problems
        )


def check_resource(body: Any, source: str = "<input>", index: int = 1) -> Resource | list[Problem]:
    """The typed resource, or the list of its problems. Never raises on bad input."""
    if not isinstance(body, dict):
        found = "empty document" if body is None else f"a {type(body).__name__}"
        return [
            Problem(source, index, "", f"expected a Kubernetes object (a mapping), got {found}")
        ]
    kind = body.get("kind")
    if not isinstance(kind, str) or kind not in KINDS:
        return [
            Problem(
                source,
                index,
                "kind",
                f"expected one of {', '.join(KINDS)} (apiVersion slo.dev/v1alpha1), got {kind!r}",
            )
        ]
    try:
        return KINDS[kind].model_validate(body)
    except pydantic.ValidationError as error:
        return _problems_from_validation_error(error, source, index)


def iter_manifest_files(paths: Iterable[str | pathlib.Path]) -> Iterator[pathlib.Path]:
    """Files named directly, and YAML/JSON files found below named directories, sorted."""
    for raw in paths:
        path = pathlib.Path(raw)
        if path.is_dir():
            yield from sorted(child for child in path.rglob("*") if child.suffix in YAML_SUFFIXES)
        else:
            yield path


def load_documents(path: pathlib.Path) -> Iterator[Document | Problem]:
    """Every YAML document of a file; a Problem for unreadable files or broken YAML."""
    source = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        yield Problem(source, 0, "", f"cannot read file: {error}")
        return
    if not text.strip():
        yield Problem(source, 0, "", "file is empty: no manifests found")
        return
    index = 0
    try:
        for index, body in enumerate(yaml.safe_load_all(text), start=1):
            if body is None:
                continue
            yield Document(source, index, body)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = str(getattr(error, "problem", None) or error)
        yield Problem(source, index + 1, "", f"not valid YAML{where}: {problem}")


def load_resources(
    paths: Iterable[str | pathlib.Path],
) -> tuple[list[tuple[Document, Resource]], list[Problem]]:
    """All valid resources from files and directories, and all problems, in file order."""
    resources: list[tuple[Document, Resource]] = []
    problems: list[Problem] = []
    for path in iter_manifest_files(paths):
        if not path.exists():
            problems.append(Problem(str(path), 0, "", "no such file or directory"))
            continue
        for item in load_documents(path):
            if isinstance(item, Problem):
                problems.append(item)
                continue
            checked = check_resource(item.body, item.source, item.index)
            if isinstance(checked, list):
                problems.extend(checked)
            else:
                resources.append((item, checked))
    return resources, problems
