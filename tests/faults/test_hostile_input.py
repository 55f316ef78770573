"""Hostile manifests for `validate` and `convert`: a clear error naming the place, never a
traceback, never a hang, bounded memory.

A YAML alias bomb (9 levels of 9 references: 387 million strings if expanded), 100,000 levels
of nesting, and a 10 MB description. Each is read by the same reader the admission webhook's
models use (`validate`), and by the OpenSLO import (`convert`).
"""

from __future__ import annotations

import re
import resource
import time
from pathlib import Path

import pytest

from slo_operator import cli

pytestmark = pytest.mark.timeout(120)

SECONDS = 10.0
"""The admission webhook's timeout: no document may take longer to refuse."""


def _alias_bomb() -> str:
    lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for level in range(1, 10):
        references = ",".join([f"*a{level - 1}"] * 9)
        lines.append(f"a{level}: &a{level} [{references}]")
    lines.append("apiVersion: slo.dev/v1alpha1\nkind: ServiceLevelObjective")
    lines.append("metadata: {name: bomb, namespace: shop}\nspec: {service: *a9}")
    return "\n".join(lines) + "\n"


def _deep() -> str:
    return "spec: " + "[" * 100_000 + "]" * 100_000 + "\n"


def _huge() -> str:
    return (
        "apiVersion: slo.dev/v1alpha1\nkind: ServiceLevelObjective\n"
        "metadata: {name: huge, namespace: shop}\n"
        f"spec: {{service: checkout, description: {'x' * 10_000_000}}}\n"
    )


HOSTILE = {
    "alias-bomb": (_alias_bomb, "more than 100000 values"),
    "deep-nesting": (_deep, "nesting depth"),
    "10MB": (_huge, "spec.description"),
}


@pytest.mark.parametrize("verb", ["validate", "convert"])
@pytest.mark.parametrize("case", list(HOSTILE))
def test_a_hostile_document_is_refused_quickly_by_name(
    case: str, verb: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    make, expected = HOSTILE[case]
    path = tmp_path / f"{case}.yaml"
    path.write_text(make())
    arguments = ["-f", str(path)]
    if verb == "convert":
        arguments = ["--from", "openslo", *arguments]
    began = time.monotonic()
    code = cli.main([verb, *arguments])
    took = time.monotonic() - began
    out, err = capsys.readouterr()
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{verb} {case}: exit {code} in {took:.2f}s, peak RSS {peak_mb:.0f} MB")
    assert code == 1
    assert took < SECONDS
    said = out + err
    assert "Traceback" not in said
    # Located by line and column in the file (document 1 where YAML gives no position).
    assert re.search(rf"{re.escape(str(path))}:\d+:(\d+:)? ", said), said
    if verb == "validate":
        assert expected in said, said
    else:  # convert refuses these by their apiVersion (or the YAML reader) before anything else
        assert "apiVersion" in said or expected in said, said
    assert peak_mb < 1024
