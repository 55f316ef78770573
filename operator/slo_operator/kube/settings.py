"""Operator configuration: every setting has a flag and an environment variable."""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import os
from collections.abc import Mapping, Sequence
from typing import Any, Literal

from ..api import common, times

RuleOutput = Literal["PrometheusRule", "ConfigMap"]
LogFormat = Literal["json", "text"]
LogLevel = Literal["debug", "info", "warning"]
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
    log_level: LogLevel = "info"
    """`debug` also logs kopf's and the HTTP libraries' internals (never credentials:
    tests/faults/test_secrets.py greps them)."""
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
    webhook_cert_secret: str | None = None
    """`namespace/name` of a Secret holding the webhook's CA and serving certificate, shared by
    every replica: the first replica that finds none creates it, the others read it, so the CA
    bundle in the webhook configuration is the same whichever replica writes it."""
    webhook_cert_validity: str = "365d"
    """How long each serving certificate the operator issues for the webhook is valid (a
    Prometheus duration, 1m to 10y); it is renewed while the operator runs once a third of
    that, or 30 days if less, is left."""
    webhook_public_port: int = 0
    """Port in the webhook URL the apiserver calls (URL mode), when a proxy or load balancer in
    front of the replicas listens on another port than `webhook_port`; 0: `webhook_port`."""
    peering: str = ""
    """Name of the kopf peering object the replicas share (a ClusterKopfPeering, or a
    KopfPeering in each watched namespace): only the oldest live replica reconciles and
    evaluates, the others stand by. Empty: standalone, for a single replica."""
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


ENV_PREFIX = "SLO_OPERATOR_"


@dataclasses.dataclass(frozen=True)
class Setting:
    """One row of `SETTINGS`: how a field of `OperatorConfig` is given on the command line and
    in the environment. The default is the field's; the environment variable is
    `SLO_OPERATOR_<FIELD>`; the flag is `--<field>` unless `flag` says otherwise."""

    field: str
    help: str
    kind: Literal["text", "int", "float", "bool", "list"] = "text"
    flag: str = ""
    choices: tuple[str, ...] = ()
    metavar: str | None = None
    flags_replace_env: bool = False
    """For lists: flags replace the environment's items instead of adding to them."""

    @property
    def env(self) -> str:
        return ENV_PREFIX + self.field.upper()

    @property
    def option(self) -> str:
        return self.flag or "--" + self.field.replace("_", "-")


SETTINGS: tuple[Setting, ...] = (
    Setting(
        "namespaces",
        "namespace to watch, repeatable",
        "list",
        flag="--namespace",
        flags_replace_env=True,
    ),
    Setting("all_namespaces", "watch every namespace", "bool"),
    Setting("prometheus_url", "default metrics backend URL"),
    Setting("backends_file", "YAML file with named backends"),
    Setting("rule_output", "kind of rule object to write", choices=("PrometheusRule", "ConfigMap")),
    Setting(
        "rule_labels",
        "extra label on rule objects, repeatable",
        "list",
        flag="--rule-label",
        metavar="KEY=VALUE",
    ),
    Setting("metrics_port", "operator metrics port, 0 to disable", "int"),
    Setting("health_port", "liveness port for /healthz, 0 to disable", "int"),
    Setting("ui_port", "read-only web UI port, 0 to disable", "int"),
    Setting("log_format", "log format", choices=("json", "text")),
    Setting("log_level", "log level", choices=("debug", "info", "warning")),
    Setting("webhook_port", "admission webhook port, 0 to disable", "int"),
    Setting("webhook_host", "host the apiserver calls the webhook at, URL mode"),
    Setting("webhook_service", "Service in front of the webhook", metavar="NAMESPACE/NAME"),
    Setting("webhook_failure_policy", "if the webhook is down", choices=("Fail", "Ignore")),
    Setting("webhook_cert_dir", "folder for the webhook's generated certificates"),
    Setting(
        "webhook_cert_secret",
        "Secret that holds the webhook certificate all replicas share",
        metavar="NAMESPACE/NAME",
    ),
    Setting(
        "webhook_cert_validity",
        "validity of the webhook's serving certificates, renewed while running",
        metavar="DURATION",
    ),
    Setting("webhook_public_port", "port in the webhook URL if a proxy listens elsewhere", "int"),
    Setting(
        "peering",
        "kopf peering object of the replicas: one active, the others standby; empty: standalone",
        metavar="NAME",
    ),
    Setting("evaluation_interval", "seconds between evaluation cycles", "float"),
    Setting("stalled_after", "seconds of backend failure before Stalled", "float"),
    Setting(
        "allow_insecure_backends",
        "let backends set insecureSkipVerify (refused otherwise; shown in every status "
        "evaluated through such a backend)",
        "bool",
    ),
    Setting(
        "policy_webhook_hosts",
        "host (shell pattern) that policy webhooks may call, repeatable; none by default",
        "list",
        flag="--policy-webhook-host",
        metavar="HOST",
    ),
)
"""Every setting of `slo-operator run` with a flag (`test_now` is environment only)."""


def _env(name: str, default: str | None = None) -> str | None:
    return os.environ.get(f"{ENV_PREFIX}{name}", default)


def _labels(pairs: Sequence[str]) -> dict[str, str]:
    labels = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise argparse.ArgumentTypeError(f"expected key=value, got {pair!r}")
        labels[key] = value
    return labels


_DEFAULTS = OperatorConfig()


def _env_default(setting: Setting) -> object:
    """The setting's value from its environment variable, else `OperatorConfig`'s default."""
    text = os.environ.get(setting.env)
    default = getattr(_DEFAULTS, setting.field)
    if setting.kind == "list":
        return [item for item in (text or "").split(",") if item]
    if not text:
        return False if setting.kind == "bool" else default
    if setting.kind == "bool":
        return text in ("1", "true", "yes")
    if setting.kind in ("int", "float"):
        return int(text) if setting.kind == "int" else float(text)
    return text


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Flags of `slo-operator run`; each defaults to its SLO_OPERATOR_* environment variable."""
    for setting in SETTINGS:
        env_note = f"env {setting.env}" + (", comma-separated" if setting.kind == "list" else "")
        options: dict[str, Any] = {"dest": setting.field, "help": f"{setting.help} ({env_note})"}
        if setting.kind == "bool":
            options["action"] = "store_true"
        elif setting.kind == "list":
            options["action"] = "append"
        elif setting.kind in ("int", "float"):
            options["type"] = int if setting.kind == "int" else float
        if setting.choices:
            options["choices"] = list(setting.choices)
        if setting.metavar:
            options["metavar"] = setting.metavar
        # A list whose flags replace the environment's items defaults to None, so from_arguments
        # can tell "no flag" from "flags".
        replace = setting.kind == "list" and setting.flags_replace_env
        options["default"] = None if replace else _env_default(setting)
        parser.add_argument(setting.option, **options)


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
    moment = times.parse_timestamp(text)
    if moment.tzinfo is None:
        raise ValueError(f"SLO_OPERATOR_TEST_NOW needs a time zone (e.g. Z): {text!r}")
    return moment.astimezone(datetime.UTC)


def _check_cert_validity(text: str) -> None:
    try:
        seconds = common.parse_duration_seconds(text)
    except ValueError as error:
        raise ValueError(f"--webhook-cert-validity: {error}") from None
    if not 60 <= seconds <= 10 * 365 * 86400:
        raise ValueError(f"--webhook-cert-validity: {text!r} is not between 1m and 10y")


def from_arguments(arguments: argparse.Namespace) -> OperatorConfig:
    """The configuration from parsed flags (which already fell back to the environment)."""
    values = {setting.field: getattr(arguments, setting.field) for setting in SETTINGS}
    for setting in SETTINGS:
        if setting.kind == "list" and values[setting.field] is None:
            values[setting.field] = _env_default(setting)
    if values["namespaces"] and values["all_namespaces"]:
        raise ValueError("--namespace and --all-namespaces cannot be used together")
    patterns = [name for name in values["namespaces"] if set(name) & set("*?[")]
    if values["peering"] and patterns:
        # The peering objects live in each watched namespace, created by name at start.
        raise ValueError(
            f"--peering: watched namespaces must be exact names, not patterns: {patterns}"
        )
    secret = values["webhook_cert_secret"]
    if secret and not all(secret.partition("/")[::2]):
        raise ValueError(f"--webhook-cert-secret: expected NAMESPACE/NAME, got {secret!r}")
    _check_cert_validity(values["webhook_cert_validity"])
    values["rule_labels"] = _labels(values["rule_labels"])
    values["namespaces"] = tuple(values["namespaces"])
    values["policy_webhook_hosts"] = tuple(values["policy_webhook_hosts"])
    return OperatorConfig(**values, test_now=_test_now())
