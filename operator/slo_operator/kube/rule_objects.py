"""The rule object of an SLO (PrometheusRule or ConfigMap), written only when it changes."""

from __future__ import annotations

import copy
import dataclasses
import json
import logging
from typing import Any, Literal, cast

import kopf
import kubernetes
import yaml

from ..api import slo as slo_api
from ..rules import render
from . import settings as operator_settings

logger = logging.getLogger(__name__)

MANAGED_BY = {"app.kubernetes.io/managed-by": "slo-operator"}
RULE_FILE_KEY = "rules.yaml"
PROMETHEUS_RULE = ("monitoring.coreos.com", "v1", "prometheusrules")

Outcome = Literal["created", "updated", "unchanged"]


@dataclasses.dataclass(frozen=True)
class AppliedRules:
    """What the reconcile did, for status and metrics."""

    kind: Literal["PrometheusRule", "ConfigMap"]
    name: str
    recording_rules: int
    alerting_rules: int
    outcome: Outcome


LABEL_VALUE_LIMIT = 63
"""The longest Kubernetes label value."""


def object_name(slo_name: str) -> str:
    """Deterministic name of an SLO's rule object."""
    return f"{slo_api.RULE_OBJECT_PREFIX}{slo_name}"


def desired_object(
    slo: slo_api.ServiceLevelObjective,
    owner: kopf.Body | dict[str, Any],
    cfg: operator_settings.OperatorConfig,
) -> tuple[dict[str, Any], tuple[int, int]]:
    """The rule object to apply for an SLO, owned by it, and its (recording, alerting) counts."""
    groups = render.render_rule_groups(slo)
    counts = render.count_rules(groups)
    labels = {**MANAGED_BY, **dict(cfg.rule_labels)}
    if len(slo.name) <= LABEL_VALUE_LIMIT:
        # A name may be a 253-character DNS subdomain; a label value holds at most 63 (the
        # owner reference links the objects whatever the length).
        labels["slo.dev/slo"] = slo.name
    if cfg.rule_output == "PrometheusRule":
        body = render.render_prometheus_rule(slo, extra_labels=labels)
    else:
        rule_file = render.render_rule_file([slo])
        body = {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": object_name(slo.name), "labels": labels},
            "data": {RULE_FILE_KEY: yaml.safe_dump(rule_file, sort_keys=False)},
        }
    body["metadata"]["namespace"] = slo.namespace
    body["metadata"]["name"] = object_name(slo.name)
    kopf.append_owner_reference(body, owner=owner)  # type: ignore[arg-type]
    return body, counts


def _differs(desired: dict[str, Any], actual: dict[str, Any]) -> bool:
    """Whether the object on the server lacks what we want (extra server fields are fine)."""
    wanted_meta = desired["metadata"]
    actual_meta = actual.get("metadata", {})
    for key in ("labels", "ownerReferences"):
        wanted = wanted_meta.get(key) or {}
        have = actual_meta.get(key) or {}
        if key == "labels":
            if any(have.get(name) != value for name, value in wanted.items()):
                return True
        elif [(o.get("uid"), o.get("controller")) for o in wanted] != [
            (o.get("uid"), o.get("controller")) for o in have
        ]:
            return True
    payload = "spec" if "spec" in desired else "data"
    return bool(desired.get(payload) != actual.get(payload))


class _ObjectApi:
    """get/create/replace of one rule-object kind, on plain dicts (the JSON the server speaks)."""

    def __init__(self, api_client: kubernetes.client.ApiClient, kind: str) -> None:
        self.kind = kind
        self.custom = kubernetes.client.CustomObjectsApi(api_client)
        self.core = kubernetes.client.CoreV1Api(api_client)

    def get(self, namespace: str, name: str) -> dict[str, Any] | None:
        try:
            if self.kind == "PrometheusRule":
                group, version, plural = PROMETHEUS_RULE
                response = self.custom.get_namespaced_custom_object(
                    group, version, namespace, plural, name, _preload_content=False
                )
            else:
                response = self.core.read_namespaced_config_map(
                    name, namespace, _preload_content=False
                )
        except kubernetes.client.ApiException as error:
            if error.status == 404:
                return None
            raise
        return cast(dict[str, Any], json.loads(response.data))  # type: ignore[attr-defined]

    def create(self, namespace: str, body: dict[str, Any]) -> None:
        if self.kind == "PrometheusRule":
            group, version, plural = PROMETHEUS_RULE
            self.custom.create_namespaced_custom_object(group, version, namespace, plural, body)
        else:
            self.core.create_namespaced_config_map(namespace, body)  # type: ignore[arg-type]

    def replace(self, namespace: str, name: str, body: dict[str, Any]) -> None:
        if self.kind == "PrometheusRule":
            group, version, plural = PROMETHEUS_RULE
            self.custom.replace_namespaced_custom_object(
                group, version, namespace, plural, name, body
            )
        else:
            self.core.replace_namespaced_config_map(name, namespace, body)  # type: ignore[arg-type]


def apply(api_client: kubernetes.client.ApiClient, desired: dict[str, Any]) -> Outcome:
    """Create the object, or replace it when it differs; nothing is written when it matches."""
    namespace = desired["metadata"]["namespace"]
    name = desired["metadata"]["name"]
    objects = _ObjectApi(api_client, desired["kind"])
    actual = objects.get(namespace, name)
    if actual is None:
        objects.create(namespace, desired)
        return "created"
    if not _differs(desired, actual):
        return "unchanged"
    objects.replace(namespace, name, _merged(desired, actual))
    return "updated"


def _merged(desired: dict[str, Any], actual: dict[str, Any]) -> dict[str, Any]:
    """The desired object carrying the server's resourceVersion and foreign labels/annotations."""
    merged = copy.deepcopy(desired)
    meta = actual.get("metadata", {})
    merged["metadata"]["resourceVersion"] = meta.get("resourceVersion")
    merged["metadata"]["labels"] = {**(meta.get("labels") or {}), **desired["metadata"]["labels"]}
    if meta.get("annotations"):
        merged["metadata"]["annotations"] = meta["annotations"]
    return merged
