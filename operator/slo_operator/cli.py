"""`slo-operator`: the command line. Each verb is a thin adapter over the layers below.

Verbs are registered only once they are implemented; `run`, `evaluate`, `report`, `convert` and
`dashboards` join `crds`, `validate` and `generate` as their layers land.

Exit codes: 0 success, 1 invalid input (one `file:document:field: message` line per problem),
2 wrong usage (argparse's convention).
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import json
import pathlib
import sys
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any, TextIO

import yaml

from . import __version__, errors
from .api import crd, sla, slo, validation
from .rules import checks, render

EXIT_OK = 0
EXIT_INVALID = 1


@dataclasses.dataclass(frozen=True)
class Verb:
    """One subcommand: its help line, how it reads arguments, and what it runs."""

    name: str
    help: str
    add_arguments: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], int]


# --- crds -------------------------------------------------------------------------------------


def _add_crds_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--output-dir",
        type=pathlib.Path,
        metavar="DIR",
        help="write one file per CRD into DIR (e.g. crds/) instead of printing them",
    )


def _run_crds(args: argparse.Namespace) -> int:
    documents = [(kind, crd.custom_resource_definition(kind)) for kind in crd.KINDS]
    if args.output_dir is None:
        sys.stdout.write("---\n".join(crd.to_yaml(body) for _, body in documents))
        return EXIT_OK
    output_dir: pathlib.Path = args.output_dir
    output_dir.mkdir(parents=True, exist_ok=True)
    for kind, body in documents:
        path = output_dir / kind.file_name
        path.write_text(crd.to_yaml(body), encoding="utf-8")
        print(f"wrote {path}", file=sys.stderr)
    return EXIT_OK


# --- validate ---------------------------------------------------------------------------------


def _add_paths_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "-f",
        "--filename",
        dest="paths",
        action="extend",
        nargs="+",
        required=True,
        metavar="PATH",
        help="manifest files or directories (searched for *.yaml, *.yml, *.json); repeatable",
    )


def _print_problems(problems: Sequence[validation.Problem], stream: TextIO) -> None:
    for problem in problems:
        # One line per problem, whatever the input holds: control characters (including the
        # ones str.splitlines() breaks on, such as \x1e) are shown escaped.
        print(_printable(str(problem)), file=stream)


def _printable(text: str) -> str:
    return "".join(
        char if char.isprintable() or char == "\t" else char.encode("unicode_escape").decode()
        for char in text
    )


def _run_validate(args: argparse.Namespace) -> int:
    resources, problems = validation.load_resources(args.paths, checks.check_resource)
    if problems:
        _print_problems(problems, sys.stdout)
        print(f"{len(problems)} problem(s) found", file=sys.stderr)
        return EXIT_INVALID
    if not resources:
        print(f"no manifests found in {' '.join(args.paths)}")
        return EXIT_INVALID
    kinds = Counter(resource.kind for _, resource in resources)
    files = {document.source for document, _ in resources}
    summary = ", ".join(f"{count} {kind}" for kind, count in sorted(kinds.items()))
    print(f"{len(resources)} manifest(s) in {len(files)} file(s) are valid: {summary}")
    return EXIT_OK


# --- generate ---------------------------------------------------------------------------------


def _label(text: str) -> tuple[str, str]:
    name, sep, value = text.partition("=")
    if not sep or not name:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    return name, value


def _add_generate_arguments(parser: argparse.ArgumentParser) -> None:
    _add_paths_argument(parser)
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


# libyaml's emitter writes the same text as PyYAML's, several times faster (10,000 SLOs are
# tens of megabytes of rules; docs/benchmarks.md, `generate`); PyYAML without libyaml falls back.
_BaseDumper: type[yaml.SafeDumper] = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


class _OutputDumper(_BaseDumper):  # type: ignore[valid-type,misc]
    """Readable YAML for rules: no anchors, multi-line expressions as literal blocks."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def _represent_text(dumper: yaml.SafeDumper, text: str) -> yaml.ScalarNode:
    return dumper.represent_scalar(
        "tag:yaml.org,2002:str", text, style="|" if "\n" in text else None
    )


_OutputDumper.add_representer(str, _represent_text)


def _dump(document: Any) -> str:
    # Wide lines: PyYAML would otherwise fold long PromQL expressions across lines.
    return yaml.dump(
        document, Dumper=_OutputDumper, sort_keys=False, width=4096, allow_unicode=True
    )


def _run_generate(args: argparse.Namespace) -> int:
    if args.extra_labels and args.format != "prometheusrule":
        print("slo-operator generate: --extra-label needs --format prometheusrule", file=sys.stderr)
        return EXIT_INVALID
    resources, problems = validation.load_resources(args.paths, checks.check_resource)
    slos = [
        (document, resource)
        for document, resource in resources
        if isinstance(resource, slo.ServiceLevelObjective)
    ]
    extra_labels = dict(args.extra_labels) or None
    first_seen: dict[tuple[str, str], validation.Document] = {}
    for document, resource in slos:
        key = (resource.namespace, resource.name)
        if key in first_seen:
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
    if problems:
        # Nothing on stdout: a pipeline into `kubectl apply` must not get half the rules.
        _print_problems(problems, sys.stderr)
        return EXIT_INVALID
    if not slos:
        print(f"no ServiceLevelObjective found in {' '.join(args.paths)}", file=sys.stderr)
        return EXIT_INVALID
    if args.format == "rulefile":
        sys.stdout.write(_dump(render.render_rule_file([resource for _, resource in slos])))
    else:
        rule_objects = [
            render.render_prometheus_rule(resource, extra_labels) for _, resource in slos
        ]
        sys.stdout.write("---\n".join(_dump(rule_object) for rule_object in rule_objects))
    skipped = len(resources) - len(slos)
    if skipped:
        print(f"skipped {skipped} ServiceLevelAgreement(s): SLAs have no rules", file=sys.stderr)
    return EXIT_OK


# --- convert ----------------------------------------------------------------------------------


def _add_convert_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--from",
        dest="source_format",
        choices=("openslo",),
        required=True,
        help="format of the input: OpenSLO v1 (SLO, SLI, AlertPolicy, AlertCondition, ...)",
    )
    _add_paths_argument(parser)
    parser.add_argument(
        "-o",
        "--output-dir",
        type=pathlib.Path,
        metavar="DIR",
        help="write one <name>.yaml per SLO into DIR instead of printing them",
    )
    parser.add_argument(
        "-n", "--namespace", help="metadata.namespace of the SLOs (default: none, as kubectl)"
    )


def _run_convert(args: argparse.Namespace) -> int:
    from .convert import openslo

    documents: list[validation.Document] = []
    load_problems: list[validation.Problem] = []
    for path in validation.iter_manifest_files(args.paths):
        if not path.exists():
            load_problems.append(validation.Problem(str(path), 0, "", "no such file or directory"))
            continue
        for loaded in validation.load_documents(path):
            if isinstance(loaded, validation.Problem):
                load_problems.append(loaded)
            else:
                documents.append(loaded)
    conversion = openslo.convert_documents(documents, args.namespace)
    _print_problems(load_problems, sys.stderr)
    for finding in conversion.findings:
        print(str(finding).replace("\n", " "), file=sys.stderr)
    manifests = [item.manifest for item in conversion.converted]
    if args.output_dir is None:
        sys.stdout.write("---\n".join(_dump(manifest) for manifest in manifests))
    else:
        args.output_dir.mkdir(parents=True, exist_ok=True)
        for converted in conversion.converted:
            path = args.output_dir / f"{converted.resource.name}.yaml"
            path.write_text(_dump(converted.manifest), encoding="utf-8")
            print(f"wrote {path}", file=sys.stderr)
    total = len(conversion.converted) + len(conversion.not_converted)
    summary = f"converted {len(conversion.converted)} of {total} OpenSLO SLO(s)"
    if conversion.not_converted:
        names = ", ".join(f"{doc.source}:{doc.index}" for doc in conversion.not_converted)
        summary += f"; not converted: {names}"
    print(summary, file=sys.stderr)
    if load_problems or not conversion.complete or total == 0:
        print(
            "not everything could be converted (see the lines above); what converted was written",
            file=sys.stderr,
        )
        return EXIT_INVALID
    return EXIT_OK


# --- dashboards -------------------------------------------------------------------------------


def _add_dashboards_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "-f",
        "--filename",
        dest="paths",
        action="extend",
        nargs="+",
        default=[],
        metavar="PATH",
        help="SLO and SLA manifests whose objectives and windows the dashboards show; optional",
    )
    parser.add_argument(
        "-o",
        "--output-dir",
        type=pathlib.Path,
        metavar="DIR",
        help="write one <uid>.json per dashboard into DIR instead of printing a JSON list",
    )


def _run_dashboards(args: argparse.Namespace) -> int:
    import json

    from .dashboards import grafana

    resources, problems = validation.load_resources(args.paths, checks.check_resource)
    if problems:
        _print_problems(problems, sys.stderr)
        return EXIT_INVALID
    dashboards = grafana.render_dashboards([resource for _, resource in resources])
    if args.output_dir is None:
        print(json.dumps(dashboards, indent=2))
        return EXIT_OK
    args.output_dir.mkdir(parents=True, exist_ok=True)
    for dashboard in dashboards:
        path = args.output_dir / f"{dashboard['uid']}.json"
        path.write_text(json.dumps(dashboard, indent=2) + "\n", encoding="utf-8")
        print(f"wrote {path}", file=sys.stderr)
    return EXIT_OK


# --- run --------------------------------------------------------------------------------------


def _add_run_arguments(parser: argparse.ArgumentParser) -> None:
    from .kube import config as operator_config

    operator_config.add_arguments(parser)


def _run_operator(args: argparse.Namespace) -> int:
    # Imported here: kopf and the Kubernetes client are heavy, and only `run` needs them.
    from .kube import config as operator_config
    from .kube import operator

    try:
        cfg = operator_config.from_arguments(args)
    except (ValueError, argparse.ArgumentTypeError) as error:
        print(f"slo-operator run: {error}", file=sys.stderr)
        return 2
    operator.run(cfg)
    return EXIT_OK


# --- evaluate ---------------------------------------------------------------------------------


def _time(text: str) -> datetime.datetime:
    """`--at`: RFC 3339 (`2026-11-27T10:00:00Z`) or Unix seconds."""
    try:
        moment = (
            datetime.datetime.fromtimestamp(float(text), datetime.UTC)
            if text.replace(".", "", 1).isdigit()
            else datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
        )
    except ValueError as error:
        raise argparse.ArgumentTypeError(
            f"not an RFC 3339 time or Unix seconds: {text!r}"
        ) from error
    if moment.tzinfo is None:
        raise argparse.ArgumentTypeError(f"give a time zone (e.g. Z) in {text!r}")
    return moment


def _add_evaluate_arguments(parser: argparse.ArgumentParser) -> None:
    _add_paths_argument(parser)
    parser.add_argument(
        "--prometheus-url", required=True, help="Prometheus-compatible backend to query"
    )
    parser.add_argument(
        "--at", type=_time, default=None, metavar="TIME", help="evaluate at TIME (default: now)"
    )
    parser.add_argument("-o", "--output", choices=("table", "json"), default="table")


def _run_evaluate(args: argparse.Namespace) -> int:
    import asyncio

    from .evaluation import offline

    resources, problems = validation.load_resources(args.paths, checks.check_resource)
    if problems:
        _print_problems(problems, sys.stderr)
        return EXIT_INVALID
    slos = [
        resource
        for _, resource in resources
        if isinstance(resource, slo.ServiceLevelObjective | sla.ServiceLevelAgreement)
    ]
    if not slos:
        print(f"no SLO or SLA found in {' '.join(args.paths)}", file=sys.stderr)
        return EXIT_INVALID
    at = args.at or datetime.datetime.now(datetime.UTC)
    try:
        found = asyncio.run(offline.evaluate(slos, args.prometheus_url, at))
    except errors.BackendUnavailable as error:
        print(f"slo-operator evaluate: {error}", file=sys.stderr)
        return EXIT_INVALID
    if args.output == "json":
        print(json.dumps([item.to_json() for item in found], indent=2))
        return EXIT_OK
    print(offline.table(found))
    return EXIT_OK


# --- report -----------------------------------------------------------------------------------


def _add_report_arguments(parser: argparse.ArgumentParser) -> None:
    source = parser.add_mutually_exclusive_group()
    source.add_argument(
        "-f",
        "--filename",
        dest="paths",
        action="extend",
        nargs="+",
        default=[],
        metavar="PATH",
        help="manifest files or directories (default: the SLOs and SLAs in the cluster)",
    )
    source.add_argument(
        "-n", "--namespace", help="the cluster's namespace (default: the kubeconfig context's)"
    )
    source.add_argument(
        "-A", "--all-namespaces", action="store_true", help="SLOs and SLAs of every namespace"
    )
    parser.add_argument(
        "--prometheus-url", required=True, help="Prometheus-compatible backend to query"
    )
    parser.add_argument(
        "--period",
        choices=("last-month",),
        help="the previous calendar month in UTC (instead of --from/--to)",
    )
    parser.add_argument(
        "--from",
        dest="start",
        type=_time,
        metavar="TIME",
        help="charts start at TIME (default: each SLO's own window start)",
    )
    parser.add_argument(
        "--to",
        dest="end",
        type=_time,
        metavar="TIME",
        help="evaluate at TIME, as `evaluate --at` (default: now)",
    )
    parser.add_argument("--html", type=pathlib.Path, metavar="FILE", help="write HTML to FILE")
    parser.add_argument(
        "--markdown",
        type=pathlib.Path,
        metavar="FILE",
        help="write Markdown to FILE, its charts as PNG files next to it",
    )


def _report_span(
    args: argparse.Namespace, now: datetime.datetime
) -> tuple[datetime.datetime | None, datetime.datetime]:
    if args.period == "last-month":
        this_month = now.astimezone(datetime.UTC).replace(
            day=1, hour=0, minute=0, second=0, microsecond=0
        )
        last_month = (this_month - datetime.timedelta(days=1)).replace(day=1)
        return last_month, this_month
    end: datetime.datetime = args.end or now
    return args.start, end


def _cluster_resources(
    namespace: str | None, all_namespaces: bool
) -> tuple[str, list[Any], list[validation.Problem]] | None:
    """The cluster's SLOs and SLAs, validated as `-f` files are; None (said why) on failure."""
    import kubernetes

    from .kube import listing

    try:
        if namespace is None and not all_namespaces:
            namespace = listing.current_namespace()
        manifests = listing.list_manifests(namespace)
    except (kubernetes.config.ConfigException, kubernetes.client.ApiException) as error:
        reason = getattr(error, "reason", None) or str(error)
        print(f"slo-operator report: cannot list from the cluster: {reason}", file=sys.stderr)
        return None
    where = "all namespaces" if namespace is None else f"namespace {namespace}"
    found: list[Any] = []
    problems: list[validation.Problem] = []
    for index, manifest in enumerate(manifests, start=1):
        metadata = manifest["metadata"]
        source = f"{manifest['kind']} {metadata['namespace']}/{metadata['name']}"
        checked = checks.check_resource(manifest, source, index)
        if isinstance(checked, list):
            problems.extend(checked)
        else:
            found.append(checked)
    return where, found, problems


def _run_report(args: argparse.Namespace) -> int:
    import asyncio

    from .report import gather, render

    if args.html is None and args.markdown is None:
        print("slo-operator report: give --html FILE and/or --markdown FILE", file=sys.stderr)
        return 2
    if args.period and (args.start or args.end):
        print("slo-operator report: --period excludes --from/--to", file=sys.stderr)
        return 2
    start, end = _report_span(args, datetime.datetime.now(datetime.UTC))
    if start is not None and start >= end:
        print("slo-operator report: --from must be before --to", file=sys.stderr)
        return 2
    if args.paths:
        where = " ".join(args.paths)
        resources, problems = validation.load_resources(args.paths, checks.check_resource)
        found: list[Any] = [resource for _, resource in resources]
    else:
        listed = _cluster_resources(args.namespace, args.all_namespaces)
        if listed is None:
            return EXIT_INVALID
        where, found, problems = listed
    if problems:
        _print_problems(problems, sys.stderr)
        return EXIT_INVALID
    objects = [
        resource
        for resource in found
        if isinstance(resource, slo.ServiceLevelObjective | sla.ServiceLevelAgreement)
    ]
    if not objects:
        print(f"no SLO or SLA found in {where}", file=sys.stderr)
        return EXIT_INVALID
    try:
        data = asyncio.run(gather.gather(objects, args.prometheus_url, end, start))
    except errors.BackendUnavailable as error:
        print(f"slo-operator report: {error}", file=sys.stderr)
        return EXIT_INVALID
    drawn = render.charts(data)
    if args.html is not None:
        args.html.parent.mkdir(parents=True, exist_ok=True)
        args.html.write_text(render.render_html(data, drawn), encoding="utf-8")
        print(f"wrote {args.html}", file=sys.stderr)
    if args.markdown is not None:
        folder: pathlib.Path = args.markdown.parent
        folder.mkdir(parents=True, exist_ok=True)
        args.markdown.write_text(render.render_markdown(data, drawn), encoding="utf-8")
        for name, png in drawn.items():
            (folder / name).write_bytes(png)
        print(f"wrote {args.markdown} and {len(drawn)} chart(s) next to it", file=sys.stderr)
    return EXIT_OK


# --- entry point ------------------------------------------------------------------------------

VERBS: tuple[Verb, ...] = (
    Verb(
        "run", "run the operator (kopf) in the current cluster", _add_run_arguments, _run_operator
    ),
    Verb("crds", "print the CustomResourceDefinitions", _add_crds_arguments, _run_crds),
    Verb(
        "convert",
        "turn OpenSLO v1 documents into ServiceLevelObjective manifests",
        _add_convert_arguments,
        _run_convert,
    ),
    Verb(
        "dashboards",
        "Grafana dashboards for SLOs and SLAs, from the recorded series",
        _add_dashboards_arguments,
        _run_dashboards,
    ),
    Verb(
        "validate",
        "check SLO and SLA manifests with the same rules as the cluster",
        _add_paths_argument,
        _run_validate,
    ),
    Verb(
        "generate",
        "Prometheus rules for SLO manifests, offline",
        _add_generate_arguments,
        _run_generate,
    ),
    Verb(
        "evaluate",
        "SLIs and error budgets of SLO manifests from a Prometheus, without a cluster",
        _add_evaluate_arguments,
        _run_evaluate,
    ),
    Verb(
        "report",
        "HTML and Markdown report of SLOs and SLAs with budget and burn-rate charts",
        _add_report_arguments,
        _run_report,
    ),
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
    run: Callable[[argparse.Namespace], int] = args.run
    try:
        return run(args)
    except BrokenPipeError:
        # `slo-operator generate ... | head`: the reader left; that is not an error of ours.
        sys.stderr.close()
        return EXIT_OK
    except KeyboardInterrupt:
        return 130
