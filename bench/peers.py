"""The peers, as installed by ``bench/install-peers.sh``, and how to ask each for its rules."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import yaml

from . import pyrra, specs

BENCH_DIR = Path(__file__).resolve().parent


def cache_dir() -> Path:
    if override := os.environ.get("SLO_OPERATOR_CACHE"):
        return Path(override) / "peers"
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "slo-operator/peers"


@dataclasses.dataclass(frozen=True)
class Peer:
    name: str
    status: str
    """``built``, ``installed``, ``reproduced`` or ``missing``."""
    detail: str


def install() -> dict[str, Peer]:
    """Run the idempotent install script; one :class:`Peer` per line it prints."""
    done = subprocess.run(
        ["bash", str(BENCH_DIR / "install-peers.sh")],
        capture_output=True,
        text=True,
        check=True,
    )
    peers = {}
    for line in done.stdout.splitlines():
        name, status, *rest = line.split(" ", 2)
        peers[name] = Peer(name, status, rest[0] if rest else "")
    return peers


def sloth_binary() -> Path:
    return cache_dir() / "bin/sloth"


def sloth_version() -> str:
    path = cache_dir() / "bin/.sloth-version"
    return path.read_text().strip() if path.is_file() else "?"


def slo_generator_bin() -> Path:
    return cache_dir() / "slo-generator/bin"


def sloth_generate(spec: dict[str, Any]) -> dict[str, Any]:
    """``sloth generate`` on one spec: its rule file."""
    with tempfile.TemporaryDirectory(prefix="sloth-") as folder:
        source = Path(folder) / "slos.yaml"
        source.write_text(yaml.safe_dump(spec, sort_keys=False))
        done = subprocess.run(
            [str(sloth_binary()), "generate", "--no-log", "-i", str(source)],
            capture_output=True,
            text=True,
            check=True,
        )
    document: dict[str, Any] = yaml.safe_load(done.stdout)
    return document


def sloth_rules(items: list[specs.BenchSlo]) -> dict[str, Any]:
    """Sloth's rule file for the SLOs: one spec per service, groups concatenated."""
    services: dict[str, list[specs.BenchSlo]] = {}
    for item in items:
        services.setdefault(item.job, []).append(item)
    groups: list[Any] = []
    for service, members in services.items():
        groups += sloth_generate(specs.sloth_spec(service, members))["groups"]
    return {"groups": groups}


def pyrra_rules(items: list[specs.BenchSlo]) -> dict[str, Any]:
    """Pyrra's rule shapes (reproduced, see :mod:`bench.pyrra`) for the SLOs."""
    groups: list[Any] = []
    for item in items:
        groups += pyrra.rules(specs.pyrra_slo(item))["groups"]
    return {"groups": groups}
