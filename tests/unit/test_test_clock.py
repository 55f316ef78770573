"""SLO_OPERATOR_TEST_NOW: the test-only frozen clock of `slo-operator run` (docs/evaluation.md)."""

from __future__ import annotations

import argparse
import datetime

import pytest

from slo_operator.evaluation import loop
from slo_operator.kube import settings as operator_settings


def _config() -> operator_settings.OperatorConfig:
    parser = argparse.ArgumentParser()
    operator_settings.add_arguments(parser)
    return operator_settings.from_arguments(parser.parse_args([]))


@pytest.fixture(autouse=True)
def _outside_a_pod(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)


def test_unset_means_the_wall_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SLO_OPERATOR_TEST_NOW", raising=False)
    assert _config().test_now is None
    assert loop.Settings().now is None


def test_set_freezes_every_cycle_at_that_instant_in_utc(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLO_OPERATOR_TEST_NOW", "2026-01-31T13:00:00+01:00")
    assert _config().test_now == datetime.datetime(2026, 1, 31, 12, tzinfo=datetime.UTC)


def test_a_time_without_zone_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLO_OPERATOR_TEST_NOW", "2026-01-31T12:00:00")
    with pytest.raises(ValueError, match="time zone"):
        _config()


def test_it_is_no_flag(monkeypatch: pytest.MonkeyPatch) -> None:
    parser = argparse.ArgumentParser()
    operator_settings.add_arguments(parser)
    flags = {option for action in parser._actions for option in action.option_strings}
    assert not any("now" in flag for flag in flags)


def test_inside_a_pod_it_is_refused_naming_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLO_OPERATOR_TEST_NOW", "2026-01-31T12:00:00Z")
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "10.0.0.1")
    with pytest.raises(
        ValueError, match=r"SLO_OPERATOR_TEST_NOW .* refused inside a Kubernetes pod"
    ):
        _config()
