"""kopf handlers: thin adapters that parse the body, call the pure layers and patch status."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import kopf
import kubernetes

from .. import GROUP, VERSION, errors
from ..api import conditions, validation
from ..api import slo as slo_api
from ..evaluation import loop as evaluation_loop
from ..evaluation import registry as evaluation_registry
from ..rules import checks
from . import metrics, rule_objects
from . import settings as operator_settings

SLO_PLURAL = "servicelevelobjectives"
SLA_PLURAL = "servicelevelagreements"


def _kind_of(plural: str) -> str:
    return "ServiceLevelObjective" if plural == SLO_PLURAL else "ServiceLevelAgreement"


def register(
    registry: kopf.OperatorRegistry,
    cfg: operator_settings.OperatorConfig,
) -> None:
    """Register every handler of the operator on `registry`, configured by `cfg`."""

    @kopf.on.resume(GROUP, VERSION, SLO_PLURAL, id="reconcile", registry=registry)
    @kopf.on.create(GROUP, VERSION, SLO_PLURAL, id="reconcile", registry=registry)
    @kopf.on.update(GROUP, VERSION, SLO_PLURAL, id="reconcile", field="spec", registry=registry)
    async def reconcile_slo(
        body: kopf.Body,
        status: kopf.Status,
        patch: kopf.Patch,
        memo: kopf.Memo,
        logger: kopf.Logger,
        **_: Any,
    ) -> None:
        """Render the SLO's rules and apply them; say in status what was done."""
        generation = body.metadata.get("generation")
        old_conditions = list(status.get("conditions") or [])
        checked = _check_or_stall(body, status, patch, "ServiceLevelObjective")
        if checked is None:
            return
        assert isinstance(checked, slo_api.ServiceLevelObjective)
        api_client: kubernetes.client.ApiClient = memo["api_client"]
        try:
            desired, (recording, alerting) = rule_objects.desired_object(checked, body, cfg)
            outcome = await asyncio.to_thread(rule_objects.apply, api_client, desired)
        except kubernetes.client.ApiException as error:
            reason, message = _explain_api_error(error, cfg)
            metrics.RECONCILE_ERRORS.labels("ServiceLevelObjective", reason).inc()
            if error.status in (403, 404):
                # Nothing a retry fixes (missing CRD or RBAC): tell the user and wait for a change.
                _set_stalled(patch, status, old_conditions, generation, reason, message)
                kopf.warn(body, reason=reason, message=message)
                return
            raise kopf.TemporaryError(message, delay=10) from error
        except errors.SLOError as error:
            _set_stalled(patch, status, old_conditions, generation, "RenderFailed", str(error))
            return
        metrics.RULE_OBJECT_WRITES.labels(cfg.rule_output, outcome).inc()
        metrics.RECONCILES.labels("ServiceLevelObjective", outcome).inc()
        if outcome != "unchanged":
            logger.info(f"{cfg.rule_output} {desired['metadata']['name']} {outcome}")
        rules_summary = {
            "kind": cfg.rule_output,
            "name": desired["metadata"]["name"],
            "recordingRules": recording,
            "alertingRules": alerting,
        }
        # Ready and Stalled are shared with the evaluation loop: the reconcile only takes back
        # what it set itself (a failed reconcile), so an edit never hides a backend outage.
        new_conditions = list(old_conditions)
        stalled = conditions.get_condition(old_conditions, "Stalled")
        if stalled is None or stalled.get("reason") in evaluation_loop.RECONCILE_REASONS:
            new_conditions = conditions.set_condition(
                new_conditions, "Stalled", False, "Reconciled", "", generation
            )
        else:
            new_conditions = _with_generation(new_conditions, "Stalled", generation)
        ready = conditions.get_condition(old_conditions, "Ready")
        if ready is None or ready.get("reason") in evaluation_loop.RECONCILE_REASONS:
            new_conditions = conditions.set_condition(
                new_conditions,
                "Ready",
                True,
                "RulesApplied",
                f"{cfg.rule_output} {desired['metadata']['name']} applied",
                generation,
            )
        else:
            new_conditions = _with_generation(new_conditions, "Ready", generation)
        _patch_status_if_changed(
            patch,
            status,
            {
                "observedGeneration": generation,
                "rules": rules_summary,
                "target": checked.spec.primary.target,
                "conditions": new_conditions,
            },
        )

    @kopf.on.resume(GROUP, VERSION, SLA_PLURAL, id="reconcile", registry=registry)
    @kopf.on.create(GROUP, VERSION, SLA_PLURAL, id="reconcile", registry=registry)
    @kopf.on.update(GROUP, VERSION, SLA_PLURAL, id="reconcile", field="spec", registry=registry)
    async def reconcile_sla(
        body: kopf.Body,
        status: kopf.Status,
        patch: kopf.Patch,
        **_: Any,
    ) -> None:
        """Accept a valid SLA (the evaluation loop measures it) or say why it is invalid."""
        generation = body.metadata.get("generation")
        old_conditions = list(status.get("conditions") or [])
        checked = _check_or_stall(body, status, patch, "ServiceLevelAgreement")
        if checked is None:
            return
        metrics.RECONCILES.labels("ServiceLevelAgreement", "accepted").inc()
        stalled = conditions.get_condition(old_conditions, "Stalled")
        if (
            status.get("observedGeneration") == generation
            and stalled is not None
            and stalled.get("reason") not in evaluation_loop.RECONCILE_REASONS
        ):
            # Resumed (a restart) with the spec already accepted: Stalled is the loop's now;
            # resetting it would write the status twice, the loop then writing it back.
            return
        new_conditions = conditions.set_condition(
            old_conditions, "Stalled", False, "Reconciled", "", generation
        )
        _patch_status_if_changed(
            patch, status, {"observedGeneration": generation, "conditions": new_conditions}
        )

    @kopf.on.event(GROUP, VERSION, SLO_PLURAL, registry=registry)
    @kopf.on.event(GROUP, VERSION, SLA_PLURAL, registry=registry)
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
        kind = _kind_of(resource.plural)
        metadata = body.get("metadata", {})
        if event["type"] == "DELETED":
            objects.remove(kind, metadata.get("namespace") or "default", metadata["name"])
        else:
            objects.upsert(kind, body)

    if cfg.webhook_port:
        _register_admission(registry, cfg)


def _register_admission(
    registry: kopf.OperatorRegistry, cfg: operator_settings.OperatorConfig
) -> None:
    """The validating webhook for both kinds (only when a webhook server is configured)."""
    failure_policy_ignore = cfg.webhook_failure_policy == "Ignore"

    admitted: list[kopf.Operation] = ["CREATE", "UPDATE"]

    @kopf.on.validate(
        GROUP,
        VERSION,
        SLO_PLURAL,
        id="validate-slo",
        registry=registry,
        operations=admitted,
        ignore_failures=failure_policy_ignore,
    )
    @kopf.on.validate(
        GROUP,
        VERSION,
        SLA_PLURAL,
        id="validate-sla",
        registry=registry,
        operations=admitted,
        ignore_failures=failure_policy_ignore,
    )
    def validate_manifest(body: kopf.Body, resource: kopf.Resource, **kwargs: Any) -> None:
        """The admission webhook: exactly the checks of `slo-operator validate`."""
        kind = _kind_of(resource.plural)
        old = kwargs.get("old")
        if (
            kwargs.get("operation") == "UPDATE"
            and old is not None
            and old.get("spec") == body.get("spec")
        ):
            # Only a changed spec is judged. An object admitted while the webhook was absent (or
            # failing open) keeps its invalid spec; refusing metadata updates would refuse the
            # operator's own annotation patch, and with it the Stalled status that explains why.
            metrics.WEBHOOK_DECISIONS.labels(kind, "allowed").inc()
            return
        checked = checks.check_resource(dict(body), source="<admission>")
        if isinstance(checked, list):
            metrics.WEBHOOK_DECISIONS.labels(kind, "denied").inc()
            message = "; ".join(
                f"{p.field}: {p.message}" if p.field else p.message for p in checked
            )
            raise kopf.AdmissionError(message, code=422)
        metrics.WEBHOOK_DECISIONS.labels(kind, "allowed").inc()


def _check_or_stall(
    body: kopf.Body, status: kopf.Status, patch: kopf.Patch, kind: str
) -> validation.Resource | None:
    """The typed resource; or, for an invalid one, Stalled/InvalidSpec, a Warning and None."""
    checked = checks.check_resource(dict(body), source="<cluster>")
    if not isinstance(checked, list):
        return checked
    message = checks.summary(checked)
    generation = body.metadata.get("generation")
    old_conditions = list(status.get("conditions") or [])
    _set_stalled(patch, status, old_conditions, generation, "InvalidSpec", message)
    kopf.warn(body, reason="InvalidSpec", message=message)
    metrics.RECONCILES.labels(kind, "invalid").inc()
    return None


def _explain_api_error(
    error: kubernetes.client.ApiException, cfg: operator_settings.OperatorConfig
) -> tuple[str, str]:
    if error.status == 404 and cfg.rule_output == "PrometheusRule":
        return (
            "PrometheusRuleCRDMissing",
            "the PrometheusRule CRD (monitoring.coreos.com/v1) is not installed; install the "
            "prometheus-operator CRDs or run the operator with --rule-output ConfigMap",
        )
    if error.status == 403:
        return (
            "Forbidden",
            f"the operator may not write {cfg.rule_output} objects here: {error.reason}",
        )
    return ("ApiError", f"writing {cfg.rule_output} failed: {error.status} {error.reason}")


def _with_generation(
    items: list[dict[str, Any]], type_: str, generation: int | None
) -> list[dict[str, Any]]:
    for condition in items:
        if condition.get("type") == type_ and generation is not None:
            condition["observedGeneration"] = generation
    return items


def _set_stalled(
    patch: kopf.Patch,
    status: kopf.Status,
    old_conditions: list[dict[str, Any]],
    generation: int | None,
    reason: str,
    message: str,
) -> None:
    new_conditions = conditions.set_condition(
        old_conditions, "Stalled", True, reason, message, generation
    )
    new_conditions = conditions.set_condition(
        new_conditions, "Ready", False, reason, message, generation
    )
    _patch_status_if_changed(
        patch, status, {"observedGeneration": generation, "conditions": new_conditions}
    )


def _patch_status_if_changed(
    patch: kopf.Patch, status: kopf.Status, fields: dict[str, Any]
) -> None:
    """Patch only the fields whose value differs, so an unchanged object sees no write."""
    for key, value in fields.items():
        current = status.get(key)
        if key == "conditions":
            if not conditions.same_conditions(current or [], value):
                patch.status[key] = value
        elif current != value:
            patch.status[key] = value


logger = logging.getLogger(__name__)
