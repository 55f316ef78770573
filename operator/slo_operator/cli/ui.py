"""`slo-operator ui`: the read-only web UI of the cluster's SLOs and SLAs, from the kubeconfig."""

from __future__ import annotations

import argparse

from . import common


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from ..ui import standalone

    standalone.add_arguments(parser)


def run(args: argparse.Namespace) -> int:
    # Imported here: the Kubernetes client and aiohttp are heavy, and only this verb needs them.
    from ..ui import standalone

    return standalone.run(args)


VERB = common.Verb(
    "ui",
    "serve the read-only web UI of the cluster's SLOs and SLAs (current kubeconfig)",
    add_arguments,
    run,
)
