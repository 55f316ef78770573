"""YAML text of generated rule documents, written directly instead of through PyYAML's emitter.

`slo-operator generate` over 10,000 SLOs writes tens of megabytes of rules; PyYAML's general
emitter (even libyaml's) spent two thirds of the command's time on it. Rule documents are plain
trees of mappings, lists, strings and numbers, so this writer walks them once and appends text.

The output is byte for byte what `yaml.dump(document, sort_keys=False, width=4096,
allow_unicode=True)` writes with libyaml's emitter (PyYAML's own where libyaml is missing) and
literal blocks for multi-line strings: block style,
sequences inside mappings not indented, plain scalars wherever PyYAML would write them plain.
The writer decides "plain" itself only for strings it can prove PyYAML writes plain (printable
ASCII, no indicator at the start, no `: ` or ` #`, resolving to a string); every other scalar
(quoted strings, multi-line text, numbers, very long lines) is written by PyYAML itself, one
scalar at a time, so no case it does not know can come out differently.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping, Sequence
from typing import Any, Final

import yaml

from . import model

_Dumper: type[yaml.SafeDumper] = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


class _ScalarDumper(_Dumper):  # type: ignore[valid-type,misc]
    """PyYAML's choices for one scalar: literal blocks for multi-line text, no anchors."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def _represent_text(dumper: yaml.SafeDumper, text: str) -> yaml.ScalarNode:
    return dumper.represent_scalar(
        "tag:yaml.org,2002:str", text, style="|" if "\n" in text else None
    )


_ScalarDumper.add_representer(str, _represent_text)

_WIDTH: Final = 4096
"""PyYAML folds a plain scalar at a space past this column."""

_SIMPLE_KEY_LIMIT: Final = 128
"""PyYAML writes a longer mapping key as an explicit `? key` entry."""

# Printable ASCII without the characters that PyYAML refuses in a plain scalar anywhere in
# block context, and a first character that is no indicator.
_PLAIN: Final = re.compile(r"[A-Za-z0-9_./()$^+=~<;\\][\x20-\x7e]*")
_RESOLVER: Final = yaml.resolver.Resolver()
_ASCII_TEXT: Final = re.compile(r"[\x20-\x7e\n]*")


@functools.lru_cache(maxsize=65_536)
def _plain_is_safe(text: str) -> bool:
    """True when PyYAML would write ``text`` as a plain scalar (proved, not guessed)."""
    return _plain_check(text)


def _plain_check(text: str) -> bool:
    """`_plain_is_safe` without the cache, for texts that rarely repeat (expressions)."""
    if not _PLAIN.fullmatch(text) or text.endswith((" ", ":")):
        return False
    if ": " in text or " #" in text or text.startswith(("---", "...")):
        return False
    # A plain scalar must read back as a string, not a number, boolean, null or timestamp; only
    # texts starting with a character that has implicit resolvers can (`sum(...`, `slo:...` and
    # most label values cannot).
    if text[:1] not in _RESOLVER.yaml_implicit_resolvers:
        return True
    tag = _RESOLVER.resolve(yaml.ScalarNode, text, (True, False))  # type: ignore[no-untyped-call]
    return bool(tag == "tag:yaml.org,2002:str")


# typed: 1, 1.0 and True are equal keys to an untyped cache, but PyYAML writes 1, 1.0 and true.
@functools.lru_cache(maxsize=65_536, typed=True)
def _scalar_by_pyyaml(value: Any) -> str:
    """The scalar as PyYAML writes it at the start of a line (no trailing newline)."""
    text: str = yaml.dump(
        value, Dumper=_ScalarDumper, width=_WIDTH, allow_unicode=True, sort_keys=False
    )
    # A lone scalar document ends with "\n" (or "\n...\n" for a plain one at the top level).
    return text.removesuffix("\n...\n").removesuffix("\n")


def _scalar(value: Any, column: int, indent: int) -> str:
    """``value`` written at ``column`` in an entry (key or ``-``) at ``indent``; the lines of a
    literal block go two further in, as PyYAML puts them."""
    if type(value) is str and len(value) + column < _WIDTH - 1 and _plain_is_safe(value):
        return value
    if type(value) is str and not _ASCII_TEXT.fullmatch(value):
        # Unicode line separators and other special characters: PyYAML's emitter treats them
        # by the position they land in, so the whole document is written by it.
        raise _NeedsPyYAML
    if type(value) is str:
        direct = _quoted_or_literal(value, column, indent)
        if direct is not None:
            return direct
    if value is None or isinstance(value, bool | int | float | str):
        text = _scalar_by_pyyaml(value)
        if text.startswith("|") and text.partition("\n")[0].endswith("+"):
            # A block keeping its final breaks: PyYAML writes what follows it (up to the
            # document's end) by rules of its own.
            raise _NeedsPyYAML
        if "\n" in text:
            head, *lines = text.split("\n")
            pad = " " * indent
            return "\n".join([head, *(pad + line if line else line for line in lines)])
        if len(text) + column >= _WIDTH - 1:
            raise _NeedsPyYAML
        return text
    raise TypeError(f"cannot write {type(value).__name__} in a rule document")


_ONE_LINE: Final = re.compile(r"[\x20-\x7e]+")
_LITERAL: Final = re.compile(r"[\x21-\x7e][\x20-\x7e\n]*[\x21-\x7e]")


def _quoted_or_literal(text: str, column: int, indent: int) -> str | None:
    """The two other styles of rule documents, written here where PyYAML's choice is certain
    (each scalar through PyYAML's emitter cost a quarter of the writing time); None otherwise.

    - One line of printable ASCII with `: ` or ` #` (alert descriptions): never plain in block
      context, and single quotes suit any such line, so PyYAML writes it single-quoted
      (`'` doubled), unfolded while the line fits the width.
    - Several lines of printable ASCII (multi-line PromQL), without a space or break at either
      end or a space before a break: a literal block, `|-` (no final break), each line
      indented two past the entry.
    """
    if _ONE_LINE.fullmatch(text):
        if (": " in text or " #" in text) and len(text) + text.count("'") + column + 2 < _WIDTH - 1:
            return "'" + text.replace("'", "''") + "'"
        return None
    if "\n" in text and " \n" not in text and _LITERAL.fullmatch(text):
        pad = " " * (indent + 2)
        return "|-\n" + "\n".join(pad + line if line else line for line in text.split("\n"))
    return None


class _NeedsPyYAML(Exception):
    """A scalar that may be folded, or a key that is not plain: PyYAML writes the document."""


def _key(key: Any) -> str:
    """A plain mapping key; any other key (quoted, long, not a string) is PyYAML's to write,
    since it may choose the explicit ``? key`` form. Rule documents have plain keys only."""
    if type(key) is str and len(key) < _SIMPLE_KEY_LIMIT and _plain_is_safe(key):
        return key
    raise _NeedsPyYAML


def _mapping(mapping: Mapping[Any, Any], indent: int, out: list[str], first_prefix: str) -> None:
    """Writes a non-empty mapping whose first key follows ``first_prefix`` on the same line."""
    pad = " " * indent
    prefix = first_prefix
    for key, value in mapping.items():
        head = f"{prefix}{_key(key)}:"
        prefix = pad
        # Most values are plain text: written here, without the general path's type checks.
        if type(value) is str and len(value) + len(head) < _WIDTH - 2 and _plain_is_safe(value):
            out.append(f"{head} {value}\n")
            continue
        _value(value, indent, out, head)


def _sequence(items: Sequence[Any], indent: int, out: list[str], first_prefix: str) -> None:
    """Writes a non-empty sequence, its first ``- `` after ``first_prefix``."""
    pad = " " * indent
    prefix = first_prefix
    for item in items:
        head = f"{prefix}-"
        if (type(item) is dict or isinstance(item, Mapping)) and item:
            _mapping(item, indent + 2, out, head + " ")
        elif isinstance(item, list | tuple) and item:
            _sequence(item, indent + 2, out, head + " ")
        else:
            out.append(f"{head} {_inline(item, len(head) + 1, indent)}\n")
        prefix = pad


def _inline(value: Any, column: int, indent: int) -> str:
    if isinstance(value, Mapping):
        return "{}"
    if isinstance(value, list | tuple):
        return "[]"
    return _scalar(value, column, indent)


def _value(value: Any, indent: int, out: list[str], head: str) -> None:
    """A mapping entry's value after ``head`` (``key:``), the entry being at ``indent``."""
    if (type(value) is dict or isinstance(value, Mapping)) and value:
        out.append(head + "\n")
        _mapping(value, indent + 2, out, " " * (indent + 2))
    elif isinstance(value, list | tuple) and value:
        # Sequences inside a mapping are not indented (PyYAML's default).
        out.append(head + "\n")
        _sequence(value, indent, out, " " * indent)
    else:
        out.append(f"{head} {_inline(value, len(head) + 1, indent)}\n")


def dump(document: Mapping[str, Any]) -> str:
    """The YAML text of one rule document (a PrometheusRule object or a rule file)."""
    out: list[str] = []
    try:
        if document:
            _mapping(document, 0, out, "")
        else:
            out.append("{}\n")
    except _NeedsPyYAML:
        return dump_with_pyyaml(document)
    return "".join(out)


def dump_entries(items: Sequence[Any]) -> str | None:
    """The entries of a non-empty sequence as `dump` writes them under a top-level key, by the
    generic writer: the reference `dump_groups` is held to (it writes rule groups, which
    `generate` joins, without this walk). None when a scalar needs PyYAML's emitter: then only
    `dump` of the whole document is exact."""
    out: list[str] = []
    try:
        _sequence(items, 0, out, "")
    except _NeedsPyYAML:
        return None
    return "".join(out)


def dump_groups(groups: Sequence[model.RuleGroup]) -> str | None:
    """`dump_entries([group.to_dict() for group in groups])`, written from the rule models
    without building the dicts or walking them: rule groups have one layout, so only their
    scalars need deciding (a third of `generate`'s writing time went to the generic walk)."""
    out: list[str] = []
    try:
        for group in groups:
            out.append(f"- name: {_text(group.name, 8, 2)}\n")
            out.append(f"  interval: {_text(group.interval, 12, 2)}\n")
            if not group.rules:
                out.append("  rules: []\n")
                continue
            out.append("  rules:\n")
            for rule in group.rules:
                _rule(rule, out)
    except _NeedsPyYAML:
        return None
    return "".join(out)


def _rule(rule: model.Rule, out: list[str]) -> None:
    """One rule of a group's `rules:` list, as `_sequence` writes its `to_dict()`."""
    if isinstance(rule, model.RecordingRule):
        out.append(f"  - record: {_text(rule.record, 12, 4)}\n")
        out.append(f"    expr: {_text(rule.expr, 10, 4)}\n")
        _block("labels", rule.labels, out)
        return
    out.append(f"  - alert: {_text(rule.alert, 11, 4)}\n")
    out.append(f"    expr: {_text(rule.expr, 10, 4)}\n")
    if rule.for_:
        out.append(f"    for: {_text(rule.for_, 9, 4)}\n")
    _block("labels", rule.labels, out)
    _block("annotations", rule.annotations, out)


def _block(key: str, mapping: Mapping[str, str], out: list[str]) -> None:
    """A rule's labels or annotations (nothing when empty, as `to_dict` leaves them out)."""
    if not mapping:
        return
    out.append(f"    {key}:\n")
    for pair in mapping.items():
        line = _LABEL_LINES.get(pair)
        if line is None:
            name, value = pair
            line = f"      {_key(name)}: {_text(value, len(name) + 8, 6)}\n"
            if type(value) is str:  # 1, 1.0 and True are one key to a dict, not one text
                if len(_LABEL_LINES) >= _LABEL_LINES_KEPT:
                    _LABEL_LINES.clear()
                _LABEL_LINES[pair] = line
        out.append(line)


_LABEL_LINES: dict[tuple[str, str], str] = {}
"""Written label and annotation lines: an SLO's rules repeat the same labels (`slo`,
`slo_namespace`, `service`, ...), so most lines are found here."""
_LABEL_LINES_KEPT: Final = 65_536

_LONG: Final = 64
"""Texts longer than this (expressions) are checked without the cache: they rarely repeat."""


def _text(value: Any, column: int, indent: int) -> str:
    """A scalar value after its key at ``column`` in an entry at ``indent``."""
    if type(value) is not str or len(value) + column >= _WIDTH - 1:
        return _scalar(value, column, indent)
    plain = _plain_check(value) if len(value) > _LONG else _plain_is_safe(value)
    return value if plain else _scalar(value, column, indent)


def dump_with_pyyaml(document: Any) -> str:
    """What `dump` writes, by PyYAML's emitter, for any document: block style, no anchors,
    literal blocks for multi-line text, lines up to 4096 characters (PromQL stays on one line)."""
    return str(
        yaml.dump(document, Dumper=_ScalarDumper, sort_keys=False, width=_WIDTH, allow_unicode=True)
    )
