"""`slo-operator dashboards`: Grafana dashboards over the recorded series."""

from __future__ import annotations

import argparse
import json
import pathlib
import sys

from ..api import validation
from ..rules import checks
from . import common


def add_arguments(parser: argparse.ArgumentParser) -> None:
    common.add_paths_argument(
        parser,
        required=False,
        help="SLO and SLA manifests whose objectives and windows the dashboards show; optional",
    )
    parser.add_argument(
        "-o",
        "--output-dir",
        type=pathlib.Path,
        metavar="DIR",
        help="write one <uid>.json per dashboard into DIR instead of printing a JSON list",
    )


def run(args: argparse.Namespace) -> int:
    from ..dashboards import grafana

    resources, problems = validation.load_resources(args.paths, checks.check_resource)
    if problems:
        common.print_problems(problems, sys.stderr)
        return common.EXIT_INVALID
    dashboards = grafana.render_dashboards([resource for _, resource in resources])
    if args.output_dir is None:
        print(json.dumps(dashboards, indent=2))
        return common.EXIT_OK
    args.output_dir.mkdir(parents=True, exist_ok=True)
    for dashboard in dashboards:
        path = args.output_dir / f"{dashboard['uid']}.json"
        path.write_text(json.dumps(dashboard, indent=2) + "\n", encoding="utf-8")
        print(f"wrote {path}", file=sys.stderr)
    return common.EXIT_OK


VERB = common.Verb(
    "dashboards",
    "Grafana dashboards for SLOs and SLAs, from the recorded series",
    add_arguments,
    run,
)
