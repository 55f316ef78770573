"""The complete check of a manifest: the API models' rules plus what only rule generation knows.

`slo-operator validate`, `generate`, the admission webhook and the reconcile handler all call
`check_resource`, so the CLI and the cluster can never disagree about what is valid.
"""

from __future__ import annotations

from typing import Any

from .. import errors
from ..api import slo, validation
from . import render


def check_resource(
    body: Any, source: str = "<input>", index: int = 1
) -> validation.Resource | list[validation.Problem]:
    """The typed resource, or every problem found. Never raises on bad input."""
    checked = validation.check_resource(body, source, index)
    if isinstance(checked, list) or not isinstance(checked, slo.ServiceLevelObjective):
        return checked
    try:
        render.check_labels(checked)
    except errors.InvalidSpec as error:
        return [validation.Problem(source, index, error.field, error.reason)]
    return checked


def summary(problems: list[validation.Problem]) -> str:
    """All problems on one line, each naming its field: for admission answers and conditions."""
    return "; ".join(
        f"{problem.field}: {problem.message}" if problem.field else problem.message
        for problem in problems
    )
