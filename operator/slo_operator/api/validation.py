"""Turning untrusted input into typed models, or into problems that name the field.

The same functions serve `slo-operator validate`, `generate`, `evaluate` and the admission
webhook, so everything the CLI rejects is rejected in the cluster too.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime
import itertools
import json
import math
import pathlib
import re
from collections.abc import Callable, Hashable, Iterable, Iterator, Mapping
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
MAX_DOCUMENT_NODES = 100_000
"""More nodes than any real manifest has; YAML aliases can expand a small file beyond it."""
MAX_DOCUMENT_DEPTH = 64
"""Deeper than any real manifest nests."""


@dataclasses.dataclass(frozen=True)
class Problem:
    """One thing wrong with one document, located for a human.

    From a file: `file:line:column: Kind namespace/name: field: message`, the line and column of
    the offending node (as kubectl, yamllint and promtool print them). Without a position
    (objects read from the cluster, the webhook): `source:document:field: message`; for a whole
    file (missing, empty): `file: message`.
    """

    source: str
    """File path, or `<admission>` for the webhook."""
    document: int
    """1-based index of the YAML document in the file; 0 for the whole file."""
    field: str
    """Dotted path, e.g. `spec.objectives[1].threshold`; empty for the whole document."""
    message: str
    line: int = 0
    """1-based line of the offending node in the file; 0 when unknown."""
    column: int = 0
    """1-based column of the offending node."""
    what: str = ""
    """The object, e.g. `ServiceLevelObjective shop/checkout`, when the document names one."""

    def __str__(self) -> str:
        if self.line:
            parts = [f"{self.source}:{self.line}:{self.column}"]
        elif self.document == 0:
            parts = [self.source]
        else:
            parts = [f"{self.source}:{self.document}"]
        if self.what:
            parts.append(self.what)
        if self.field:
            parts.append(self.field)
        if self.line or self.what or self.document == 0:
            return ": ".join([*parts, self.message])
        # No position: the field follows the document index directly, as before.
        return f"{':'.join(parts)}: {self.message}"


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
    if not isinstance(body, Mapping):
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
        wire = json.dumps(as_wire_json(body))
    except DocumentTooLarge as error:
        return [Problem(source, index, "", str(error))]
    try:
        # Strict, as JSON, by alias: the same judgement the apiserver makes on what kubectl
        # sends. `target: "99"`, `enabled: "yes"` or a snake_case field name are errors there,
        # so they are errors here too.
        return KINDS[kind].model_validate_json(wire, strict=True, by_alias=True, by_name=False)
    except pydantic.ValidationError as error:
        return _problems_from_validation_error(error, source, index)


class DocumentTooLarge(ValueError):
    """A document nests deeper or holds more nodes than any manifest could."""


def as_wire_json(body: Any) -> Any:
    """A YAML document as kubectl would send it: string keys, timestamps as RFC 3339 text.

    Raises DocumentTooLarge for alias bombs and absurd nesting instead of expanding them.
    """
    nodes = 0

    def convert(value: Any, depth: int) -> Any:
        nonlocal nodes
        nodes += 1
        if nodes > MAX_DOCUMENT_NODES:
            raise DocumentTooLarge(f"document has more than {MAX_DOCUMENT_NODES} values")
        if depth > MAX_DOCUMENT_DEPTH:
            raise DocumentTooLarge(f"document nests deeper than {MAX_DOCUMENT_DEPTH} levels")
        if isinstance(value, float) and not math.isfinite(value):
            # JSON has no NaN or infinity (kubectl refuses them); as text, the model reports
            # "not a valid number" at the field's path.
            return str(value)
        if value is None or isinstance(value, str | bool | int | float):
            return value
        if isinstance(value, Mapping):
            # Also kopf's Body and other read-only views of a cluster object.
            return {_key_text(key): convert(item, depth + 1) for key, item in value.items()}
        if isinstance(value, list | tuple):
            return [convert(item, depth + 1) for item in value]
        if isinstance(value, datetime.date):
            # YAML reads unquoted timestamps as datetimes; kubectl sends them as written.
            return value.isoformat()
        if isinstance(value, bytes):
            return base64.b64encode(value).decode("ascii")
        if isinstance(value, set | frozenset):
            return {_key_text(key): None for key in sorted(value, key=repr)}
        return str(value)

    return convert(body, 0)


def _key_text(key: Any) -> str:
    """Mapping keys as kubectl's YAML-to-JSON conversion writes them."""
    if isinstance(key, str):
        return key
    if isinstance(key, bool):
        return "true" if key else "false"
    if key is None:
        return "null"
    if isinstance(key, datetime.date):
        return key.isoformat()
    return str(key)


def iter_manifest_files(paths: Iterable[str | pathlib.Path]) -> Iterator[pathlib.Path]:
    """Files named directly, and YAML/JSON files found below named directories, sorted."""
    for raw in paths:
        path = pathlib.Path(raw)
        if path.is_dir():
            yield from sorted(child for child in path.rglob("*") if child.suffix in YAML_SUFFIXES)
        else:
            yield path


_SAFE_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
"""PyYAML's safe loader, with libyaml's C parser where PyYAML was built with it (10x faster
on 10,000 manifests); the constructor is the same SafeConstructor either way."""


_STR_TAG = "tag:yaml.org,2002:str"
_MAP_TAG = "tag:yaml.org,2002:map"
_SEQ_TAG = "tag:yaml.org,2002:seq"
_SPECIAL_KEY_TAGS = ("tag:yaml.org,2002:merge", "tag:yaml.org,2002:value")


class ManifestLoader(_SAFE_LOADER):  # type: ignore[valid-type,misc]
    """The safe loader, building plain mappings, lists and strings itself: PyYAML's constructor
    spent half of `generate`'s reading time on them (10,000 manifests). Every other node (numbers,
    booleans, timestamps, merge keys, explicit tags) is left to the safe constructor, so the
    values are the same; an alias is the same object, as with PyYAML (an alias bomb stays
    small until `as_wire_json` refuses it)."""

    def resolve(self, kind: type[yaml.Node], value: Any, implicit: tuple[bool, bool]) -> str:
        # Every plain scalar comes here for its tag; only a text starting with a character
        # that has implicit resolvers (digits, `-+.~<=`, `yYnNtTfFoO`, ...) can be other than
        # a string, so the others skip PyYAML's resolver (a tenth of the reading time).
        if (
            kind is yaml.ScalarNode
            and implicit[0]
            and value[:1] not in self.yaml_implicit_resolvers
            and not self.yaml_path_resolvers
        ):
            return _STR_TAG
        return str(super().resolve(kind, value, implicit))

    def construct_document(self, node: yaml.Node) -> Any:
        built: dict[yaml.Node, Any] = {}
        data = self._build(node, built)
        # As BaseConstructor.construct_document ends (nodes left to it are built deep, so no
        # generator is pending).
        self.constructed_objects.clear()
        self.recursive_objects.clear()
        self.deep_construct = False
        return data

    def _build(self, node: yaml.Node, built: dict[yaml.Node, Any]) -> Any:
        if node in built:
            return built[node]
        kind = type(node)
        if kind is yaml.ScalarNode and node.tag == _STR_TAG:
            value: Any = node.value
        elif (
            kind is yaml.MappingNode
            and node.tag == _MAP_TAG
            and not any(key.tag in _SPECIAL_KEY_TAGS for key, _ in node.value)
        ):
            mapping: dict[Any, Any] = {}
            built[node] = mapping
            for key_node, value_node in node.value:
                key = self._build(key_node, built)
                if not isinstance(key, Hashable):
                    raise yaml.constructor.ConstructorError(
                        "while constructing a mapping",
                        node.start_mark,
                        "found unhashable key",
                        key_node.start_mark,
                    )
                mapping[key] = self._build(value_node, built)
            return mapping
        elif kind is yaml.SequenceNode and node.tag == _SEQ_TAG:
            items: list[Any] = []
            built[node] = items
            items.extend(self._build(child, built) for child in node.value)
            return items
        else:
            value = self.construct_object(node, deep=True)
        built[node] = value
        return value


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
    if text.lstrip().startswith("{"):
        # kubectl reads a document that starts with `{` as JSON, which allows characters YAML
        # refuses (DEL, C1 controls); only what JSON cannot read goes on to the YAML reader,
        # whose errors carry a line and column.
        try:
            body = json.loads(text)
        except (ValueError, RecursionError):
            pass
        else:
            yield Document(source, 1, body)
            return
    index = 0
    found = False
    try:
        for index, body in enumerate(yaml.load_all(text, Loader=ManifestLoader), start=1):
            if body is None:
                continue
            found = True
            yield Document(source, index, body)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        problem = str(getattr(error, "problem", None) or error)
        if mark is None:
            yield Problem(source, index + 1, "", f"not valid YAML: {problem}")
        else:
            yield Problem(
                source,
                index + 1,
                "",
                f"not valid YAML: {problem}",
                line=mark.line + 1,
                column=mark.column + 1,
            )
        return
    except (ValueError, OverflowError) as error:
        # PyYAML builds values after matching them: `2026-13-45` looks like a timestamp and
        # fails in datetime(), outside PyYAML's own error hierarchy.
        yield Problem(source, index + 1, "", f"not valid YAML: {error}")
        return
    except RecursionError:
        # PyYAML composes nodes recursively; thousands of nested brackets exhaust the stack.
        yield Problem(source, index + 1, "", "not valid YAML: nested too deeply")
        return
    if not found:
        yield Problem(source, 0, "", "no manifests found: every document is empty")


_OBJECT_NAME = re.compile(r"[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?")
"""A Kubernetes object name (DNS subdomain): anything else is not echoed in problem lines."""
_PATH_PART = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def object_name(body: Any, kinds: Iterable[str] = KINDS) -> str:
    """`Kind namespace/name` of a manifest body of one of `kinds`, as far as it says."""
    if not isinstance(body, Mapping):
        return ""
    kind = body.get("kind")
    metadata = body.get("metadata")
    if not isinstance(kind, str) or kind not in kinds or not isinstance(metadata, Mapping):
        return ""
    name, namespace = metadata.get("name"), metadata.get("namespace")
    if not isinstance(name, str) or not _OBJECT_NAME.fullmatch(name):
        return str(kind)
    if isinstance(namespace, str) and _OBJECT_NAME.fullmatch(namespace):
        return f"{kind} {namespace}/{name}"
    return f"{kind} {name}"


def _node_at(root: yaml.Node, field: str) -> yaml.Node:
    """The node a field path points at: the key of a mapping entry, an item of a list; the
    deepest existing parent when the path goes further than the document (a missing field)."""
    node = found = root
    for name, index in _PATH_PART.findall(field):
        if isinstance(node, yaml.MappingNode) and name:
            entry = next((pair for pair in node.value if pair[0].value == name), None)
            if entry is None:
                break
            found, node = entry
        elif isinstance(node, yaml.SequenceNode) and index and int(index) < len(node.value):
            found = node = node.value[int(index)]
        else:
            break
    return found


def compose_document(path: pathlib.Path, index: int) -> yaml.Node | None:
    """The node tree of the `index`-th (1-based) document of a file, with each node's line and
    column; None when the file or that document cannot be read. Composed only as far as that
    document: a later one may be broken YAML."""
    try:
        text = path.read_text(encoding="utf-8")
        nodes = yaml.compose_all(text, Loader=_SAFE_LOADER)
        root: yaml.Node | None = next(itertools.islice(nodes, index - 1, None))
    except StopIteration:
        return None
    except (OSError, UnicodeDecodeError, yaml.YAMLError, IndexError, RecursionError, ValueError):
        return None
    return root


def position(root: yaml.Node, field: str) -> tuple[int, int]:
    """1-based (line, column) of the node a field path points at (`_node_at`)."""
    mark = _node_at(root, field).start_mark
    return mark.line + 1, mark.column + 1


def locate(problems: list[Problem], path: pathlib.Path, document: Document) -> list[Problem]:
    """The problems of one document of a file, with the line and column of each offending node
    and the object's kind and name. The file is composed again only here: valid manifests
    never pay for positions."""
    root = compose_document(path, document.index)
    if root is None:
        return problems
    what = object_name(document.body)
    located = []
    for problem in problems:
        line, column = position(root, problem.field)
        located.append(dataclasses.replace(problem, line=line, column=column, what=what))
    return located


Checker = Callable[[Any, str, int], "Resource | list[Problem]"]
"""A function judging one document body, like `check_resource`."""


def load_resources(
    paths: Iterable[str | pathlib.Path], check: Checker | None = None
) -> tuple[list[tuple[Document, Resource]], list[Problem]]:
    """All valid resources from files and directories, and all problems, in file order.

    `check` judges each document, `check_resource` by default; the CLI passes the complete
    check of `slo_operator.rules.checks`, which layers above this one provide.
    """
    check = check or check_resource
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
            checked = check(item.body, item.source, item.index)
            if isinstance(checked, list):
                problems.extend(locate(checked, path, item))
            else:
                resources.append((item, checked))
    return resources, problems
