"""The manifest loader builds exactly what PyYAML's safe loader builds, faster: same values for
every kind of node, same errors, an alias is one shared object (so an alias bomb stays small)."""

from __future__ import annotations

import time
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from slo_operator.api import validation

SAFE: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

CASES = {
    "scalars": "a: 1\nb: [x, 2.5, true, null, 2026-01-01, '3', 0x1f]\nc: {d: e}\n",
    "aliases": "x: &a {k: v}\ny: *a\nz: [*a, *a]\n",
    "merge key": "base: &b {p: 1, q: 2}\nm:\n  <<: *b\n  q: 3\n",
    "value key": "=: v\nk: v\n",
    "recursive": "r: &r [1, *r]\n",
    "explicit tags": "t: !!str 12\nu: !!int '7'\nv: !!binary aGVsbG8=\n",
    "duplicate key": "dup: 1\ndup: 2\n",
    "nested lists": "- 1\n- - 2\n  - {a: [3]}\n",
    "literal block": "key: |\n  text\n  more\n",
    "set and omap": "s: !!set {a, b}\no: !!omap [{a: 1}]\n",
    "documents": "a: 1\n---\n---\nb: [2]\n",
}


def _outcome(text: str, loader: Any) -> str:
    try:
        return repr(list(yaml.load_all(text, Loader=loader)))
    except (yaml.YAMLError, ValueError) as error:
        return f"{type(error).__name__}: {error}"


@pytest.mark.parametrize("text", CASES.values(), ids=CASES.keys())
def test_same_values_as_the_safe_loader(text: str) -> None:
    assert _outcome(text, validation.ManifestLoader) == _outcome(text, SAFE)


@pytest.mark.parametrize("text", ["? [a, b]\n: c\n", "? {a: 1}\n: c\n", "a: !!int x\n", "k: ="])
def test_same_errors_as_the_safe_loader(text: str) -> None:
    outcome = _outcome(text, validation.ManifestLoader)
    assert "Error: " in outcome
    assert outcome == _outcome(text, SAFE)


def test_an_alias_is_the_same_object_and_an_alias_bomb_stays_small() -> None:
    (document,) = yaml.load_all(CASES["aliases"], Loader=validation.ManifestLoader)
    assert document["x"] is document["y"] is document["z"][0]
    lines = ['a0: &a0 ["x", "x", "x", "x", "x", "x", "x", "x", "x"]']
    lines += [f"a{n}: &a{n} [{', '.join([f'*a{n - 1}'] * 9)}]" for n in range(1, 10)]
    began = time.monotonic()
    (bomb,) = yaml.load_all("\n".join(lines) + "\n", Loader=validation.ManifestLoader)
    assert time.monotonic() - began < 5
    assert bomb["a9"][0] is bomb["a8"]
    with pytest.raises(validation.DocumentTooLarge):
        validation.as_wire_json(bomb)


WORDS = (
    *("yes", "No", "ON", "off", "y", "n", "true", "False", "null", "~", "", "1", "-1", "+1"),
    *(".5", "1e3", "0x1f", "0o7", "1_000", "1:30", "2026-01-01", "2026-01-01T00:00:00Z"),
    *(".inf", "-.Inf", ".nan", "<<", "=", "slo", "sum(x)", "svc-0001", "99.9", "5m", "ü"),
)


@given(
    st.lists(
        st.tuples(
            st.one_of(st.sampled_from(WORDS), st.text(alphabet="yYnNoO01.-+~<=sa:_ ", max_size=6)),
            st.one_of(st.sampled_from(WORDS), st.text(alphabet="yYnNoO01.-+~<=sa:_ ", max_size=6)),
        ),
        max_size=6,
    )
)
@settings(max_examples=300, deadline=None)
def test_plain_scalars_resolve_to_the_safe_loaders_types(pairs: list[tuple[str, str]]) -> None:
    # Plain scalars that cannot be anything but text skip PyYAML's resolver; every other one
    # (numbers, booleans, nulls, timestamps, merge keys) is still resolved as PyYAML does.
    listed = "".join(f"- {key}\n- {value}\n" for key, value in pairs)
    assert _outcome(listed, validation.ManifestLoader) == _outcome(listed, SAFE)
    keyed = "".join(f"- {key}: {value}\n" for key, value in pairs)
    assert _outcome(keyed, validation.ManifestLoader) == _outcome(keyed, SAFE)
