"""`slo-operator generate`: Prometheus rules for SLO manifests, offline."""

from __future__ import annotations

import argparse
import dataclasses
import os
import pathlib
import sys
from concurrent import futures

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
        choices=("prometheusrule", "vmrule", "rulefile"),
        default="prometheusrule",
        help="one monitoring.coreos.com/v1 PrometheusRule per SLO (default), one "
        "operator.victoriametrics.com/v1beta1 VMRule per SLO (for vm-operator without the "
        "Prometheus CRDs), or one plain Prometheus rule file for all SLOs",
    )
    parser.add_argument(
        "--extra-label",
        dest="extra_labels",
        type=_label,
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="label on each PrometheusRule or VMRule object, e.g. for Prometheus' ruleSelector; "
        "repeatable",
    )


PARALLEL_BYTES = 512 * 1024
"""Manifest bytes per extra process: below that, forking costs more than it saves."""


@dataclasses.dataclass(frozen=True)
class _Rules:
    """The rules of one valid SLO as YAML text, and where the SLO was defined."""

    source: str
    index: int
    namespace: str
    name: str
    text: str | None
    """A PrometheusRule document, or the rule file's group entries; None for entries that
    only PyYAML's emitter writes exactly (`rule_yaml.dump_groups`)."""


@dataclasses.dataclass(frozen=True)
class _Part:
    """What a run over some of the input files found, in file order."""

    rules: list[_Rules]
    problems: list[validation.Problem]
    slas: int


def _generate_part(
    files: list[pathlib.Path], output: str, extra_labels: dict[str, str] | None
) -> _Part:
    """Read, check and render the SLOs of `files` (in a worker process for large inputs)."""
    with common.without_cyclic_gc():
        return _read_and_render(files, output, extra_labels)


def _read_and_render(
    files: list[pathlib.Path], output: str, extra_labels: dict[str, str] | None
) -> _Part:
    resources, problems = validation.load_resources(files, checks.check_resource)
    rules: list[_Rules] = []
    slas = 0
    for document, resource in resources:
        if not isinstance(resource, slo.ServiceLevelObjective):
            slas += 1
            continue
        if output == "rulefile":
            text = rule_yaml.dump_groups(render.render_rule_groups(resource))
        elif output == "vmrule":
            text = rule_yaml.dump(
                render.as_vmrule(render.render_prometheus_rule(resource, extra_labels))
            )
        else:
            text = rule_yaml.dump(render.render_prometheus_rule(resource, extra_labels))
        rules.append(
            _Rules(document.source, document.index, resource.namespace, resource.name, text)
        )
    return _Part(rules, problems, slas)


def _split(files: list[pathlib.Path], parts: int) -> list[list[pathlib.Path]]:
    """`files` in `parts` consecutive runs of about equal size (file order is kept)."""
    sizes = [path.stat().st_size if path.is_file() else 0 for path in files]
    share = sum(sizes) / parts
    runs: list[list[pathlib.Path]] = [[]]
    done = 0
    for path, size in zip(files, sizes, strict=True):
        if len(runs) < parts and runs[-1] and done + size / 2 > share * len(runs):
            runs.append([])
        runs[-1].append(path)
        done += size
    return runs


def cpus() -> int:
    """The cores this process may run on."""
    return len(os.sched_getaffinity(0))


def processes(files: list[pathlib.Path]) -> int:
    """How many processes share the work: one per core and per `PARALLEL_BYTES` of input."""
    total = sum(path.stat().st_size for path in files if path.is_file())
    return max(1, min(cpus(), len(files), total // PARALLEL_BYTES))


def _generate_all(
    files: list[pathlib.Path], output: str, extra_labels: dict[str, str] | None
) -> _Part:
    """All files, split over one process per core when the input is large (10,000 SLOs take
    seconds of CPU in each step: parsing, checking, rendering, writing); the parts are joined
    in file order, so the output does not depend on the split."""
    count = processes(files)
    if count == 1:
        return _generate_part(files, output, extra_labels)
    runs = _split(files, count)
    with futures.ProcessPoolExecutor(len(runs) - 1) as pool:
        pending = [pool.submit(_generate_part, run, output, extra_labels) for run in runs[1:]]
        parts = [_generate_part(runs[0], output, extra_labels)]
        parts += [future.result() for future in pending]
    return _Part(
        [rules for part in parts for rules in part.rules],
        [problem for part in parts for problem in part.problems],
        sum(part.slas for part in parts),
    )


def _without_duplicate_names(rules: list[_Rules]) -> tuple[list[_Rules], list[validation.Problem]]:
    """The SLOs with each namespace/name once (the first), and a problem per later copy."""
    problems: list[validation.Problem] = []
    kept: list[_Rules] = []
    first_seen: dict[tuple[str, str], _Rules] = {}
    for item in rules:
        key = (item.namespace, item.name)
        earlier = first_seen.setdefault(key, item)
        if earlier is item:
            kept.append(item)
            continue
        problems.append(
            validation.Problem(
                item.source,
                item.index,
                "metadata.name",
                f"SLO {item.namespace}/{item.name} is already defined in "
                f"{earlier.source}:{earlier.index}",
            )
        )
    return kept, problems


def _rule_file(files: list[pathlib.Path], kept: list[_Rules]) -> str:
    """One rule file of the kept SLOs' groups, ordered by namespace/name."""
    if all(item.text is not None for item in kept):
        ordered = sorted(kept, key=lambda item: (item.namespace, item.name))
        return "groups:\n" + "".join(item.text or "" for item in ordered)
    # A scalar only PyYAML writes exactly: the whole file by PyYAML, as one document.
    wanted = {(item.source, item.index) for item in kept}
    resources, _ = validation.load_resources(files, checks.check_resource)
    chosen: dict[tuple[str, str], slo.ServiceLevelObjective] = {}
    for document, resource in resources:
        if (
            isinstance(resource, slo.ServiceLevelObjective)
            and (document.source, document.index) in wanted
        ):
            chosen.setdefault((resource.namespace, resource.name), resource)
    return rule_yaml.dump(render.render_rule_file(list(chosen.values())))


def run(args: argparse.Namespace) -> int:
    if args.extra_labels and args.format == "rulefile":
        print(
            "slo-operator generate: --extra-label needs --format prometheusrule or vmrule",
            file=sys.stderr,
        )
        return common.EXIT_INVALID
    files = list(validation.iter_manifest_files(args.paths))
    found = _generate_all(files, args.format, dict(args.extra_labels) or None)
    slos, duplicates = _without_duplicate_names(found.rules)
    problems = [*found.problems, *duplicates]
    # Like `kubectl apply -f DIR`: the rules of every valid SLO are written, each invalid
    # manifest is reported with its location, and the exit code is 1 when there was one
    # (`set -o pipefail` stops a pipeline into kubectl on it).
    common.print_problems(problems, sys.stderr)
    if not slos:
        print(f"no ServiceLevelObjective found in {' '.join(args.paths)}", file=sys.stderr)
        return common.EXIT_INVALID
    if args.format == "rulefile":
        sys.stdout.write(_rule_file(files, slos))
    else:
        sys.stdout.write("---\n".join(item.text or "" for item in slos))
    if found.slas:
        print(f"skipped {found.slas} ServiceLevelAgreement(s): SLAs have no rules", file=sys.stderr)
    if problems:
        print(
            f"{len(problems)} problem(s) found; rules written for the {len(slos)} valid SLO(s)",
            file=sys.stderr,
        )
        return common.EXIT_INVALID
    return common.EXIT_OK


VERB = common.Verb("generate", "Prometheus rules for SLO manifests, offline", add_arguments, run)
