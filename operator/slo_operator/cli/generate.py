"""`slo-operator generate`: Prometheus rules for SLO manifests, offline."""

from __future__ import annotations

import argparse
import sys

from ..api import slo, validation
from ..rules import checks, render, rule_yaml
from . import common


def _label(text: str) -> tuple[str, str]:
    name, sep, value = text.partition("=")
    if not sep or not name:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    return name, value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    common.add_paths_argument(parser)
    parser.add_argument(
        "--format",
        choices=("prometheusrule", "rulefile"),
        default="prometheusrule",
        help="one monitoring.coreos.com/v1 PrometheusRule per SLO (default), or one plain "
        "Prometheus rule file for all SLOs",
    )
    parser.add_argument(
        "--extra-label",
        dest="extra_labels",
        type=_label,
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="label on each PrometheusRule object, e.g. for Prometheus' ruleSelector; repeatable",
    )


def _without_duplicate_names(
    slos: list[tuple[validation.Document, slo.ServiceLevelObjective]],
) -> tuple[list[tuple[validation.Document, slo.ServiceLevelObjective]], list[validation.Problem]]:
    """The SLOs with each namespace/name once (the first), and a problem per later copy."""
    problems: list[validation.Problem] = []
    kept: list[tuple[validation.Document, slo.ServiceLevelObjective]] = []
    first_seen: dict[tuple[str, str], validation.Document] = {}
    for document, resource in slos:
        key = (resource.namespace, resource.name)
        if key not in first_seen:
            kept.append((document, resource))
        else:
            earlier = first_seen[key]
            problems.append(
                validation.Problem(
                    document.source,
                    document.index,
                    "metadata.name",
                    f"SLO {resource.namespace}/{resource.name} is already defined in "
                    f"{earlier.source}:{earlier.index}",
                )
            )
        first_seen.setdefault(key, document)
    return kept, problems


def run(args: argparse.Namespace) -> int:
    if args.extra_labels and args.format != "prometheusrule":
        print("slo-operator generate: --extra-label needs --format prometheusrule", file=sys.stderr)
        return common.EXIT_INVALID
    resources, problems = validation.load_resources(args.paths, checks.check_resource)
    slos = [
        (document, resource)
        for document, resource in resources
        if isinstance(resource, slo.ServiceLevelObjective)
    ]
    extra_labels = dict(args.extra_labels) or None
    slos, duplicates = _without_duplicate_names(slos)
    problems.extend(duplicates)
    # Like `kubectl apply -f DIR`: the rules of every valid SLO are written, each invalid
    # manifest is reported with its location, and the exit code is 1 when there was one
    # (`set -o pipefail` stops a pipeline into kubectl on it).
    common.print_problems(problems, sys.stderr)
    if not slos:
        print(f"no ServiceLevelObjective found in {' '.join(args.paths)}", file=sys.stderr)
        return common.EXIT_INVALID
    if args.format == "rulefile":
        sys.stdout.write(
            rule_yaml.dump(render.render_rule_file([resource for _, resource in slos]))
        )
    else:
        rule_objects = [
            render.render_prometheus_rule(resource, extra_labels) for _, resource in slos
        ]
        sys.stdout.write("---\n".join(rule_yaml.dump(rule_object) for rule_object in rule_objects))
    skipped = sum(not isinstance(resource, slo.ServiceLevelObjective) for _, resource in resources)
    if skipped:
        print(f"skipped {skipped} ServiceLevelAgreement(s): SLAs have no rules", file=sys.stderr)
    if problems:
        print(
            f"{len(problems)} problem(s) found; rules written for the {len(slos)} valid SLO(s)",
            file=sys.stderr,
        )
        return common.EXIT_INVALID
    return common.EXIT_OK


VERB = common.Verb("generate", "Prometheus rules for SLO manifests, offline", add_arguments, run)
