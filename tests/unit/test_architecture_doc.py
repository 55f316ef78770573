"""docs/architecture.md stays true to the code: everything it names exists.

The page names modules, classes and functions of the package as dotted paths below
`slo_operator` (`evaluation.loop.EvaluationLoop.run_cycle`) and files as paths below it
(`kube/settings.py`); a rename that forgets the page fails here.
"""

from __future__ import annotations

import importlib
import re

import pytest

from support import paths

PAGE = paths.REPO / "docs" / "architecture.md"
PACKAGE = paths.REPO / "operator" / "slo_operator"
LAYERS = "api|rules|budget|backends|evaluation|kube|ui|report|convert|dashboards|cli"


def dotted_names() -> list[str]:
    text = PAGE.read_text(encoding="utf-8")
    found = re.findall(rf"\b(?:{LAYERS})\.[a-z_]+(?:\.[A-Za-z_]+)*", text)
    return sorted(set(found))


def resolves(name: str) -> bool:
    """Whether `slo_operator.<name>` is a module, or an attribute path of the longest module
    prefix of it."""
    parts = name.split(".")
    for split in range(len(parts), 0, -1):
        try:
            target: object = importlib.import_module("slo_operator." + ".".join(parts[:split]))
        except ModuleNotFoundError:
            continue
        for attribute in parts[split:]:
            if not hasattr(target, attribute):
                return False
            target = getattr(target, attribute)
        return True
    return False


def test_the_page_names_code() -> None:
    names = dotted_names()
    assert len(names) >= 15, names  # the data flow names each step


@pytest.mark.parametrize("name", dotted_names())
def test_every_named_module_class_and_function_exists(name: str) -> None:
    assert resolves(name), f"docs/architecture.md names {name}, which the package does not have"


def test_every_named_file_exists() -> None:
    text = PAGE.read_text(encoding="utf-8")
    files = set(re.findall(rf"\b((?:{LAYERS})/[a-z_]+\.py)\b", text))
    assert files
    missing = sorted(path for path in files if not (PACKAGE / path).is_file())
    assert not missing, f"docs/architecture.md names files that do not exist: {missing}"
