"""kopf handlers: thin adapters that parse the body, call the pure layers and patch status.

Each handler is a module-level function that takes the operator's settings from kopf's `memo`
(put there at startup) and decides nothing itself: `reconcile_status` says what the status
becomes, `checks` whether a manifest is valid, `rule_objects` what the rule object is.
`register` attaches them to a kopf registry.
"""

from __future__ import annotations

import asyncio
from typing import Any, NoReturn

import kopf
import kubernetes

from .. import GROUP, VERSION, errors
from ..api import conditions, kind_names, validation
from ..api import slo as slo_api
from ..api import status as status_api
from ..evaluation import registry as evaluation_registry
from ..rules import checks
from . import metrics, reconcile_status, rule_objects
from . import settings as operator_settings

SLO_PLURAL = kind_names.SLO_PLURAL
SLA_PLURAL = kind_names.SLA_PLURAL


def register(registry: kopf.OperatorRegistry, cfg: operator_settings.OperatorConfig) -> None:
    """Attach every handler of the operator to `registry`; `cfg` decides which exist."""
    for plural, reconcile in ((SLO_PLURAL, reconcile_slo), (SLA_PLURAL, reconcile_sla)):
        kopf.on.resume(GROUP, VERSION, plural, id="reconcile", registry=registry)(reconcile)
        kopf.on.create(GROUP, VERSION, plural, id="reconcile", registry=registry)(reconcile)
        on_spec_change = kopf.on.update(
            GROUP, VERSION, plural, id="reconcile", field="spec", registry=registry
        )
        on_spec_change(reconcile)
        kopf.on.event(GROUP, VERSION, plural, registry=registry)(feed_evaluation)
    if cfg.webhook_port:
        for plural, handler_id in ((SLO_PLURAL, "validate-slo"), (SLA_PLURAL, "validate-sla")):
            kopf.on.validate(
                GROUP,
                VERSION,
                plural,
                id=handler_id,
                registry=registry,
                operations=["CREATE", "UPDATE"],
                ignore_failures=cfg.webhook_failure_policy == "Ignore",
                # With replicas, one stopping (a rollout, a drained node) must not take the
                # webhook out of the configuration while the others serve it; kopf removes
                # only non-persistent webhooks on a graceful stop.
                persistent=bool(cfg.peering),
            )(validate_manifest)


async def reconcile_slo(
    body: kopf.Body,
    status: kopf.Status,
    patch: kopf.Patch,
    memo: kopf.Memo,
    logger: kopf.Logger,
    retry: int = 0,
    **_: Any,
) -> None:
    """Render the SLO's rules and apply them; say in status what was done."""
    cfg: operator_settings.OperatorConfig = memo["config"]
    checked = _check_or_stall(body, status, patch, kind_names.SLO_KIND)
    if not isinstance(checked, slo_api.ServiceLevelObjective):
        return
    generation = body.metadata.get("generation")
    try:
        rules = await _apply_rules(checked, body, cfg, memo["api_client"], logger)
    except kubernetes.client.ApiException as error:
        _rule_write_failed(body, status, patch, cfg, error, retry)
    except errors.SLOError as error:
        reason = conditions.Reason.RENDER_FAILED
        failed = reconcile_status.stalled(_conditions(status), generation, reason, str(error))
        _patch(patch, status, failed)
        return
    target = checked.spec.primary.target
    applied = reconcile_status.slo_rules_applied(_conditions(status), generation, rules, target)
    _patch(patch, status, applied)


async def reconcile_sla(body: kopf.Body, status: kopf.Status, patch: kopf.Patch, **_: Any) -> None:
    """Accept a valid SLA (the evaluation loop measures it) or say why it is invalid."""
    if _check_or_stall(body, status, patch, kind_names.SLA_KIND) is None:
        return
    metrics.RECONCILES.labels(kind_names.SLA_KIND, "accepted").inc()
    accepted = reconcile_status.sla_accepted(status, body.metadata.get("generation"))
    if accepted is not None:
        _patch(patch, status, accepted)


async def feed_evaluation(
    event: kopf.RawEvent, resource: kopf.Resource, memo: kopf.Memo, **_: Any
) -> None:
    """Keep the evaluation loop's registry in step with the watch: listing, changes, deletes.

    Async so it runs on the event loop, like the evaluation loop that reads the registry.
    """
    objects: evaluation_registry.Registry | None = memo.get("objects")
    body = event["object"]
    if objects is None or not body:
        return
    kind = kind_names.kind_of_plural(resource.plural)
    metadata = body.get("metadata", {})
    if event["type"] == "DELETED":
        objects.remove(kind, metadata.get("namespace") or "default", metadata["name"])
    else:
        objects.upsert(kind, body)


def validate_manifest(body: kopf.Body, resource: kopf.Resource, **kwargs: Any) -> None:
    """The admission webhook: exactly the checks of `slo-operator validate`.

    Only a changed spec is judged. An object admitted while the webhook was absent (or failing
    open) keeps its invalid spec; refusing metadata updates would refuse the operator's own
    annotation patch, and with it the Stalled status that explains why.
    """
    kind = kind_names.kind_of_plural(resource.plural)
    old = kwargs.get("old")
    unchanged_spec = old is not None and old.get("spec") == body.get("spec")
    if kwargs.get("operation") == "UPDATE" and unchanged_spec:
        metrics.WEBHOOK_DECISIONS.labels(kind, "allowed").inc()
        return
    checked = checks.check_resource(dict(body), source="<admission>")
    if isinstance(checked, list):
        metrics.WEBHOOK_DECISIONS.labels(kind, "denied").inc()
        raise kopf.AdmissionError(reconcile_status.admission_denial(checked), code=422)
    metrics.WEBHOOK_DECISIONS.labels(kind, "allowed").inc()


def _conditions(status: kopf.Status) -> list[dict[str, Any]]:
    return list(status.get("conditions") or [])


def _check_or_stall(
    body: kopf.Body, status: kopf.Status, patch: kopf.Patch, kind: str
) -> validation.Resource | None:
    """The typed resource; or, for an invalid one, Stalled/InvalidSpec, a Warning and None."""
    checked = checks.check_resource(dict(body), source="<cluster>")
    if not isinstance(checked, list):
        return checked
    message = checks.summary(checked)
    generation = body.metadata.get("generation")
    reason = conditions.Reason.INVALID_SPEC
    _patch(
        patch, status, reconcile_status.stalled(_conditions(status), generation, reason, message)
    )
    kopf.warn(body, reason=reason, message=message)
    metrics.RECONCILES.labels(kind, "invalid").inc()
    return None


def _rule_write_failed(
    body: kopf.Body,
    status: kopf.Status,
    patch: kopf.Patch,
    cfg: operator_settings.OperatorConfig,
    error: kubernetes.client.ApiException,
    retry: int,
) -> NoReturn:
    """Retry in 10 s; when a person must act (missing CRD, RBAC), Stalled and one Warning
    first, and retries ever more slowly, so the fix is picked up without an edit."""
    reason, message = reconcile_status.rule_write_failure(
        error.status, error.reason, cfg.rule_output
    )
    metrics.RECONCILE_ERRORS.labels(kind_names.SLO_KIND, reason).inc()
    delay = reconcile_status.rule_write_retry_seconds(error.status, retry)
    if not reconcile_status.retry_fixes(error.status):
        generation = body.metadata.get("generation")
        stalled = reconcile_status.stalled(_conditions(status), generation, reason, message)
        _patch(patch, status, stalled)
        if retry == 0:
            kopf.warn(body, reason=reason, message=message)
    raise kopf.TemporaryError(message, delay=delay) from error


async def _apply_rules(
    checked: slo_api.ServiceLevelObjective,
    body: kopf.Body,
    cfg: operator_settings.OperatorConfig,
    api_client: kubernetes.client.ApiClient,
    logger: kopf.Logger,
) -> status_api.RulesSummary:
    """Create or update the SLO's rule object; the `status.rules` summary of it."""
    desired, (recording, alerting) = rule_objects.desired_object(checked, body, cfg)
    outcome = await asyncio.to_thread(rule_objects.apply, api_client, desired)
    name = desired["metadata"]["name"]
    metrics.RULE_OBJECT_WRITES.labels(cfg.rule_output, outcome).inc()
    metrics.RECONCILES.labels(kind_names.SLO_KIND, outcome).inc()
    if outcome != "unchanged":
        logger.info(f"{cfg.rule_output} {name} {outcome}")
    return status_api.RulesSummary(
        kind=cfg.rule_output, name=name, recording_rules=recording, alerting_rules=alerting
    )


def _patch(patch: kopf.Patch, status: kopf.Status, desired: dict[str, Any]) -> None:
    """Patch only the fields whose value differs, so an unchanged object sees no write."""
    for key, value in conditions.status_patch(status, desired).items():
        patch.status[key] = value
