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


def pyrra_binary() -> Path | None:
    """``pyrra`` as built by ``install-peers.sh`` from ``PYRRA_SRC``, if it was."""
    path = cache_dir() / "bin/pyrra"
    return path if path.exists() else None


def pyrra_source() -> str:
    """Where the measured Pyrra came from: the archive it was built from, or the reproduction."""
    binary = pyrra_binary()
    if binary is None:
        return "reproduced by bench/pyrra.py (no PYRRA_SRC given)"
    built = binary.resolve()
    source = built.with_name(built.name + ".source")
    name = source.read_text().strip() if source.is_file() else "a source archive"
    return f"built from {name} (`pyrra generate`)"


def pyrra_generate(items: list[specs.BenchSlo], binary: Path) -> dict[str, Any]:
    """``pyrra generate`` on one ServiceLevelObjective file per SLO: its rule files, in order."""
    groups: list[Any] = []
    with tempfile.TemporaryDirectory(prefix="pyrra-") as folder:
        inputs, outputs = Path(folder) / "in", Path(folder) / "out"
        inputs.mkdir()
        outputs.mkdir()
        names = []
        for index, item in enumerate(items):
            name = f"{index:05d}.yaml"
            (inputs / name).write_text(yaml.safe_dump(specs.pyrra_slo(item), sort_keys=False))
            names.append(name)
        subprocess.run(
            [
                str(binary),
                "generate",
                "--log-level=warn",
                f"--config-files={inputs}/*.yaml",
                f"--prometheus-folder={outputs}",
            ],
            capture_output=True,
            text=True,
            check=True,
        )
        for name in names:
            groups += yaml.safe_load((outputs / name).read_text())["groups"]
    return {"groups": groups}


def pyrra_reproduced(items: list[specs.BenchSlo]) -> dict[str, Any]:
    """Pyrra's rule shapes as :mod:`bench.pyrra` reproduces them."""
    groups: list[Any] = []
    for item in items:
        groups += pyrra.rules(specs.pyrra_slo(item))["groups"]
    return {"groups": groups}


def pyrra_rules(items: list[specs.BenchSlo]) -> dict[str, Any]:
    """Pyrra's rules for the SLOs: from its binary when built, else the reproduction."""
    binary = pyrra_binary()
    return pyrra_generate(items, binary) if binary else pyrra_reproduced(items)


def pyrra_reproduction_differences(items: list[specs.BenchSlo]) -> list[str]:
    """Rules where the reproduction differs from the binary's output (empty without a binary):
    how far the fallback used without ``PYRRA_SRC`` is from the real thing."""
    binary = pyrra_binary()
    if binary is None:
        return []
    real, reproduced = pyrra_generate(items, binary), pyrra_reproduced(items)
    differences = []
    for real_group, our_group in zip(real["groups"], reproduced["groups"], strict=False):
        for real_rule, our_rule in zip(real_group["rules"], our_group["rules"], strict=False):
            if real_rule != our_rule:
                name = real_rule.get("record") or real_rule.get("alert")
                differences.append(f"{real_group['name']}: {name}")
    if len(real["groups"]) != len(reproduced["groups"]):
        differences.append(f"{len(real['groups'])} groups vs {len(reproduced['groups'])}")
    return differences
