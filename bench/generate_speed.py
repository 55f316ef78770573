"""Benchmark 3: offline rule generation for 10,000 SLOs, our CLI against ``sloth generate``.

The same SLOs for both: 1,000 services with 10 SLOs each (availability and latency in turn),
one input file per service — a multi-document manifest file for us, a ``prometheus/v1`` spec
for Sloth. Both write one rule file per run. Wall time of the whole command (process start,
parsing, generation, writing), measured by hyperfine (one warm-up run, then ``runs`` runs).
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import yaml

from slo_operator.api import slo, validation
from slo_operator.rules import checks, render, rule_yaml

from . import peers, specs

SERVICES = 1_000
PER_SERVICE = 10
REPO = Path(__file__).resolve().parent.parent


def _items(service: int, per_service: int) -> list[specs.BenchSlo]:
    items = []
    for index in range(per_service):
        job = f"svc-{service:04d}"
        if index % 2:
            item = specs.BenchSlo(f"{job}-latency-{index}", job, "latency", 99.0, 30, 0.5)
        else:
            item = specs.BenchSlo(f"{job}-availability-{index}", job, "availability", 99.9)
        items.append(item)
    return items


def write_inputs(folder: Path, services: int, per_service: int) -> tuple[Path, Path]:
    ours = folder / "ours"
    sloth = folder / "sloth"
    for path in (ours, sloth):
        shutil.rmtree(path, ignore_errors=True)
        path.mkdir(parents=True)
    for service in range(services):
        items = _items(service, per_service)
        manifests = [specs.our_manifest(item) for item in items]
        (ours / f"svc-{service:04d}.yaml").write_text(yaml.safe_dump_all(manifests))
        spec = specs.sloth_spec(items[0].job, items)
        (sloth / f"svc-{service:04d}.yaml").write_text(yaml.safe_dump(spec, sort_keys=False))
    return ours, sloth


@dataclasses.dataclass(frozen=True)
class Timing:
    tool: str
    command: str
    mean_seconds: float
    stddev_seconds: float
    min_seconds: float
    runs: int
    slos: int
    rules: int


def _count_rules(path: Path) -> int:
    count = 0
    files = [path] if path.is_file() else sorted(path.rglob("*.y*ml"))
    for file in files:
        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # 90 MB of rules: libyaml's
        for document in yaml.load_all(file.read_text(), Loader=loader):
            for group in (document or {}).get("groups") or ():
                count += len(group.get("rules") or ())
    return count


def phases(inputs: Path) -> dict[str, float]:
    """Where ``generate``'s CPU time goes, in one process: reading and checking the manifests,
    rendering the rules, writing YAML (with the CLI's rule writer)."""
    began = time.process_time()
    resources, problems = validation.load_resources([str(inputs)], checks.check_resource)
    if problems:
        raise ValueError(f"benchmark manifests are invalid: {problems[:3]}")
    loaded = time.process_time()
    groups = [
        render.render_rule_groups(resource)
        for _, resource in resources
        if isinstance(resource, slo.ServiceLevelObjective)
    ]
    rendered = time.process_time()
    _ = "groups:\n" + "".join(rule_yaml.dump_groups(each) or "" for each in groups)
    written = time.process_time()
    return {
        "read and check manifests": loaded - began,
        "render rules": rendered - loaded,
        "write YAML": written - rendered,
    }


BASELINE = "a87810fd5a8c6272ba5c2a21038f47d42bc2887b"
"""The last commit before `generate` was split over processes and its steps were sped up (the
"before" profile); the rule writer of `rules/rule_yaml.py` had already replaced PyYAML's."""

PROFILE_DRIVER = """
import cProfile, io, pstats, sys
from slo_operator import cli
from slo_operator.cli import generate
if hasattr(generate, "cpus"):
    generate.cpus = lambda: 1  # one process: the whole work in one profile
profile = cProfile.Profile()
stdout, sys.stdout = sys.stdout, io.StringIO()
profile.runcall(cli.main, ["generate", "-f", sys.argv[1], "--format", "rulefile"])
sys.stdout = stdout
stats = pstats.Stats(profile)
rows = []
for (path, line, name), (calls, primitive, own, cumulative, _) in stats.stats.items():
    short = path.split("site-packages/")[-1].split("/operator/")[-1]
    rows.append((cumulative, own, calls, f"{short}:{line}({name})"))
rows.sort(reverse=True)
import json
print(json.dumps({"total": stats.total_tt, "rows": rows[:int(sys.argv[2])]}))
"""


def profile(inputs: Path, operator_dir: Path | None = None, top: int = 25) -> dict[str, Any]:
    """cProfile of `generate --format rulefile` over ``inputs`` in one process: the ``top``
    entries by cumulative time. ``operator_dir``: run that checkout's package instead of ours."""
    env = dict(os.environ)
    if operator_dir is not None:
        env["PYTHONPATH"] = str(operator_dir)
    done = subprocess.run(
        [sys.executable, "-c", PROFILE_DRIVER, str(inputs), str(top)],
        capture_output=True, text=True, check=True, env=env,
    )  # fmt: skip
    measured: dict[str, Any] = json.loads(done.stdout)
    return measured


def profiles(inputs: Path, work_dir: Path) -> dict[str, Any]:
    """The profile before (``BASELINE``'s package, from git) and after (this checkout)."""
    baseline = work_dir / "baseline"
    shutil.rmtree(baseline, ignore_errors=True)
    baseline.mkdir(parents=True)
    archive = subprocess.run(
        ["git", "-C", str(REPO), "archive", BASELINE, "operator"],
        capture_output=True, check=True,
    )  # fmt: skip
    subprocess.run(["tar", "-x", "-C", str(baseline)], input=archive.stdout, check=True)
    return {
        "before": {"commit": BASELINE[:7], **profile(inputs, baseline / "operator")},
        "after": {"commit": "this run's", **profile(inputs)},
    }


def run(
    work_dir: Path, *, services: int = SERVICES, per_service: int = PER_SERVICE, runs: int = 3
) -> list[Timing]:
    write_inputs(work_dir / "inputs", services, per_service)
    ours_out = work_dir / "ours.rules.yaml"
    sloth_out = work_dir / "sloth-out"
    cli = Path(sys.executable).parent / "slo-operator"
    # (tool, command run in work_dir, output whose rules are counted)
    commands = [
        (
            "slo-operator",
            f"{cli} generate -f inputs/ours --format rulefile > ours.rules.yaml",
            ours_out,
        ),
        (
            "sloth",
            f"rm -rf sloth-out && mkdir sloth-out && {peers.sloth_binary()} generate --no-log "
            "-i inputs/sloth -o sloth-out",
            sloth_out,
        ),
        # Where our time goes: reading and checking the manifests, without rules.
        ("slo-operator validate", f"{cli} validate -f inputs/ours > /dev/null", None),
    ]
    timings = []
    for tool, command, output in commands:
        export = work_dir / f"hyperfine-{tool.replace(' ', '-')}.json"
        subprocess.run(
            [
                "hyperfine",
                "--warmup=1",
                f"--runs={runs}",
                "--style=none",
                f"--export-json={export}",
                command,
            ],
            check=True,
            capture_output=True,
            cwd=work_dir,
        )
        result = json.loads(export.read_text())["results"][0]
        shown = command.replace(str(cli), "slo-operator").replace(
            str(peers.sloth_binary()), "sloth"
        )
        timings.append(
            Timing(
                tool,
                shown,
                result["mean"],
                result["stddev"] or 0.0,
                result["min"],
                runs,
                services * per_service,
                _count_rules(output) if output else 0,
            )
        )
    return timings
