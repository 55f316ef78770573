"""`slo-operator run`: the operator itself (kopf), configured by flags and environment."""

from __future__ import annotations

import argparse
import sys

from . import common


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from ..kube import settings as operator_settings

    operator_settings.add_arguments(parser)


def run(args: argparse.Namespace) -> int:
    # Imported here: kopf and the Kubernetes client are heavy, and only `run` needs them.
    from ..backends import backend_config
    from ..kube import operator
    from ..kube import settings as operator_settings

    try:
        cfg = operator_settings.from_arguments(args)
        # Refuse a bad backends file before kopf starts (its startup would retry it forever).
        backend_config.load(
            cfg.prometheus_url, cfg.backends_file, allow_insecure=cfg.allow_insecure_backends
        )
    except (ValueError, argparse.ArgumentTypeError) as error:
        print(f"slo-operator run: {error}", file=sys.stderr)
        return 2
    return operator.run(cfg)


VERB = common.Verb("run", "run the operator (kopf) in the current cluster", add_arguments, run)
