"""Property-based fuzzing of `validate` and `convert --from openslo` (hypothesis, derandomized).

Promises (docs/reliability.md, "Hostile and malformed input"):

- every refusal is a line `file:line:column: ...field: message` (or `file:document: message`
  where YAML gives no position) naming a field that exists in the document, never a traceback,
  printed as one line whatever control characters the input holds;
- no document takes longer than the admission webhook would wait;
- every accepted SLO's rules pass `promtool check rules` (Debian's promtool), and read no raw
  metric the manifest did not name, each with all of the selector's matchers, and no recorded
  series but their own SLO's;
- `convert` writes only manifests `validate` accepts, reading only the metrics the OpenSLO
  queries named.

The examples are derandomized (the same cases on every run) and bounded so the tier stays fast;
the counts printed here are the ones docs/reliability.md publishes.
"""

from __future__ import annotations

import collections
import io
import json
import pathlib
import re
import tempfile
import time
from typing import Any

import hypothesis
import pytest
import yaml
from hypothesis import strategies

from cases import hostile_strategies
from slo_operator.api import common, validation
from slo_operator.api import slo as slo_api
from slo_operator.cli import common as cli_common
from slo_operator.convert import openslo
from slo_operator.rules import checks, render
from support import promql_reads, promtool

pytestmark = pytest.mark.timeout(600)

SECONDS = 10.0
"""The longest any one document may take to judge: the apiserver's default webhook timeout (the
operator's webhook configuration allows 30)."""

FUZZ = hypothesis.settings(
    derandomize=True,
    database=None,
    deadline=None,
    print_blob=True,
    suppress_health_check=list(hypothesis.HealthCheck),
)
"""Deterministic: CI runs the same examples every time; a failure prints how to reproduce it."""

PROBLEM_LINE = re.compile(r"^(?P<file>[^:]+):(?:\d+:\d+: |\d+:)(?P<rest>.+)$")
"""`file:line:column: ...` from a YAML position, else `file:document:field: message`."""


def _dump(manifest: Any, as_json: bool) -> str:
    if as_json:
        return json.dumps(manifest, ensure_ascii=False)
    return yaml.safe_dump(manifest, allow_unicode=True, sort_keys=False)


def _resolves(document: Any, field: str) -> bool:
    """Whether the field a problem names, or its parent (for a missing field), is in the
    document."""
    parts: list[str | int] = []
    for match in re.finditer(r"([^.\[\]]+)|\[(\d+)\]", field):
        parts.append(int(match.group(2)) if match.group(2) else match.group(1))

    def find(node: Any, path: list[str | int]) -> bool:
        if not path:
            return True
        head, *rest = path
        if isinstance(node, dict) and isinstance(head, str):
            # A label map's key may itself hold dots: the rest of the path is that key.
            if head not in node and ".".join(str(p) for p in path) in node:
                return True
            return head in node and find(node[head], rest)
        if isinstance(node, list) and isinstance(head, int):
            return head < len(node) and find(node[head], rest)
        return False

    return find(document, parts) or find(document, parts[:-1])


def _printed_lines(problems: list[validation.Problem]) -> list[str]:
    """What `slo-operator validate` prints, through a strict UTF-8 stream like stdout."""
    raw = io.BytesIO()
    stream = io.TextIOWrapper(raw, encoding="utf-8", errors="strict")
    cli_common.print_problems(problems, stream)
    stream.flush()
    return raw.getvalue().decode("utf-8").splitlines()


def named_metrics(resource: slo_api.ServiceLevelObjective) -> dict[str, list[common.Selector]]:
    """Raw metrics the manifest names, each with the selectors that name it (a latency
    indicator names a classic histogram: its `_bucket` and `_count` series)."""
    spec = resource.spec.indicator
    named: dict[str, list[common.Selector]] = collections.defaultdict(list)
    texts: list[str] = []
    if spec.ratio is not None:
        texts += [t for t in (spec.ratio.errors, spec.ratio.good, spec.ratio.total) if t]
    for kind in (spec.latency, spec.bool_gauge):
        if kind is not None:
            texts.append(kind.metric)
    for text in texts:
        selector = common.parse_selector(text)
        suffixes = ("_bucket", "_count") if spec.latency is not None else ("",)
        for suffix in suffixes:
            named[selector.metric + suffix].append(selector)
    return named


def assert_reads_only_what_was_named(resource: slo_api.ServiceLevelObjective) -> None:
    groups = render.render_rule_file([resource])["groups"]
    rules = [rule for group in groups for rule in group["rules"]]
    recorded = {rule["record"] for rule in rules if "record" in rule}
    named = named_metrics(resource)
    own = {("slo", "=", resource.name), ("slo_namespace", "=", resource.namespace)}
    for rule in rules:
        for read in promql_reads.reads(rule["expr"]):
            matchers = set(read.matchers)
            if read.metric in named:
                wanted = [
                    {(m.name, m.op, m.value) for m in selector.matchers}
                    for selector in named[read.metric]
                ]
                assert any(want <= matchers for want in wanted), (read, wanted, rule["expr"])
            else:
                assert read.metric in recorded, (read.metric, sorted(named), rule["expr"])
                assert own <= matchers, (read, rule["expr"])


def _promtool_all(resources: list[slo_api.ServiceLevelObjective]) -> None:
    unique = {(item.namespace, item.name): item for item in resources}
    result = promtool.check_rules(render.render_rule_file(list(unique.values())))
    assert result.ok, result.output[-3000:]


def test_validate_judges_hostile_manifests_by_field(capsys: pytest.CaptureFixture[str]) -> None:
    accepted: list[slo_api.ServiceLevelObjective] = []
    outcomes: collections.Counter[str] = collections.Counter()
    slowest = [0.0]
    folder = pathlib.Path(tempfile.mkdtemp(prefix="fuzz-validate-"))

    @hypothesis.settings(FUZZ, max_examples=600)
    @hypothesis.given(manifest=hostile_strategies.HOSTILE_MANIFESTS, as_json=strategies.booleans())
    def judge(manifest: dict[str, Any], as_json: bool) -> None:
        path = folder / ("doc.json" if as_json else "doc.yaml")
        path.write_text(_dump(manifest, as_json), encoding="utf-8")
        began = time.monotonic()
        resources, problems = validation.load_resources([path], checks.check_resource)
        took = time.monotonic() - began
        slowest[0] = max(slowest[0], took)
        assert took < SECONDS
        assert bool(resources) != bool(problems), (resources, problems)
        if problems:
            outcomes["refused"] += 1
            lines = _printed_lines(problems)
            assert len(lines) == len(problems), lines
            for problem, line in zip(problems, lines, strict=True):
                assert PROBLEM_LINE.match(line), line
                assert problem.message
                assert problem.field, problem
                assert _resolves(manifest, problem.field), (problem.field, manifest)
                outcomes[f"field {problem.field.split('[')[0].split('.')[-1]}"] += 1
            return
        outcomes["accepted"] += 1
        ((_, resource),) = resources
        if isinstance(resource, slo_api.ServiceLevelObjective):
            assert_reads_only_what_was_named(resource)
            accepted.append(resource)

    judge()
    _promtool_all(accepted)
    with capsys.disabled():
        print(
            f"\nvalidate: {sum(v for k, v in outcomes.items() if ' ' not in k)} cases, "
            f"{outcomes['accepted']} accepted ({len(accepted)} SLOs, promtool ok), "
            f"{outcomes['refused']} refused, slowest {slowest[0] * 1000:.0f} ms; "
            f"most named fields: {outcomes.most_common(8)}"
        )
    assert accepted, "some hostile SLOs are valid: their rules must have been checked"


def test_convert_writes_only_what_validate_accepts(capsys: pytest.CaptureFixture[str]) -> None:
    written: list[slo_api.ServiceLevelObjective] = []
    counts: collections.Counter[str] = collections.Counter()

    @hypothesis.settings(FUZZ, max_examples=400)
    @hypothesis.given(document=hostile_strategies.hostile_openslo())
    def convert(document: dict[str, Any]) -> None:
        counts["cases"] += 1
        began = time.monotonic()
        conversion = openslo.convert_documents([validation.Document("<fuzz>", 1, document)], "fuzz")
        assert time.monotonic() - began < SECONDS
        for finding in conversion.findings:
            assert finding.message
            printed = cli_common.printable(str(finding))
            printed.encode("utf-8")
            assert "\n" not in printed
            if finding.severity is not openslo.Severity.NOTE:
                assert finding.field, finding
                assert _resolves(document, finding.field), (finding.field, document)
        if conversion.not_converted:
            counts["refused"] += 1
            assert not conversion.converted
            return
        queries = [
            document["spec"]["indicator"]["spec"]["ratioMetric"][part]["metricSource"]["spec"][
                "query"
            ]
            for part in ("good", "total")
        ]
        for converted in conversion.converted:
            counts["converted"] += 1
            checked = checks.check_resource(json.loads(json.dumps(converted.manifest)))
            assert isinstance(checked, slo_api.ServiceLevelObjective), checked
            assert_reads_only_what_was_named(checked)
            mentioned = {read.metric for query in queries for read in promql_reads.reads(query)}
            assert set(named_metrics(checked)) <= mentioned
            written.append(checked)

    convert()
    if written:
        _promtool_all(written)
    with capsys.disabled():
        print(
            f"\nconvert: {counts['cases']} cases, {counts['converted']} converted "
            f"(validate and promtool ok), {counts['refused']} refused"
        )
    assert written, "some hostile OpenSLO documents convert: their rules must have been checked"


@strategies.composite
def structural_documents(draw: strategies.DrawFn) -> tuple[str, str]:
    """(kind, YAML text): an alias bomb, deep nesting, a huge value in some field, or a manifest
    with YAML tags, merge keys and anchors that safe loading must refuse or resolve."""
    kind = draw(strategies.sampled_from(["alias-bomb", "nesting", "huge", "tags"]))
    head = "apiVersion: slo.dev/v1alpha1\nkind: ServiceLevelObjective\n"
    if kind == "alias-bomb":
        width = draw(strategies.integers(min_value=2, max_value=12))
        levels = draw(strategies.integers(min_value=2, max_value=10))
        lines = [f"a0: &a0 [{','.join(['x'] * width)}]"]
        for level in range(1, levels + 1):
            lines.append(f"a{level}: &a{level} [{','.join([f'*a{level - 1}'] * width)}]")
        where = draw(strategies.sampled_from(["service", "labels", "groupBy"]))
        lines.append(f"{head}metadata: {{name: bomb}}\nspec: {{{where}: *a{levels}}}")
        return kind, "\n".join(lines) + "\n"
    if kind == "nesting":
        depth = draw(strategies.sampled_from([65, 200, 1000, 5000, 100_000]))
        opening, closing = draw(strategies.sampled_from([("[", "]"), ("{a: ", "}")]))
        return kind, f"{head}metadata: {{name: deep}}\nspec: {opening * depth}{closing * depth}\n"
    if kind == "huge":
        size = draw(strategies.sampled_from([1025, 70_000, 1_000_000, 10_000_000]))
        value = draw(strategies.sampled_from(["x", "é", "\\u0000"])) * size
        field = draw(
            strategies.sampled_from(
                [
                    "metadata: {name: '%s'}",
                    'metadata: {name: a}\nspec: {description: "%s"}',
                    'metadata: {name: a}\nspec: {labels: {k: "%s"}}',
                    "metadata: {name: a}\nspec: {indicator: {boolGauge: {metric: 'up{a=\"%s\"}'}}}",
                    "metadata: {name: a}\nspec: {calendar: {period: Month, timeZone: '%s'}}",
                ]
            )
        )
        return kind, head + field.replace("%s", value) + "\n"
    tag = draw(
        strategies.sampled_from(
            [
                '!!python/object/apply:os.system ["id"]',
                "!!python/name:os.system",
                "!!binary aGVsbG8=",
                "!!set {a, b}",
                "!!omap [a: 1]",
                "!!timestamp 2026-13-45",
                "!!int 0x_",
                "!custom x",
                "*undefined",
            ]
        )
    )
    return (
        kind,
        f"{head}metadata: {{name: tags}}\nspec:\n  x: &m {{service: a}}\n  <<: *m\n"
        f"  service: {tag}\n",
    )


def test_structurally_hostile_documents_are_refused_in_time(
    capsys: pytest.CaptureFixture[str],
) -> None:
    folder = pathlib.Path(tempfile.mkdtemp(prefix="fuzz-structure-"))
    slowest: dict[str, float] = collections.defaultdict(float)
    counts: collections.Counter[str] = collections.Counter()

    @hypothesis.settings(FUZZ, max_examples=30)
    @hypothesis.given(document=structural_documents())
    def judge(document: tuple[str, str]) -> None:
        kind, text = document
        counts[kind] += 1
        path = folder / "doc.yaml"
        path.write_text(text, encoding="utf-8")
        began = time.monotonic()
        resources, problems = validation.load_resources([path], checks.check_resource)
        loaded = list(validation.load_documents(path))
        conversion = openslo.convert_documents(
            [item for item in loaded if isinstance(item, validation.Document)]
        )
        took = time.monotonic() - began
        slowest[kind] = max(slowest[kind], took)
        assert took < SECONDS, (kind, took)
        assert problems and not resources, kind
        for line in _printed_lines(problems):
            assert PROBLEM_LINE.match(line), line
        for finding in conversion.findings:
            assert finding.message

    judge()
    with capsys.disabled():
        print(
            f"\nstructure: {sum(counts.values())} documents {dict(counts)}, all refused; "
            f"slowest (validate + convert) "
            + ", ".join(f"{kind} {seconds:.2f}s" for kind, seconds in sorted(slowest.items()))
        )
