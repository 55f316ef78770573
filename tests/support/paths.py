"""Where things are in the repository, for tests of every tier."""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
"""The checkout's top folder."""
EXAMPLES = REPO / "examples"
"""The example SLO and SLA manifests the README and the docs show."""
CRDS = REPO / "crds"
"""The generated CustomResourceDefinitions (`make crds`)."""
CHART = REPO / "charts" / "slo-operator"
"""The Helm chart."""
