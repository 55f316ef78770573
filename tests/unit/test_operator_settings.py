"""`slo-operator run`'s settings: one table gives every flag, environment variable and default."""

from __future__ import annotations

import argparse
import dataclasses

import pytest

from slo_operator.kube import settings as operator_settings


def parse(*flags: str) -> operator_settings.OperatorConfig:
    parser = argparse.ArgumentParser()
    operator_settings.add_arguments(parser)
    return operator_settings.from_arguments(parser.parse_args(list(flags)))


@pytest.fixture(autouse=True)
def no_operator_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for setting in operator_settings.SETTINGS:
        monkeypatch.delenv(setting.env, raising=False)
    monkeypatch.delenv("SLO_OPERATOR_TEST_NOW", raising=False)


def test_every_setting_but_the_test_clock_has_a_row() -> None:
    fields = {field.name for field in dataclasses.fields(operator_settings.OperatorConfig)}
    rows = [setting.field for setting in operator_settings.SETTINGS]
    assert len(rows) == len(set(rows))
    assert set(rows) == fields - {"test_now"}


def test_no_flag_and_no_environment_give_the_documented_defaults() -> None:
    assert parse() == operator_settings.OperatorConfig()


@pytest.mark.parametrize(
    ("env", "value", "field", "expected"),
    [
        ("SLO_OPERATOR_METRICS_PORT", "9464", "metrics_port", 9464),
        ("SLO_OPERATOR_STALLED_AFTER", "90.5", "stalled_after", 90.5),
        ("SLO_OPERATOR_ALL_NAMESPACES", "true", "all_namespaces", True),
        ("SLO_OPERATOR_RULE_OUTPUT", "ConfigMap", "rule_output", "ConfigMap"),
        ("SLO_OPERATOR_NAMESPACES", "shop,team-a", "namespaces", ("shop", "team-a")),
        ("SLO_OPERATOR_RULE_LABELS", "prometheus=main", "rule_labels", {"prometheus": "main"}),
        ("SLO_OPERATOR_POLICY_WEBHOOK_HOSTS", "*.corp", "policy_webhook_hosts", ("*.corp",)),
    ],
)
def test_the_environment_sets_each_kind_of_value(
    monkeypatch: pytest.MonkeyPatch, env: str, value: str, field: str, expected: object
) -> None:
    monkeypatch.setenv(env, value)
    assert getattr(parse(), field) == expected


def test_a_flag_beats_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLO_OPERATOR_METRICS_PORT", "9464")
    monkeypatch.setenv("SLO_OPERATOR_NAMESPACES", "shop")
    found = parse("--metrics-port", "0", "--namespace", "team-a")
    assert found.metrics_port == 0
    assert found.namespaces == ("team-a",)


def test_label_flags_add_to_the_environment_labels(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLO_OPERATOR_RULE_LABELS", "prometheus=main")
    assert parse("--rule-label", "team=chat").rule_labels == {"prometheus": "main", "team": "chat"}


def test_watching_some_namespaces_and_all_of_them_is_refused() -> None:
    with pytest.raises(ValueError, match="--namespace and --all-namespaces"):
        parse("--namespace", "shop", "--all-namespaces")


def test_every_flag_names_its_environment_variable() -> None:
    parser = argparse.ArgumentParser()
    operator_settings.add_arguments(parser)
    help_text = " ".join(parser.format_help().split())
    for setting in operator_settings.SETTINGS:
        assert setting.option in help_text
        assert setting.env in help_text


@pytest.mark.parametrize("value", ["webhook-tls", "ops/", "/webhook-tls"])
def test_a_webhook_certificate_secret_without_namespace_or_name_is_refused(value: str) -> None:
    with pytest.raises(ValueError, match="--webhook-cert-secret: expected NAMESPACE/NAME"):
        parse(f"--webhook-cert-secret={value}")


def test_peering_with_namespace_patterns_is_refused() -> None:
    with pytest.raises(ValueError, match=r"--peering: .* exact names, not patterns: \['team-\*'\]"):
        parse("--peering=slo-operator", "--namespace=team-*", "--namespace=shop")


@pytest.mark.parametrize(
    ("value", "problem"),
    [("30s", "not between 1m and 10y"), ("11y", "not between 1m and 10y"),
     ("soon", "not a Prometheus duration")],
)  # fmt: skip
def test_a_webhook_certificate_validity_out_of_range_is_refused(value: str, problem: str) -> None:
    with pytest.raises(ValueError, match=f"--webhook-cert-validity: .*{problem}"):
        parse(f"--webhook-cert-validity={value}")


def test_a_webhook_certificate_validity_in_range_is_kept() -> None:
    assert parse("--webhook-cert-validity=90d").webhook_cert_validity == "90d"
