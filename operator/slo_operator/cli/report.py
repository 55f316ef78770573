"""`slo-operator report`: an HTML and Markdown report of SLOs and SLAs with charts."""

from __future__ import annotations

import argparse
import datetime
import pathlib
import sys
from typing import Any

from .. import errors
from ..api import sla, slo, validation
from ..rules import checks
from . import common


def add_arguments(parser: argparse.ArgumentParser) -> None:
    source = parser.add_mutually_exclusive_group()
    common.add_paths_argument(
        source,
        required=False,
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
        type=common.parse_time,
        metavar="TIME",
        help="charts start at TIME (default: each SLO's own window start)",
    )
    parser.add_argument(
        "--to",
        dest="end",
        type=common.parse_time,
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


def report_span(
    args: argparse.Namespace, now: datetime.datetime
) -> tuple[datetime.datetime | None, datetime.datetime]:
    """The report's (start, end): `--period last-month`, or `--from`/`--to` (end default: now)."""
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

    from ..kube import listing

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


def _usage_error(args: argparse.Namespace, span: tuple[datetime.datetime | None, Any]) -> str:
    """What is wrong with the combination of flags, or "" when nothing is."""
    if args.html is None and args.markdown is None:
        return "give --html FILE and/or --markdown FILE"
    if args.period and (args.start or args.end):
        return "--period excludes --from/--to"
    start, end = span
    if start is not None and start >= end:
        return "--from must be before --to"
    return ""


def _write(args: argparse.Namespace, data: Any) -> None:
    from ..report import render

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


def run(args: argparse.Namespace) -> int:
    import asyncio

    from ..report import gather

    start, end = span = report_span(args, datetime.datetime.now(datetime.UTC))
    usage_error = _usage_error(args, span)
    if usage_error:
        print(f"slo-operator report: {usage_error}", file=sys.stderr)
        return 2
    if args.paths:
        where = " ".join(args.paths)
        resources, problems = validation.load_resources(args.paths, checks.check_resource)
        found: list[Any] = [resource for _, resource in resources]
    else:
        listed = _cluster_resources(args.namespace, args.all_namespaces)
        if listed is None:
            return common.EXIT_INVALID
        where, found, problems = listed
    # Like `kubectl apply -f DIR`: an invalid manifest is reported with its location and
    # makes the exit code 1, and the report still covers every valid object.
    common.print_problems(problems, sys.stderr)
    objects = [
        resource
        for resource in found
        if isinstance(resource, slo.ServiceLevelObjective | sla.ServiceLevelAgreement)
    ]
    if not objects:
        print(f"no SLO or SLA found in {where}", file=sys.stderr)
        return common.EXIT_INVALID
    try:
        data = asyncio.run(gather.gather(objects, args.prometheus_url, end, start))
    except errors.BackendUnavailable as error:
        print(f"slo-operator report: {error}", file=sys.stderr)
        return common.EXIT_INVALID
    _write(args, data)
    return common.EXIT_INVALID if problems else common.EXIT_OK


VERB = common.Verb(
    "report",
    "HTML and Markdown report of SLOs and SLAs with budget and burn-rate charts",
    add_arguments,
    run,
)
