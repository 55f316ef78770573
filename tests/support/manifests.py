"""The example manifests of `examples/` as plain dicts, fresh on every call (tests edit them)."""

from __future__ import annotations

from typing import Any

import yaml

from . import paths


def example_bodies(kind: str | None = None, namespace: str | None = None) -> list[dict[str, Any]]:
    """Every document of `examples/*.yaml` (of `kind` when given), moved to `namespace` if given."""
    found: list[dict[str, Any]] = []
    for path in sorted(paths.EXAMPLES.glob("*.yaml")):
        for body in yaml.safe_load_all(path.read_text()):
            if not body or (kind is not None and body.get("kind") != kind):
                continue
            if namespace is not None:
                body["metadata"]["namespace"] = namespace
            found.append(body)
    return found
