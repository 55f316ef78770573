"""What the verbs share: exit codes, the `-f PATH` argument, problem lines, YAML output, times."""

from __future__ import annotations

import argparse
import dataclasses
import datetime
from collections.abc import Callable, Sequence
from typing import TextIO

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
