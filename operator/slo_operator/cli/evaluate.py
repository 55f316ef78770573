"""`slo-operator evaluate`: SLIs, budgets and SLA attainment from a Prometheus, no cluster."""

from __future__ import annotations

import argparse
import datetime
import sys

from .. import errors
from ..api import sla, slo, validation
from ..rules import checks
from . import common


def add_arguments(parser: argparse.ArgumentParser) -> None:
    common.add_paths_argument(parser)
    parser.add_argument(
        "--prometheus-url", required=True, help="Prometheus-compatible backend to query"
    )
    parser.add_argument(
        "--at",
        type=common.parse_time,
        default=None,
        metavar="TIME",
        help="evaluate at TIME (default: now)",
    )
    common.add_query_param_argument(parser)
    parser.add_argument("-o", "--output", choices=("table", "json"), default="table")


def run(args: argparse.Namespace) -> int:
    # Every manifest read stays alive to the end (the registry, the statuses).
    with common.without_cyclic_gc():
        return _evaluate(args)


def _evaluate(args: argparse.Namespace) -> int:
    import asyncio

    from ..evaluation import offline

    resources, problems = validation.load_resources(args.paths, checks.check_resource)
    # Like `kubectl apply -f DIR`: an invalid manifest is reported with its location and
    # makes the exit code 1, and every valid object is still evaluated.
    common.print_problems(problems, sys.stderr)
    slos = [
        resource
        for _, resource in resources
        if isinstance(resource, slo.ServiceLevelObjective | sla.ServiceLevelAgreement)
    ]
    if not slos:
        print(f"no SLO or SLA found in {' '.join(args.paths)}", file=sys.stderr)
        return common.EXIT_INVALID
    at = args.at or datetime.datetime.now(datetime.UTC)
    try:
        backend = common.backend_from_args(args)
    except ValueError as error:
        print(f"slo-operator evaluate: {error}", file=sys.stderr)
        return common.EXIT_INVALID
    try:
        found = asyncio.run(offline.evaluate(slos, backend, at))
    except errors.BackendUnavailable as error:
        print(f"slo-operator evaluate: {error}", file=sys.stderr)
        return common.EXIT_INVALID
    if args.output == "json":
        print(common.json_list([item.to_json() for item in found]))
    else:
        print(offline.table(found))
    if problems:
        print(
            f"{len(problems)} problem(s) found; the objects above are the valid ones",
            file=sys.stderr,
        )
        return common.EXIT_INVALID
    return common.EXIT_OK


VERB = common.Verb(
    "evaluate",
    "SLIs and error budgets of SLO manifests from a Prometheus, without a cluster",
    add_arguments,
    run,
)
