"""`slo-operator`: the command line. Each verb is a thin adapter over the layers below, one
module per verb in this package.

Exit codes: 0 success, 1 invalid input (one `file:line:column: Kind name: field: message` line
per problem), 2 wrong usage (argparse's convention).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

from .. import __version__
from . import common, convert, crds, dashboards, evaluate, generate, report, run, ui, validate

VERBS: tuple[common.Verb, ...] = (
    run.VERB,
    crds.VERB,
    convert.VERB,
    dashboards.VERB,
    validate.VERB,
    generate.VERB,
    evaluate.VERB,
    report.VERB,
    ui.VERB,
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="slo-operator",
        description="SLOs and SLAs as Kubernetes resources: rules, error budgets, credits.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    subparsers = parser.add_subparsers(dest="verb", required=True, metavar="VERB")
    for verb in VERBS:
        subparser = subparsers.add_parser(verb.name, help=verb.help, description=verb.help)
        verb.add_arguments(subparser)
        subparser.set_defaults(run=verb.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    run_verb: Callable[[argparse.Namespace], int] = args.run
    try:
        return run_verb(args)
    except BrokenPipeError:
        # `slo-operator generate ... | head`: the reader left; that is not an error of ours.
        sys.stderr.close()
        return common.EXIT_OK
    except KeyboardInterrupt:
        return 130
