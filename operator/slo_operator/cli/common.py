"""What the verbs share: exit codes, the `-f PATH` argument, problem lines, YAML output, times."""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import datetime
import gc
import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, TextIO

import pydantic

from ..api import times, validation
from ..backends import backend_config
from ..rules import rule_yaml

EXIT_OK = 0
EXIT_INVALID = 1


@dataclasses.dataclass(frozen=True)
class Verb:
    """One subcommand: its help line, how it reads arguments, and what it runs."""

    name: str
    help: str
    add_arguments: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], int]


def add_paths_argument(
    parser: argparse.ArgumentParser | argparse._ActionsContainer,
    *,
    required: bool = True,
    help: str = "manifest files or directories (searched for *.yaml, *.yml, *.json); repeatable",
) -> None:
    """`-f/--filename PATH...` into `args.paths`; an optional one defaults to no paths."""
    parser.add_argument(
        "-f",
        "--filename",
        dest="paths",
        action="extend",
        nargs="+",
        required=required,
        default=None if required else [],
        metavar="PATH",
        help=help,
    )


def print_problems(problems: Sequence[validation.Problem], stream: TextIO) -> None:
    for problem in problems:
        # One line per problem, whatever the input holds: control characters (including the
        # ones str.splitlines() breaks on, such as \x1e) are shown escaped.
        print(printable(str(problem)), file=stream)


def printable(text: str) -> str:
    return "".join(
        char if char.isprintable() or char == "\t" else char.encode("unicode_escape").decode()
        for char in text
    )


@contextlib.contextmanager
def without_cyclic_gc() -> Iterator[None]:
    """The cyclic garbage collector off for a verb that builds many objects and keeps them.

    Reading 10,000 manifests keeps every model alive to the end, so each collection only
    re-scans them: a third of the CPU time of `generate` and of `evaluate` over 10,000 SLOs.
    What these verbs build holds no cycles worth collecting (reference counting frees the rest).
    """
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def json_list(items: Sequence[Mapping[str, Any]]) -> str:
    """`json.dumps(list(items), indent=2)`, byte for byte, with each distinct nested value
    indented once.

    The standard library indents in pure Python (its C encoder writes compact JSON only): two
    seconds for the statuses of 10,000 SLOs. A fleet's statuses repeat (SLOs on one metric and
    window measure the same numbers), so each nested value is told apart by its compact C
    encoding and indented only the first time it is seen. JSON text holds no raw newline, so
    indenting a value's own text one level deeper is inserting spaces after each newline.
    """
    if not items:
        return "[]"
    indented: dict[str, str] = {}
    parts: list[str] = []
    for item in items:
        if not item:
            parts.append("  {}")
            continue
        fields: list[str] = []
        for key, value in item.items():
            text = json.dumps(value)
            if isinstance(value, dict | list) and value:
                known = indented.get(text)
                if known is None:
                    known = indented[text] = json.dumps(value, indent=2).replace("\n", "\n    ")
                text = known
            fields.append(f"    {json.dumps(key)}: {text}")
        parts.append("  {\n" + ",\n".join(fields) + "\n  }")
    return "[\n" + ",\n".join(parts) + "\n]"


dump = rule_yaml.dump_with_pyyaml
"""Readable YAML for manifests: the rule writer's PyYAML settings (`rules.rule_yaml`)."""


def parse_time(text: str) -> datetime.datetime:
    """`--at`: RFC 3339 (`2026-11-27T10:00:00Z`) or Unix seconds."""
    try:
        moment = (
            datetime.datetime.fromtimestamp(float(text), datetime.UTC)
            if text.replace(".", "", 1).isdigit()
            else times.parse_timestamp(text)
        )
    except ValueError as error:
        raise argparse.ArgumentTypeError(
            f"not an RFC 3339 time or Unix seconds: {text!r}"
        ) from error
    if moment.tzinfo is None:
        raise argparse.ArgumentTypeError(f"give a time zone (e.g. Z) in {text!r}")
    return moment


def add_query_param_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--query-param",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a parameter sent with every query, e.g. dedup=true and partial_response=false "
        "for Thanos Query (repeatable)",
    )


def backend_from_args(args: argparse.Namespace) -> backend_config.BackendConfig:
    """The backend of `--prometheus-url` and `--query-param`; ValueError naming the flag."""
    parameters: dict[str, str] = {}
    for item in args.query_param:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ValueError(f"--query-param {item!r}: expected KEY=VALUE")
        parameters[key] = value
    try:
        return backend_config.BackendConfig(
            name=backend_config.DEFAULT_BACKEND,
            url=args.prometheus_url,
            query_parameters=parameters,
        )
    except pydantic.ValidationError as error:
        flags = {
            "queryParameters": "--query-param",
            "query_parameters": "--query-param",
            "url": "--prometheus-url",
        }
        raise ValueError(
            "; ".join(
                f"{flags.get(str(problem['loc'][0]), str(problem['loc'][0]))}: {problem['msg']}"
                for problem in error.errors()
            )
        ) from None
