"""Loading example SLOs and printing rules as readable YAML, for the rule tests of every tier."""

from __future__ import annotations

from typing import Any

import yaml

from slo_operator.api import slo

from . import paths


class _Dumper(yaml.SafeDumper):
    """No anchors; multi-line expressions as literal blocks, so diffs read like PromQL."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def _represent_text(dumper: yaml.SafeDumper, text: str) -> yaml.ScalarNode:
    style = "|" if "\n" in text else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", text, style=style)


_Dumper.add_representer(str, _represent_text)


def dump(document: Any) -> str:
    return yaml.dump(document, Dumper=_Dumper, sort_keys=False, width=4096, allow_unicode=True)


def example_slos() -> dict[str, list[slo.ServiceLevelObjective]]:
    """The SLOs of every example file, by file stem (files without SLOs are left out)."""
    found: dict[str, list[slo.ServiceLevelObjective]] = {}
    for path in sorted(paths.EXAMPLES.glob("*.yaml")):
        for document in yaml.safe_load_all(path.read_text()):
            if isinstance(document, dict) and document.get("kind") == "ServiceLevelObjective":
                resource = slo.ServiceLevelObjective.model_validate(document)
                found.setdefault(path.stem, []).append(resource)
    return found


def slo_from(document: dict[str, Any]) -> slo.ServiceLevelObjective:
    return slo.ServiceLevelObjective.model_validate(document)
