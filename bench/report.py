"""docs/benchmarks.md from the results of one ``make bench`` run (and its SVG charts)."""

from __future__ import annotations

import datetime
import math
import statistics
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from . import charts, rulesets, sections, specs, summary_rows

OURS = "slo-operator"
TARGET_VS = {"sloth": 5, "pyrra": 20}
"""Our samples per cycle must be at most 1/N of each peer's."""
SLI_TARGET_PP = 0.01
PEER_SECTIONS = ("cost", "alerts", "generate")
"""Cost and accuracy (measured together), alerts, generate: against the peers."""


def all_sections() -> list[str]:
    """Every section `make bench` runs, by its `BENCH_ONLY` name, in page order."""
    return [*PEER_SECTIONS, *(section.name for section in sections.SECTIONS)]


def _utc(timestamp: float) -> str:
    moment = datetime.datetime.fromtimestamp(timestamp, datetime.UTC)
    return moment.strftime("%Y-%m-%d %H:%M:%S")


def _n(value: float) -> str:
    return f"{value:,.0f}"


def _ratio(peer: float, ours: float) -> str:
    if ours <= 0:
        return "n/a"
    return f"1/{peer / ours:,.1f}" if peer >= ours else f"{ours / peer:,.1f}x"


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return lines


def _cost_summary(costs: Sequence[Mapping[str, Any]], tool: str, slo: str) -> dict[str, float]:
    chosen = [c for c in costs if c["tool"] == tool and slo in ("all", c["slo"])]
    return {
        "rules": len(chosen),
        "cycle": sum(c["samples"] for c in chosen),
        "minute": sum(c["samples"] * 60 / c["interval_seconds"] for c in chosen),
        "raw_minute": sum(
            c["samples"] * 60 / c["interval_seconds"]
            for c in chosen
            if any(":" not in name for name in rulesets.reads(c["expr"]))
        ),
        "eval_ms": 1000 * sum(c["eval_seconds"] for c in chosen),
        "eval_ms_minute": 1000
        * sum(c["eval_seconds"] * 60 / c["interval_seconds"] for c in chosen),
        "peak": max((c["peak_samples"] for c in chosen), default=0),
    }


def _tools(results: Mapping[str, Any]) -> list[str]:
    seen: list[str] = []
    for cost in results["costs"]:
        if cost["tool"] not in seen:
            seen.append(cost["tool"])
    return seen


def _peer_rows(results: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Summary rows of the comparison with the peers (cost, accuracy, generate)."""
    rows = []
    costs = results["costs"]
    tools = _tools(results)
    if costs:
        single = _slos(results)[0]
        ours_single = _cost_summary(costs, OURS, single)
        for peer, factor in TARGET_VS.items():
            if peer not in tools:
                what = f"Samples per cycle, one SLO, vs {peer}"
                rows.append(summary_rows.row(what, f"≤ 1/{factor}", "not run", math.nan, False))
                continue
            theirs = _cost_summary(costs, peer, single)
            rows.append(
                summary_rows.row(
                    f"Samples read per minute, one SLO (100 raw series), vs {peer}",
                    f"≤ 1/{factor}",
                    f"{_n(ours_single['minute'])} vs {_n(theirs['minute'])}: "
                    f"**{_ratio(theirs['minute'], ours_single['minute'])}**",
                    factor * ours_single["minute"] / theirs["minute"],
                    theirs["minute"] >= factor * ours_single["minute"],
                )
            )
    ours_errors = [r["error_pp"] for r in results["readings"] if r["tool"] == OURS]
    if ours_errors:
        worst = max(ours_errors)
        rows.append(
            summary_rows.row(
                "30-day SLI error against the exact truth (worst reading)",
                f"≤ {SLI_TARGET_PP} pp",
                f"{worst:.5f} pp",
                worst / SLI_TARGET_PP,
                worst <= SLI_TARGET_PP,
            )
        )
    generate = {row["tool"]: row for row in results["generate"]}
    if OURS in generate and "sloth" in generate:
        ours_time = generate[OURS]["mean_seconds"]
        sloth_time = generate["sloth"]["mean_seconds"]
        rows.append(
            summary_rows.row(
                f"`generate` for {generate[OURS]['slos']:,} SLOs vs `sloth generate`",
                "≤ Sloth's time",
                f"{ours_time:.1f} s vs {sloth_time:.1f} s",
                ours_time / sloth_time,
                ours_time <= sloth_time,
            )
        )
    return rows


def _slos(results: Mapping[str, Any]) -> list[str]:
    measured = {c["slo"] for c in results["costs"]}
    slos = [item.name for item in specs.MULTI if item.name in measured]
    return slos + sorted(measured - set(slos))


def _summary_table(rows: Sequence[Mapping[str, Any]]) -> list[str]:
    cells = []
    for row in rows:
        ratio = row["ratio"]
        cells.append(
            [
                row["measure"],
                row["target"],
                row["result"],
                "—" if math.isnan(ratio) else f"{ratio:.2f}",
                "yes" if row["met"] else "**no**",
            ]
        )
    return _table(["Measure", "Target", "Result", "Result / target", "Met"], cells)


def render(results: Mapping[str, Any], chart_dir: Path, docs_dir: Path) -> str:
    """The whole page from one run's results; a section not run in it says so."""
    tools = _tools(results)
    peers_ = [tool for tool in tools if tool != OURS]
    run = results.get("run") or []
    extra = [s for s in sections.SECTIONS if s.name in (results.get("sections") or {})]
    out: list[str] = [
        "# Benchmarks: slo-operator against Sloth, Pyrra and slo-generator",
        "",
        f"Generated by `make bench` ([bench/run.py](../bench/run.py)) on {results['started']}; "
        "do not edit by hand — change the benchmark and run it again. Every peer was measured "
        "in the same run, on the same data, in the same Prometheus build (2.42; the rule cost "
        "is repeated on Prometheus 3 beside it); numbers are given as "
        "ratios to ours. Raw results: [benchmarks/results.json](benchmarks/results.json).",
        "",
    ]

    # -- summary -------------------------------------------------------------------------
    rows = _peer_rows(results)
    for section in extra:
        rows += section.summary(results["sections"][section.name])
    out += ["## Summary", ""]
    out += _summary_table(rows) if rows else ["Nothing with a target was run."]
    out += ["", "Result / target: below 1 is better than the target (for a bound such as 1/5 of a "
            "peer's samples, ours divided by the bound).", ""]  # fmt: skip
    out += _notes_on_misses(results, rows)
    not_run = [name for name in all_sections() if name not in run]
    if not_run:
        out += [
            "Not run in this run (`BENCH_ONLY`): "
            + ", ".join(f"`{name}`" for name in not_run)
            + "; a full `make bench` measures every section.",
            "",
        ]

    # -- environment ---------------------------------------------------------------------
    out += ["## Machine, versions, reproduction", ""]
    out += _table(["", ""], [[key, f"`{value}`"] for key, value in results["environment"].items()])
    out += [
        "",
        f"Reproduce with **`make bench`** ({results['environment'].get('wall time', '?')} "
        "on this machine, peers already installed; the raw data "
        "blocks are cached in `~/.cache/slo-operator/synthetic-tsdb`, the peers in "
        "`~/.cache/slo-operator/peers`). It runs `bench/install-peers.sh` (idempotent), all "
        "benchmarks, and rewrites this page and `docs/benchmarks/` from that run alone; "
        "`BENCH_ONLY=generate,ui make bench` runs some sections (the page then shows only "
        "those). "
        "`python -m bench --help` lists options; `--keep` keeps the per-tool TSDBs.",
        "",
        "Sample counts are Prometheus' own `totalQueryableSamples` and do not depend on the "
        "machine. Times do, and this machine was shared with other work during the run "
        "(load average above); read them as relative.",
        "",
        "### Peers",
        "",
    ]
    peer_rows = []
    for name, peer in results["peers"].items():
        peer_rows.append(
            [name, peer["status"], f"`{peer['detail'].replace(str(Path.home()), '~')}`"]
        )
    out += _table(["Peer", "How", "Detail"], peer_rows)
    out += [
        "",
        "- **Sloth** v0.16.0 is built from its Go module by `bench/install-peers.sh`; its rules "
        "come from `sloth generate` on Sloth `prometheus/v1` specs written by "
        "[bench/specs.py](../bench/specs.py) (default 30d period and alert windows).",
        _pyrra_note(results["peers"].get("pyrra", {})),
        "- **slo-generator** 2.x from PyPI, in its own virtualenv (with `setuptools<70`), "
        "computes the SLI with its Prometheus backend (`good_bad_ratio`, "
        "`sum(increase(...[2592000s]))`). Its backend drops the timestamp it is given and "
        "queries \"now\"; the benchmark's client pins each query to the benchmark's instant "
        "([bench/slo_generator_sli.py](../bench/slo_generator_sli.py)). It records no rules, "
        "so it has no cost and no alerts here.",
        "",
    ]

    if results["costs"]:
        slos = _slos(results)
        out += _data_section(results)
        out += _cost_section(results, tools, peers_, slos, chart_dir, docs_dir)
        out += _accuracy_section(results, chart_dir, docs_dir)
    else:
        out += ["## 1. Prometheus cost and 2. SLI accuracy", "", "Not run in this run.", ""]
    out += _generate_section(results, chart_dir, docs_dir)
    if "alerts" in run or results["alerts"]:
        out += _alerts_section(results)
    for section in extra:
        out += [section.render(results["sections"][section.name]).rstrip("\n"), ""]
    out += [
        "## Not measured here",
        "",
        *(
            [
                "- Pyrra's numbers come from its reproduced rule shapes, not from its binary "
                "(no `PYRRA_SRC` was given; see Peers)."
            ]
            if results["peers"].get("pyrra", {}).get("status") != "built"
            else []
        ),
        "- Rule-group evaluation time is timed query evaluation of each rule expression at the "
        "benchmark's instant (Prometheus' `evalTotalTime`, median of repeats, summed over the "
        "rules): the backfilled data lies in the past, where a live rule manager does not "
        "evaluate.",
        "",
    ]
    return "\n".join(out)


def _data_section(results: Mapping[str, Any]) -> list[str]:
    """The synthetic scenario and the SLOs every tool's rules were written for."""
    out: list[str] = []
    # -- data ----------------------------------------------------------------------------
    scenario = results["scenario"]
    out += [
        "## Data",
        "",
        f"Synthetic and deterministic ([bench/data.py](../bench/data.py), generated by "
        f"`testkit.synthetic`): {scenario['days']} days ending "
        f"{_utc(scenario['end'])} UTC, one sample per {scenario['interval_seconds']} s, "
        f"{scenario['series']} series: services "
        + ", ".join(
            f"`{s['job']}` ({s['peak_requests_per_second']:g} req/s at peak, "
            f"{100 * s['error_ratio']:g}% errors)"
            for s in scenario["services"]
        )
        + f', {scenario["tenants"]} tenants each, so `http_requests_total{{job="checkout"}}` '
        "matches 100 series. Traffic swings 20x between the 15:00 UTC peak and the 03:00 "
        "trough, 70% on weekends. Incidents and counter resets:",
        "",
    ]
    incident_rows = []
    for incident in scenario["incidents"]:
        what = (
            f"{100 * incident['error_ratio']:g}% errors"
            if incident["error_ratio"] is not None
            else f"{100 * incident['degraded_ratio']:g}% of requests slow"
        )
        hours = (incident["end"] - incident["start"]) / 3600
        incident_rows.append([incident["name"], f"{_utc(incident['start'])}", f"{hours:g} h", what])
    for reset in scenario["resets"]:
        incident_rows.append([f"counter reset ({reset['job']})", _utc(reset["at"]), "—", "—"])
    out += _table(["Event", "Start (UTC)", "Duration", "What"], incident_rows)
    out += [
        "",
        "The raw data is backfilled once with `promtool tsdb create-blocks-from openmetrics`. "
        "Each tool then gets its own TSDB (the raw blocks hard-linked in) and its recording "
        "rules backfilled with `promtool tsdb create-blocks-from rules`, level by level (a rule "
        "reading another rule's series runs after it), each rule over the range its readers "
        "need: the 30-day readers need 30 days, a rule read only by alerts needs the last hour "
        "([bench/rulesets.py](../bench/rulesets.py)).",
        "",
        "The SLOs, written for each tool in its own format "
        "([bench/specs.py](../bench/specs.py)), all over a rolling 30 days:",
        "",
    ]
    out += _slo_table(results)
    return out


def _pyrra_note(pyrra: Mapping[str, Any]) -> str:
    """Where the measured Pyrra came from, and how far the reproduction is from its binary."""
    if pyrra.get("status") == "built":
        differences = pyrra.get("reproduction_differences") or []
        return (
            f"- **Pyrra**: {pyrra.get('source', 'built')}. Its Go module is refused by the "
            "module proxy, so `bench/install-peers.sh` builds it from the release's source "
            "archive given as `make bench PYRRA_SRC=...` (dependencies from the module proxy; a "
            "placeholder page for the UI it embeds). Every Pyrra figure here is measured on the "
            "rules of that binary. [bench/pyrra.py](../bench/pyrra.py)'s reproduction, the "
            "fallback without an archive, differs from it in "
            f"{len(differences)} rule(s)"
            + (f" (e.g. {'; '.join(differences[:3])})." if differences else ".")
        )
    return (
        "- **Pyrra**: no source archive was given (`make bench PYRRA_SRC=...`), so its rules "
        "are [bench/pyrra.py](../bench/pyrra.py)'s reproduction of the shapes its controller "
        "test expects, not a Pyrra binary's."
    )


def _notes_on_misses(results: Mapping[str, Any], rows: Sequence[Mapping[str, Any]]) -> list[str]:
    notes = []
    for row in rows:
        if row["met"]:
            continue
        if row["measure"].startswith("`generate`"):
            timings = {row["tool"]: row["mean_seconds"] for row in results["generate"]}
            validate = timings.get("slo-operator validate")
            share = (
                f" `slo-operator validate` alone — reading the manifests and the complete "
                f"check, no rules — takes {validate:.1f} s of it."
                if validate is not None
                else ""
            )
            notes.append(
                "- **`generate` is slower than Sloth's.** Sloth is a compiled Go binary; ours "
                "is Python: it reads and validates every manifest with the pydantic models and "
                "the complete check (the same as the admission webhook), renders the rules "
                f"through the PromQL parser, and writes YAML.{share}"
            )
        else:
            notes.append(f"- **{row['measure']}: target missed** ({row['result']}).")
    return [*notes, ""] if notes else []


def _slo_table(results: Mapping[str, Any]) -> list[str]:
    rows = []
    chosen = {c["slo"] for c in results["costs"]}
    for item in specs.MULTI:
        if item.name not in chosen:
            continue
        if item.kind == "availability":
            what = f"errors `{item.errors}` / total `{item.total}`"
        else:
            threshold = f"{item.threshold_seconds * 1000:g} ms"
            what = f'requests ≤ {threshold} (`le="{item.le}"`) / `{item.total}`'
        rows.append([f"`{item.name}`", item.kind, f"{item.target:g}%", what])
    return [*_table(["SLO", "Kind", "Target", "Events"], rows), ""]


def _cost_section(
    results: Mapping[str, Any],
    tools: Sequence[str],
    peers_: Sequence[str],
    slos: Sequence[str],
    chart_dir: Path,
    docs_dir: Path,
) -> list[str]:
    costs = results["costs"]
    out = [
        "## 1. Prometheus cost per evaluation cycle",
        "",
        f"Every rule expression of each tool evaluated at {_utc(results['at'])} UTC (each "
        "group at its own last evaluation time before it) with `stats=all`; "
        "`totalQueryableSamples` is what each evaluation read from storage. *Per cycle* sums "
        "one evaluation of every rule; *per minute* weighs each rule by its group's interval "
        "(ours and Sloth's groups run every minute, Pyrra's burn rates every 30 s and its "
        "30-day increase every 2m30s). Evaluation time: Prometheus' `evalTotalTime` per rule, "
        "median of repeated evaluations, summed.",
        "",
        f"### One SLO: `{slos[0]}` (selectors match 100 raw series)",
        "",
    ]
    ours = _cost_summary(costs, OURS, slos[0])
    rows = []
    for tool in tools:
        summary = _cost_summary(costs, tool, slos[0])
        rows.append(
            [
                tool,
                str(summary["rules"]),
                _n(summary["cycle"]),
                _n(summary["minute"]),
                _n(summary["raw_minute"]),
                "1" if tool == OURS else _ratio(summary["minute"], ours["minute"]),
                f"{summary['eval_ms']:.1f}",
                f"{summary['eval_ms_minute']:.1f}",
            ]
        )
    header = [
        "Tool",
        "Rules",
        "Samples per cycle",
        "Samples per minute",
        "of them raw (in rules reading raw series)",
        "Ours / theirs (per minute)",
        "Eval ms per cycle",
        "Eval ms per minute",
    ]
    out += _table(header, rows)
    out += ["", f"### {len(slos)} SLOs on two services", ""]
    ours_all = _cost_summary(costs, OURS, "all")
    rows = []
    for tool in tools:
        summary = _cost_summary(costs, tool, "all")
        rows.append(
            [
                tool,
                str(summary["rules"]),
                _n(summary["cycle"]),
                _n(summary["minute"]),
                _n(summary["raw_minute"]),
                "1" if tool == OURS else _ratio(summary["minute"], ours_all["minute"]),
                f"{summary['eval_ms']:.1f}",
                f"{summary['eval_ms_minute']:.1f}",
            ]
        )
    out += _table(header, rows)
    out += ["", "Per SLO, samples per minute (ours / theirs):", ""]
    rows = []
    for slo in slos:
        ours_slo = _cost_summary(costs, OURS, slo)["minute"]
        row = [f"`{slo}`", _n(ours_slo)]
        for peer in peers_:
            theirs = _cost_summary(costs, peer, slo)["minute"]
            row.append(f"{_n(theirs)} ({_ratio(theirs, ours_slo)})")
        rows.append(row)
    out += _table(["SLO", OURS, *peers_], rows)
    out += _engine_cost_table(results, tools, len(slos))
    generator = results.get("slo_generator_samples") or {}
    if generator:
        out += [
            "",
            "slo-generator records no rules; each SLI it computes sends two queries "
            "(`sum(increase(good[2592000s]))`, `sum(increase(valid[2592000s]))`) that read "
            + ", ".join(f"{_n(samples)} samples for `{slo}`" for slo, samples in generator.items())
            + " — on every run (it is typically scheduled every few minutes, per window).",
        ]
    out += ["", "The costliest rules of each tool for the first SLO (samples per minute):", ""]
    rows = []
    for tool in tools:
        chosen = [c for c in costs if c["tool"] == tool and c["slo"] == slos[0]]
        chosen.sort(key=lambda c: -c["samples"] * 60 / c["interval_seconds"])
        for cost in chosen[:3]:
            window = f" ({cost['window']})" if cost.get("window") else ""
            rows.append(
                [
                    tool,
                    f"`{cost['name']}`{window}",
                    _n(cost["samples"] * 60 / cost["interval_seconds"]),
                ]
            )
    out += _table(["Tool", "Rule", "Samples per minute"], rows)
    chart = chart_dir / "cost.svg"
    charts.grouped_bars(
        chart,
        "Samples read per minute by each tool's rules (log scale)",
        "samples per minute",
        [*slos, "all"],
        {
            tool: [_cost_summary(costs, tool, slo)["minute"] for slo in [*slos, "all"]]
            for tool in tools
        },
        log=True,
    )
    out += ["", f"![Samples per minute]({chart.relative_to(docs_dir)})", ""]
    out += [
        "Why: Sloth computes every alert window with `rate()` over the raw series (up to 3 "
        "days of 100 series every minute) and its 30-day SLI as an average over 30 days of "
        "its 5-minute ratio; Pyrra computes every burn-rate window from raw series every 30 "
        "seconds (up to 4d6h51m) and `increase()` over 30 days of raw series. Ours reads the "
        "raw series only in its first level, a few samples per series per minute, into a "
        "couple of series per SLO; every alert window sums those per-minute points, and the "
        "30-day window sums 720 hourly tiles ([docs/rules.md](rules.md)). More raw series "
        "therefore cost us a few samples each per minute, and the peers up to days of "
        "samples each.",
        "",
    ]
    return out


ENGINE_NAMES = {"prometheus2": "Prometheus 2.42", "prometheus3": "Prometheus 3"}


def _engine_cost_table(results: Mapping[str, Any], tools: Sequence[str], slos: int) -> list[str]:
    """The same rules of every tool on each engine that counts samples, as ratios to ours."""
    by_engine = {"prometheus2": results["costs"], **(results.get("engine_costs") or {})}
    if len(by_engine) < 2:
        return []
    out = [
        "",
        "### Per engine: Prometheus 2.42 and Prometheus 3",
        "",
        f"The same rules of every tool for the {slos} SLOs on the same data, each engine with "
        "the blocks and the backfilled rules written by its own promtool, counted by the "
        "engine (`stats=all`, `totalQueryableSamples`). VictoriaMetrics reports no sample "
        "counts (its `stats` holds the series fetched and the execution time); Thanos Query "
        "answers `stats=all` with `totalQueryableSamples` too, but the tools' rules are not "
        "run on a Thanos stack here ([docs/engines.md](engines.md)).",
        "",
    ]
    reference = {tool: _cost_summary(results["costs"], tool, "all") for tool in tools}
    rows = []
    for engine, costs in by_engine.items():
        ours = _cost_summary(costs, OURS, "all")
        for tool in tools:
            summary = _cost_summary(costs, tool, "all")
            if not summary["rules"]:
                continue
            versus = reference[tool]["minute"]
            rows.append(
                [
                    ENGINE_NAMES.get(engine, engine),
                    tool,
                    str(summary["rules"]),
                    _n(summary["cycle"]),
                    _n(summary["minute"]),
                    "1" if tool == OURS else _ratio(summary["minute"], ours["minute"]),
                    "1"
                    if engine == "prometheus2" or not versus
                    else f"{summary['minute'] / versus:.4f}",
                    f"{summary['eval_ms']:.1f}",
                ]
            )
    out += _table(
        [
            "Engine",
            "Tool",
            "Rules",
            "Samples per cycle",
            "Samples per minute",
            "Ours / theirs (per minute)",
            "Samples / on Prometheus 2.42",
            "Eval ms per cycle",
        ],
        rows,
    )
    out += [
        "",
        "Prometheus 3's range selectors are left-open (`(t - r, t]`): a range with a sample "
        "exactly on its left end reads one sample less there than on Prometheus 2.42, so a "
        "rule set with such ranges reads less on Prometheus 3; ours are built so that no "
        "point lies on a range's left end ([docs/rules.md](rules.md)), and their count "
        "barely moves.",
    ]
    return out


def _accuracy_section(results: Mapping[str, Any], chart_dir: Path, docs_dir: Path) -> list[str]:
    readings = results["readings"]
    if not readings:
        return []
    tools = list(dict.fromkeys(r["tool"] for r in readings))
    slos = list(dict.fromkeys(r["slo"] for r in readings))
    times = ", ".join(f"{_utc(t)}" for t in results["sli_times"])
    out = [
        "## 2. Long-window SLI error against the ground truth",
        "",
        f"Each tool's 30-day SLI read the way its dashboards read it, at {times} UTC (different "
        "minutes of the hour, and off the scrape grid), against the exact SLI of the 30 days "
        "ending at that instant computed from the generated events — never from Prometheus. "
        'Readings: ours `1 - slo:sli_error:ratio{slo_window="30d"}`; Sloth '
        "`1 - slo:sli_error:ratio_rate30d`; Pyrra `errors / total` of its "
        "`:increase30d` series; slo-generator its own queries. Error in percentage points "
        "(pp), worst over the instants:",
        "",
    ]
    rows = []
    for slo in slos:
        truth = statistics.mean(r["truth"] for r in readings if r["slo"] == slo)
        row = [f"`{slo}`", f"{100 * truth:.4f}%"]
        for tool in tools:
            errors = [r["error_pp"] for r in readings if r["slo"] == slo and r["tool"] == tool]
            worst = max(errors) if errors and not any(math.isnan(e) for e in errors) else math.nan
            row.append("no value" if math.isnan(worst) else f"{worst:.5f}")
        rows.append(row)
    out += _table(["SLO", "True SLI (mean)", *[f"{tool} (pp)" for tool in tools]], rows)
    chart = chart_dir / "sli-error.svg"
    charts.grouped_bars(
        chart,
        "Worst 30-day SLI error, percentage points (log scale)",
        "pp",
        slos,
        {
            tool: [
                max(
                    max(
                        (r["error_pp"] for r in readings if r["slo"] == slo and r["tool"] == tool),
                        default=0.0,
                    ),
                    1e-7,
                )
                for slo in slos
            ]
            for tool in tools
        },
        log=True,
        annotate=False,
        reference=(SLI_TARGET_PP, f"target {SLI_TARGET_PP} pp"),
    )
    out += [
        "",
        f"![SLI error]({chart.relative_to(docs_dir)})",
        "",
        "Why: Sloth's 30-day SLI is the *average of 5-minute error ratios*, so a 5-minute "
        "stretch at the 03:00 trough weighs as much as one at the peak with 20 times the "
        "requests: incidents at the trough are overstated, traffic-weighted truth is not "
        "what it reports. Ours is a ratio of sums (events, not ratios, are added up), so "
        "uneven traffic costs nothing; what is left comes from the full window ending at the "
        "last whole hour ([docs/rules.md](rules.md)). Pyrra and "
        "slo-generator read `increase()` over the raw series for the whole window, which is "
        "exact up to Prometheus' extrapolation at the window's edges — at the cost measured "
        "above (slo-generator pays it on every query).",
        "",
    ]
    return out


def _generate_section(results: Mapping[str, Any], chart_dir: Path, docs_dir: Path) -> list[str]:
    rows_in = results["generate"]
    if not rows_in:
        return ["## 3. Offline `generate` throughput", "", "Not run in this run.", ""]
    first = rows_in[0]
    out = [
        "## 3. Offline `generate` throughput",
        "",
        f"{first['slos']:,} SLOs (1,000 services x 10, availability and latency in turn), one "
        "input file per service, one command writing all rules (ours one rule file, Sloth one "
        "per input file); wall time by hyperfine "
        f"(one warm-up, then {first['runs']} runs). `slo-operator validate` on the same "
        "manifests shows how much of our time is reading and checking them.",
        "",
    ]
    rows = []
    ours = next((row for row in rows_in if row["tool"] == OURS), None)
    for row in rows_in:
        ratio = "" if ours is None else f"{row['mean_seconds'] / ours['mean_seconds']:.2f}"
        written = f"{row['rules']:,}" if row["rules"] else "—"
        rows.append(
            [
                row["tool"],
                f"{row['mean_seconds']:.2f} ± {row['stddev_seconds']:.2f}",
                f"{row['min_seconds']:.2f}",
                f"{row['slos'] / row['mean_seconds']:,.0f}",
                written,
                ratio,
                f"`{row['command']}`",
            ]
        )
    out += _table(
        ["Tool", "Mean s", "Min s", "SLOs per s", "Rules written", "Time / ours", "Command"], rows
    )
    phases = results.get("generate_phases") or {}
    if phases:
        out += [
            "",
            "Where our time goes, the same steps timed once inside one process (CPU time; "
            "`generate` splits large inputs over one process per core): "
            + ", ".join(f"{name} {seconds:.1f} s" for name, seconds in phases.items())
            + ".",
        ]
    out += [""]
    out += _profiles(results.get("generate_profiles") or {})
    return out


def _profiles(profiles: Mapping[str, Any]) -> list[str]:
    """The cProfile tables of `generate` before and after its speed-up, measured in this run."""
    if not profiles:
        return []
    out = [
        "### Profiles, before and after",
        "",
        "cProfile of `generate --format rulefile` over the same 10,000 SLOs in one process "
        "(profiling slows Python calls down, so the totals exceed the wall times above), "
        "measured in this run: *before* is the package at commit "
        f"`{profiles['before']['commit']}` (taken from git by the benchmark, "
        "[bench/generate_speed.py](../bench/generate_speed.py)), *after* this run's. Top "
        "entries by cumulative time:",
        "",
    ]
    for label in ("before", "after"):
        profile = profiles[label]
        out += [f"**{label.capitalize()}** ({profile['total']:.1f} s profiled):", ""]
        out += _table(
            ["Cumulative s", "Own s", "Calls", "Function"],
            [
                [f"{cumulative:.2f}", f"{own:.2f}", f"{calls:,}", f"`{where}`"]
                for cumulative, own, calls, where in profile["rows"]
            ],
        )
        out += [""]
    return out


def _alerts_section(results: Mapping[str, Any]) -> list[str]:
    rows_in = results["alerts"]
    if not rows_in:
        return [
            "## 4. Alert detection time and false alerts",
            "",
            "Not run in this run (`--skip-alerts`).",
            "",
        ]
    from . import alerts

    return alerts.report(rows_in)
