"""`slo-operator crds`: the CustomResourceDefinitions, generated from the pydantic models."""

from __future__ import annotations

import argparse
import pathlib
import sys

from ..api import crd
from . import common


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--output-dir",
        type=pathlib.Path,
        metavar="DIR",
        help="write one file per CRD into DIR (e.g. crds/) instead of printing them",
    )


def run(args: argparse.Namespace) -> int:
    documents = [(kind, crd.custom_resource_definition(kind)) for kind in crd.KINDS]
    if args.output_dir is None:
        sys.stdout.write("---\n".join(crd.to_yaml(body) for _, body in documents))
        return common.EXIT_OK
    output_dir: pathlib.Path = args.output_dir
    output_dir.mkdir(parents=True, exist_ok=True)
    for kind, body in documents:
        path = output_dir / kind.file_name
        path.write_text(crd.to_yaml(body), encoding="utf-8")
        print(f"wrote {path}", file=sys.stderr)
    return common.EXIT_OK


VERB = common.Verb("crds", "print the CustomResourceDefinitions", add_arguments, run)
