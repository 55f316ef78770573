"""The kinds this operator serves and their plural resource names: stated once."""

from __future__ import annotations

from typing import Final

SLO_KIND: Final = "ServiceLevelObjective"
SLA_KIND: Final = "ServiceLevelAgreement"
SLO_PLURAL: Final = "servicelevelobjectives"
SLA_PLURAL: Final = "servicelevelagreements"

PLURALS: Final = {SLO_KIND: SLO_PLURAL, SLA_KIND: SLA_PLURAL}
"""Kind -> plural, as the API paths and kopf's resources name them."""


def kind_of_plural(plural: str) -> str:
    """The kind whose plural is `plural`."""
    for kind, known in PLURALS.items():
        if known == plural:
            return kind
    raise ValueError(f"not a plural this operator serves: {plural!r}")
