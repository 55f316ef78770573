"""What the verbs share: exit codes, the `-f PATH` argument, problem lines, YAML output, times."""

from __future__ import annotations

import argparse
import dataclasses
import datetime
from collections.abc import Callable, Sequence
from typing import TextIO

from ..api import times, validation
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
