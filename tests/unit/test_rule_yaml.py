"""The direct rule-document writer writes exactly what PyYAML writes, for any tree of rule-like
values: the generated files stay the same while `generate` no longer spends its time in PyYAML."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from slo_operator.api import slo, validation
from slo_operator.rules import checks, model, render, rule_yaml
from support import paths


class _PyYamlDumper(getattr(yaml, "CSafeDumper", yaml.SafeDumper)):  # type: ignore[misc]
    def ignore_aliases(self, data: Any) -> bool:
        return True


_PyYamlDumper.add_representer(
    str,
    lambda dumper, text: dumper.represent_scalar(
        "tag:yaml.org,2002:str", text, style="|" if "\n" in text else None
    ),
)


def pyyaml(document: Any) -> str:
    """The oracle: PyYAML's emitter (libyaml's where PyYAML has it, as the CLI used before)
    with the options `generate` always used."""
    return str(
        yaml.dump(document, Dumper=_PyYamlDumper, sort_keys=False, width=4096, allow_unicode=True)
    )


# Text that exercises PyYAML's quoting: indicators, `: ` and ` #`, words that resolve to
# booleans, numbers, nulls or dates, leading and trailing spaces, line breaks, unicode.
TRICKY_WORDS = (
    *("yes", "No", "on", "null", "~", "1", "-1", "0x1f", "1e3", ".5", "1_000", "2026-01-01"),
    *("- a", "? x", ": y", "a: b", "a #b", "#c", "&x", "*y", "!t", "|", ">", "'q'", '"d"'),
    *("%p", "@a", "`b`", "{a}", "[b]", "a,b", " lead", "trail ", "x\ny", "x\n", "\ttab"),
    *("ü", "✓", "\x85", "\u2028", "a:b", "=", "<<", "", "<", "...x", "---", "-", "?"),
    *(".inf", "+1", "=x", "~x", "\\", ";", "$x", "a ? b", "a, b", "[x] y", "x]"),
)
tricky_words = st.sampled_from(TRICKY_WORDS)
texts = st.one_of(
    tricky_words, st.text(max_size=40), st.text(alphabet="ab :#-\n'\"{}", max_size=12)
)
scalars = st.one_of(texts, st.integers(), st.floats(allow_nan=False), st.booleans(), st.none())
keys = st.one_of(texts, st.text(min_size=120, max_size=140, alphabet="k"))
trees = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(keys, children, max_size=4)
    ),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(keys, trees, max_size=5))
def test_any_rule_like_document_is_written_as_pyyaml_writes_it(document: dict[str, Any]) -> None:
    written = rule_yaml.dump(document)
    assert written == pyyaml(document)
    assert yaml.safe_load(written) == (document or {})


@pytest.mark.parametrize("word", TRICKY_WORDS)
def test_each_tricky_word_as_key_and_as_value_is_written_as_pyyaml_writes_it(word: str) -> None:
    for document in ({word: word}, {"k": [word, {word: [word]}]}, {"k": {"n": word}}):
        assert rule_yaml.dump(document) == pyyaml(document)


def test_equal_numbers_of_other_types_keep_their_own_text() -> None:
    # 1 == 1.0 == True in Python: a cache keyed by value alone wrote the second as the first.
    document = {"a": 1, "b": True, "c": 1.0, "d": 0, "e": False, "f": 0.0}
    assert rule_yaml.dump(document) == pyyaml(document)
    assert rule_yaml.dump(document) == "a: 1\nb: true\nc: 1.0\nd: 0\ne: false\nf: 0.0\n"


def test_a_very_long_expression_is_folded_as_pyyaml_folds_it() -> None:
    document = {"expr": " or ".join(f'up{{job="j{index}"}}' for index in range(400))}
    assert rule_yaml.dump(document) == pyyaml(document)


def test_the_examples_rules_are_written_as_before(tmp_path: Path) -> None:
    resources, problems = validation.load_resources([str(paths.EXAMPLES)], checks.check_resource)
    assert not problems
    slos = [r for _, r in resources if isinstance(r, slo.ServiceLevelObjective)]
    assert slos
    rule_file = render.render_rule_file(slos)
    assert rule_yaml.dump(rule_file) == pyyaml(rule_file)
    for resource in slos:
        rule_object = render.render_prometheus_rule(resource, {"team": "sre: core"})
        assert rule_yaml.dump(rule_object) == pyyaml(rule_object)


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet="ab :#'\n-", max_size=30), st.integers(min_value=0, max_value=3))
def test_quoted_lines_and_literal_blocks_are_written_as_pyyaml_writes_them(
    text: str, depth: int
) -> None:
    # Alert descriptions (`: ` inside) and multi-line PromQL, at several indentations, in
    # mappings and in lists.
    document: dict[str, Any] = {"k": text, "l": [text, {"m": text}]}
    for _ in range(depth):
        document = {"n": document, "o": [document]}
    assert rule_yaml.dump(document) == pyyaml(document)


@pytest.mark.parametrize("length", range(4085, 4096))
def test_a_quoted_line_at_the_width_is_written_as_pyyaml_writes_it(length: int) -> None:
    for text in ("x: " + "y" * length, "x: 'y" + "y" * length):
        document = {"annotations": {"description": text}}
        assert rule_yaml.dump(document) == pyyaml(document)


label_maps = st.dictionaries(texts, texts, max_size=3)
recording_rules = st.builds(
    model.RecordingRule, record=texts, expr=texts, labels=label_maps, depth=st.just(0)
)
alerting_rules = st.builds(
    model.AlertingRule,
    alert=texts,
    expr=texts,
    for_=st.one_of(st.none(), texts),
    labels=label_maps,
    annotations=label_maps,
)
rule_groups = st.builds(
    model.RuleGroup,
    name=texts,
    interval=texts,
    rules=st.lists(st.one_of(recording_rules, alerting_rules), max_size=3).map(tuple),
)


@given(st.lists(rule_groups, min_size=1, max_size=3))
@settings(max_examples=400, deadline=None)
def test_rule_groups_are_written_from_the_models_as_from_their_dicts(
    groups: list[model.RuleGroup],
) -> None:
    # `generate` writes each SLO's groups straight from the rule models; the text (or the
    # hand-over to PyYAML's emitter) must be what the dicts give, and PyYAML reads it back.
    entries = [group.to_dict() for group in groups]
    written = rule_yaml.dump_groups(groups)
    assert written == rule_yaml.dump_entries(entries)
    if written is not None:
        assert "groups:\n" + written == pyyaml({"groups": entries})


@given(st.lists(rule_groups, max_size=3), st.lists(rule_groups, max_size=3))
@settings(max_examples=200, deadline=None)
def test_groups_written_apart_join_into_the_rule_file(
    first: list[model.RuleGroup], second: list[model.RuleGroup]
) -> None:
    # `generate` writes each SLO's groups apart (in one process per core) and joins them.
    if not first + second:
        return
    parts = [rule_yaml.dump_groups(groups) for groups in (first, second)]
    if any(part is None for part in parts):
        return
    whole = rule_yaml.dump({"groups": [group.to_dict() for group in first + second]})
    assert whole == "groups:\n" + "".join(part or "" for part in parts)


def test_the_examples_rule_groups_are_written_from_the_models_as_pyyaml_writes_them() -> None:
    resources, problems = validation.load_resources([str(paths.EXAMPLES)], checks.check_resource)
    assert not problems
    for _, resource in resources:
        if isinstance(resource, slo.ServiceLevelObjective):
            groups = render.render_rule_groups(resource)
            entries = [group.to_dict() for group in groups]
            assert "groups:\n" + (rule_yaml.dump_groups(groups) or "") == pyyaml(
                {"groups": entries}
            )


def test_equal_label_values_of_other_types_keep_their_own_text() -> None:
    # Label lines are remembered by (name, value); 1, 1.0 and True are one dict key.
    for value in (1, True, 1.0, "1"):
        rule = model.RecordingRule(record="r", expr="e", labels={"k": value}, depth=0)  # type: ignore[dict-item]
        groups = [model.RuleGroup(name="g", interval="1m", rules=(rule,))]
        assert rule_yaml.dump_groups(groups) == rule_yaml.dump_entries(
            [group.to_dict() for group in groups]
        )


def _groups_with(field: str, text: str) -> list[model.RuleGroup]:
    """A recording and an alerting rule whose ``field`` is ``text`` (the others short)."""
    names = ("record", "alert", "record expr", "alert expr", "for")
    value = {name: text if name == field else "v" for name in names}
    label = {"k": text} if field == "label" else {"k": "v"}
    note = {"d": text} if field == "annotation" else {"d": "v"}
    rules = (
        model.RecordingRule(
            record=value["record"], expr=value["record expr"], labels=label, depth=0
        ),
        model.AlertingRule(
            alert=value["alert"], expr=value["alert expr"], for_=value["for"], labels=label,
            annotations=note,
        ),
    )  # fmt: skip
    name = text if field == "name" else "g"
    interval = text if field == "interval" else "1m"
    return [model.RuleGroup(name=name, interval=interval, rules=rules)]


@pytest.mark.parametrize(
    "field",
    [
        "name",
        "interval",
        "record",
        "alert",
        "record expr",
        "alert expr",
        "for",
        "label",
        "annotation",
    ],
)
def test_rule_fields_at_the_width_are_written_as_pyyaml_writes_them(field: str) -> None:
    # Where a field's value starts decides whether it still fits PyYAML's width unfolded.
    for length in range(4080, 4096):
        for text in ("y" * length, "x: " + "y" * length, "s y" * (length // 3)):
            groups = _groups_with(field, text)
            entries = [group.to_dict() for group in groups]
            written = rule_yaml.dump_groups(groups)
            assert written == rule_yaml.dump_entries(entries), (length, text[:4])
            if written is not None:
                assert "groups:\n" + written == pyyaml({"groups": entries})
