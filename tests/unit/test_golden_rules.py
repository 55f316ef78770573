"""The generated rules of every example, compared with the committed golden files.

After an intended change to rule generation, refresh them with ONE command and review the diff:

    make golden    # = pytest tests/unit/test_golden_rules.py --update-golden
"""

from __future__ import annotations

import pytest

from slo_operator.rules import render
from support import paths, rule_yaml

GOLDEN = paths.REPO / "tests" / "golden"
EXAMPLES = rule_yaml.example_slos()


@pytest.mark.parametrize("stem", sorted(EXAMPLES))
def test_example_rules_match_golden_file(stem: str, update_golden: bool) -> None:
    documents = [render.render_prometheus_rule(resource) for resource in EXAMPLES[stem]]
    text = "---\n".join(rule_yaml.dump(document) for document in documents)
    golden = GOLDEN / f"{stem}.rules.yaml"
    if update_golden:
        golden.write_text(text)
        return
    assert golden.exists(), f"{golden} is missing; run `make golden`"
    assert text == golden.read_text(), (
        f"rules of examples/{stem}.yaml differ from {golden.name}; if intended, run `make golden` "
        "and review the diff"
    )


def test_every_golden_file_has_an_example() -> None:
    stale = {path.name for path in GOLDEN.glob("*.rules.yaml")} - {
        f"{stem}.rules.yaml" for stem in EXAMPLES
    }
    assert not stale, f"golden files without an example: {sorted(stale)}"
