"""SVG charts for docs/benchmarks.md (matplotlib, the ``bench`` extra). Deterministic output:
no date in the metadata, fixed hash salt, so an unchanged result rewrites identical files."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

COLORS = {
    "slo-operator": "#2b7a3d",
    "sloth": "#c96b1a",
    "pyrra": "#4166b0",
    "slo-generator": "#8a5fa8",
}


def _pyplot():  # type: ignore[no-untyped-def]
    import matplotlib

    matplotlib.use("Agg")
    matplotlib.rcParams["svg.hashsalt"] = "slo-operator-bench"
    matplotlib.rcParams["font.size"] = 9
    from matplotlib import pyplot

    return pyplot


def grouped_bars(
    path: Path,
    title: str,
    ylabel: str,
    categories: Sequence[str],
    series: Mapping[str, Sequence[float]],
    *,
    log: bool = False,
    annotate: bool = True,
    reference: tuple[float, str] | None = None,
) -> None:
    """One group of bars per category, one bar per tool."""
    pyplot = _pyplot()
    figure, axes = pyplot.subplots(figsize=(7.5, 3.4))
    width = 0.8 / max(len(series), 1)
    for position, (tool, values) in enumerate(series.items()):
        xs = [index + (position - (len(series) - 1) / 2) * width for index in range(len(values))]
        bars = axes.bar(xs, values, width, label=tool, color=COLORS.get(tool))
        if annotate:
            labels = [f"{value:,.0f}" if value >= 100 else f"{value:.3g}" for value in values]
            axes.bar_label(bars, labels=labels, fontsize=7, padding=1)
    axes.set_xticks(range(len(categories)), categories, fontsize=8)
    if reference is not None:
        axes.axhline(reference[0], color="#555555", linestyle="--", linewidth=0.8)
        axes.annotate(
            reference[1], (len(categories) - 0.5, reference[0]), ha="right", va="bottom", fontsize=7
        )
    axes.set_ylabel(ylabel)
    axes.set_title(title)
    if log:
        axes.set_yscale("log")
        smallest = min((v for values in series.values() for v in values if v > 0), default=1.0)
        axes.set_ylim(bottom=smallest / 5)
    axes.legend(frameon=False, fontsize=8)
    axes.spines[["top", "right"]].set_visible(False)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, format=path.suffix.lstrip("."), metadata={"Date": None}, dpi=110)
    pyplot.close(figure)
