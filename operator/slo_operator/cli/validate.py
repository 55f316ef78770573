"""`slo-operator validate`: the cluster's checks on manifest files, one line per problem."""

from __future__ import annotations

import argparse
import sys
from collections import Counter

from ..api import validation
from ..rules import checks
from . import common


def run(args: argparse.Namespace) -> int:
    resources, problems = validation.load_resources(args.paths, checks.check_resource)
    if problems:
        common.print_problems(problems, sys.stdout)
        print(f"{len(problems)} problem(s) found", file=sys.stderr)
        return common.EXIT_INVALID
    if not resources:
        print(f"no manifests found in {' '.join(args.paths)}")
        return common.EXIT_INVALID
    kinds = Counter(resource.kind for _, resource in resources)
    files = {document.source for document, _ in resources}
    summary = ", ".join(f"{count} {kind}" for kind, count in sorted(kinds.items()))
    print(f"{len(resources)} manifest(s) in {len(files)} file(s) are valid: {summary}")
    return common.EXIT_OK


VERB = common.Verb(
    "validate",
    "check SLO and SLA manifests with the same rules as the cluster",
    common.add_paths_argument,
    run,
)
