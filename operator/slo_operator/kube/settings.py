"""Operator configuration: every setting has a flag and an environment variable."""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import os
from collections.abc import Mapping, Sequence
from typing import Literal

RuleOutput = Literal["PrometheusRule", "ConfigMap"]
LogFormat = Literal["json", "text"]
FailurePolicy = Literal["Fail", "Ignore"]


@dataclasses.dataclass(frozen=True)
class OperatorConfig:
    """Settings of `slo-operator run`."""

    namespaces: tuple[str, ...] = ()
    """Namespaces to watch; empty with `all_namespaces` means the whole cluster."""
    all_namespaces: bool = False
    """Watch every namespace (needs cluster-wide RBAC)."""
    prometheus_url: str | None = None
    """URL of the default metrics backend."""
    backends_file: str | None = None
    """YAML file naming more backends (URL, headers, auth, TLS, namespace allow-list)."""
    allow_insecure_backends: bool = False
    """Let backends turn TLS verification off (`insecureSkipVerify`); refused otherwise."""
    rule_output: RuleOutput = "PrometheusRule"
    """Write rules as PrometheusRule objects, or as ConfigMaps holding a rule file."""
    rule_labels: Mapping[str, str] = dataclasses.field(default_factory=dict)
    """Extra labels on rule objects, so a Prometheus ruleSelector finds them."""
    metrics_port: int = 9090
    """Port of the operator's own Prometheus metrics endpoint (0 disables it)."""
    health_port: int = 8080
    """Port of the liveness endpoint `/healthz` (0 disables it)."""
    log_format: LogFormat = "text"
    """`json` for production log pipelines, `text` for people."""
    ui_port: int = 0
    """Port of the read-only web UI (0 disables it)."""
    webhook_port: int = 0
    """Port of the validating admission webhook (0 disables it)."""
    webhook_host: str | None = None
    """Hostname the apiserver uses to reach the webhook (URL mode), e.g. 127.0.0.1."""
    webhook_service: str | None = None
    """`namespace/name` of the Service in front of the webhook (in-cluster mode)."""
    webhook_failure_policy: FailurePolicy = "Fail"
    """What the apiserver does when the webhook cannot answer."""
    webhook_cert_dir: str | None = None
    """Where the webhook's generated CA and serving certificate are kept."""
    evaluation_interval: float = 60.0
    """Seconds between evaluation cycles."""
    stalled_after: float = 300.0
    """Seconds a backend may fail before its objects are marked Stalled."""
    policy_webhook_hosts: tuple[str, ...] = ()
    """Hosts (shell patterns) error budget policy webhooks may POST to; empty: none."""
    test_now: datetime.datetime | None = None
    """Test-only: evaluate every cycle at this instant instead of the wall clock. Environment
    only (`SLO_OPERATOR_TEST_NOW`, RFC 3339 with a zone), no flag: it is not a production
    setting, the chart never sets it, and inside a pod it is refused."""

    @property
    def clusterwide(self) -> bool:
        return self.all_namespaces or not self.namespaces


def _env(name: str, default: str | None = None) -> str | None:
    return os.environ.get(f"SLO_OPERATOR_{name}", default)


def _labels(pairs: Sequence[str]) -> dict[str, str]:
    labels = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise argparse.ArgumentTypeError(f"expected key=value, got {pair!r}")
        labels[key] = value
    return labels


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Flags of `slo-operator run`; each defaults to its SLO_OPERATOR_* environment variable."""
    env_namespaces = [ns for ns in (_env("NAMESPACES") or "").split(",") if ns]
    parser.add_argument(
        "--namespace",
        dest="namespaces",
        action="append",
        default=None,
        help=f"namespace to watch, repeatable (env SLO_OPERATOR_NAMESPACES, comma-separated; "
        f"now {env_namespaces or 'unset'})",
    )
    parser.add_argument(
        "--all-namespaces",
        action="store_true",
        default=_env("ALL_NAMESPACES", "") in ("1", "true", "yes"),
        help="watch every namespace (env SLO_OPERATOR_ALL_NAMESPACES)",
    )
    parser.add_argument(
        "--prometheus-url",
        default=_env("PROMETHEUS_URL"),
        help="default metrics backend URL (env SLO_OPERATOR_PROMETHEUS_URL)",
    )
    parser.add_argument(
        "--backends-file",
        default=_env("BACKENDS_FILE"),
        help="YAML file with named backends (env SLO_OPERATOR_BACKENDS_FILE)",
    )
    parser.add_argument(
        "--rule-output",
        choices=["PrometheusRule", "ConfigMap"],
        default=_env("RULE_OUTPUT", "PrometheusRule"),
        help="kind of rule object to write (env SLO_OPERATOR_RULE_OUTPUT)",
    )
    parser.add_argument(
        "--rule-label",
        dest="rule_labels",
        action="append",
        default=[pair for pair in (_env("RULE_LABELS") or "").split(",") if pair],
        metavar="KEY=VALUE",
        help="extra label on rule objects, repeatable (env SLO_OPERATOR_RULE_LABELS)",
    )
    parser.add_argument(
        "--metrics-port",
        type=int,
        default=int(_env("METRICS_PORT", "9090") or 9090),
        help="operator metrics port, 0 to disable (env SLO_OPERATOR_METRICS_PORT)",
    )
    parser.add_argument(
        "--health-port",
        type=int,
        default=int(_env("HEALTH_PORT", "8080") or 8080),
        help="liveness port for /healthz, 0 to disable (env SLO_OPERATOR_HEALTH_PORT)",
    )
    parser.add_argument(
        "--ui-port",
        type=int,
        default=int(_env("UI_PORT", "0") or 0),
        help="read-only web UI port, 0 to disable (env SLO_OPERATOR_UI_PORT)",
    )
    parser.add_argument(
        "--log-format",
        choices=["json", "text"],
        default=_env("LOG_FORMAT", "text"),
        help="log format (env SLO_OPERATOR_LOG_FORMAT)",
    )
    parser.add_argument(
        "--webhook-port",
        type=int,
        default=int(_env("WEBHOOK_PORT", "0") or 0),
        help="admission webhook port, 0 to disable (env SLO_OPERATOR_WEBHOOK_PORT)",
    )
    parser.add_argument(
        "--webhook-host",
        default=_env("WEBHOOK_HOST"),
        help="host the apiserver calls the webhook at, URL mode (env SLO_OPERATOR_WEBHOOK_HOST)",
    )
    parser.add_argument(
        "--webhook-service",
        default=_env("WEBHOOK_SERVICE"),
        metavar="NAMESPACE/NAME",
        help="Service in front of the webhook (env SLO_OPERATOR_WEBHOOK_SERVICE)",
    )
    parser.add_argument(
        "--webhook-failure-policy",
        choices=["Fail", "Ignore"],
        default=_env("WEBHOOK_FAILURE_POLICY", "Fail"),
        help="if the webhook is down (env SLO_OPERATOR_WEBHOOK_FAILURE_POLICY)",
    )
    parser.add_argument(
        "--webhook-cert-dir",
        default=_env("WEBHOOK_CERT_DIR"),
        help="folder for the webhook's generated certificates (env SLO_OPERATOR_WEBHOOK_CERT_DIR)",
    )
    parser.add_argument(
        "--evaluation-interval",
        type=float,
        default=float(_env("EVALUATION_INTERVAL", "60") or 60),
        help="seconds between evaluation cycles (env SLO_OPERATOR_EVALUATION_INTERVAL)",
    )
    parser.add_argument(
        "--stalled-after",
        type=float,
        default=float(_env("STALLED_AFTER", "300") or 300),
        help="seconds of backend failure before Stalled (env SLO_OPERATOR_STALLED_AFTER)",
    )
    parser.add_argument(
        "--allow-insecure-backends",
        action="store_true",
        default=_env("ALLOW_INSECURE_BACKENDS") == "true",
        help="let backends set insecureSkipVerify (refused otherwise; shown in every status "
        "evaluated through such a backend) (env SLO_OPERATOR_ALLOW_INSECURE_BACKENDS=true)",
    )
    parser.add_argument(
        "--policy-webhook-host",
        dest="policy_webhook_hosts",
        action="append",
        default=[host for host in (_env("POLICY_WEBHOOK_HOSTS") or "").split(",") if host],
        metavar="HOST",
        help="host (shell pattern) that policy webhooks may call, repeatable; none by default "
        "(env SLO_OPERATOR_POLICY_WEBHOOK_HOSTS, comma-separated)",
    )


def _test_now() -> datetime.datetime | None:
    text = _env("TEST_NOW")
    if not text:
        return None
    if os.environ.get("KUBERNETES_SERVICE_HOST"):
        # A pod is production: a leftover test variable must not freeze its budgets in time.
        raise ValueError(
            "SLO_OPERATOR_TEST_NOW is a test-only frozen clock and is refused inside a "
            "Kubernetes pod (KUBERNETES_SERVICE_HOST is set); unset it"
        )
    moment = datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        raise ValueError(f"SLO_OPERATOR_TEST_NOW needs a time zone (e.g. Z): {text!r}")
    return moment.astimezone(datetime.UTC)


def from_arguments(arguments: argparse.Namespace) -> OperatorConfig:
    """The configuration from parsed flags (which already fell back to the environment)."""
    namespaces = arguments.namespaces
    if namespaces is None:
        namespaces = [ns for ns in (_env("NAMESPACES") or "").split(",") if ns]
    if namespaces and arguments.all_namespaces:
        raise ValueError("--namespace and --all-namespaces cannot be used together")
    return OperatorConfig(
        namespaces=tuple(namespaces),
        all_namespaces=arguments.all_namespaces,
        prometheus_url=arguments.prometheus_url,
        backends_file=arguments.backends_file,
        allow_insecure_backends=arguments.allow_insecure_backends,
        rule_output=arguments.rule_output,
        rule_labels=_labels(arguments.rule_labels),
        metrics_port=arguments.metrics_port,
        health_port=arguments.health_port,
        ui_port=arguments.ui_port,
        log_format=arguments.log_format,
        webhook_port=arguments.webhook_port,
        webhook_host=arguments.webhook_host,
        webhook_service=arguments.webhook_service,
        webhook_failure_policy=arguments.webhook_failure_policy,
        webhook_cert_dir=arguments.webhook_cert_dir,
        evaluation_interval=arguments.evaluation_interval,
        stalled_after=arguments.stalled_after,
        policy_webhook_hosts=tuple(arguments.policy_webhook_hosts),
        test_now=_test_now(),
    )
