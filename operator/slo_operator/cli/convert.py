"""`slo-operator convert --from openslo`: OpenSLO v1 documents into SLO manifests."""

from __future__ import annotations

import argparse
import pathlib
import sys

from ..api import validation
from . import common


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--from",
        dest="source_format",
        choices=("openslo",),
        required=True,
        help="format of the input: OpenSLO v1 (SLO, SLI, AlertPolicy, AlertCondition, ...)",
    )
    common.add_paths_argument(parser)
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


def _load_documents(
    paths: list[str],
) -> tuple[list[validation.Document], list[validation.Problem]]:
    documents: list[validation.Document] = []
    problems: list[validation.Problem] = []
    for path in validation.iter_manifest_files(paths):
        if not path.exists():
            problems.append(validation.Problem(str(path), 0, "", "no such file or directory"))
            continue
        for loaded in validation.load_documents(path):
            if isinstance(loaded, validation.Problem):
                problems.append(loaded)
            else:
                documents.append(loaded)
    return documents, problems


def _slo_name(document: validation.Document) -> str:
    from ..convert import openslo

    return validation.object_name(document.body, openslo.KINDS) or "SLO"


def run(args: argparse.Namespace) -> int:
    from ..convert import openslo

    documents, load_problems = _load_documents(args.paths)
    conversion = openslo.convert_documents(documents, args.namespace)
    common.print_problems(load_problems, sys.stderr)
    for finding in openslo.locate(conversion.findings, documents):
        print(str(finding).replace("\n", " "), file=sys.stderr)
    manifests = [item.manifest for item in conversion.converted]
    if args.output_dir is None:
        sys.stdout.write("---\n".join(common.dump(manifest) for manifest in manifests))
    else:
        args.output_dir.mkdir(parents=True, exist_ok=True)
        for converted in conversion.converted:
            path = args.output_dir / f"{converted.resource.name}.yaml"
            path.write_text(common.dump(converted.manifest), encoding="utf-8")
            print(f"wrote {path}", file=sys.stderr)
    total = len(conversion.converted) + len(conversion.not_converted)
    summary = f"converted {len(conversion.converted)} of {total} OpenSLO SLO(s)"
    if conversion.not_converted:
        names = ", ".join(
            f"{_slo_name(doc)} ({openslo.document_place(doc)})" for doc in conversion.not_converted
        )
        summary += f"; not converted: {names}"
    print(summary, file=sys.stderr)
    if load_problems or not conversion.complete or total == 0:
        print(
            "not everything could be converted (see the lines above); what converted was written",
            file=sys.stderr,
        )
        return common.EXIT_INVALID
    return common.EXIT_OK


VERB = common.Verb(
    "convert",
    "turn OpenSLO v1 documents into ServiceLevelObjective manifests",
    add_arguments,
    run,
)
