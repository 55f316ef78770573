"""The condition types and reasons users script against are the ones docs/api.md lists.

`api.conditions` holds every condition type and reason the operator writes, as enums the code
uses instead of strings; the tables of docs/api.md ("Conditions and reasons") must name exactly
those, so a new reason cannot ship undocumented and a documented one cannot silently go.
"""

from __future__ import annotations

import re

from slo_operator.api import conditions
from support import paths


def documented(header: str) -> set[str]:
    """The backticked names in the first column of the docs table whose header starts so."""
    text = (paths.REPO / "docs" / "api.md").read_text(encoding="utf-8")
    section = text.split("## Conditions and reasons", 1)[1].split("\n## ", 1)[0]
    names: set[str] = set()
    in_table = False
    for line in section.splitlines():
        if line.startswith(f"| {header} |"):
            in_table = True
        elif not line.startswith("|"):
            in_table = False
        elif in_table and (found := re.match(r"\| `([A-Za-z]+)` \|", line)):
            names.add(found.group(1))
    return names


def test_every_condition_type_is_documented_and_no_other() -> None:
    assert documented("Condition") == {member.value for member in conditions.ConditionType}


def test_every_reason_is_documented_and_no_other() -> None:
    assert documented("Reason") == {member.value for member in conditions.Reason}
