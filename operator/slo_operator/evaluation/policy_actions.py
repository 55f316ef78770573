"""Carrying out the Event and Webhook actions of an error budget policy step that was crossed."""

from __future__ import annotations

import datetime
import logging
from collections.abc import Awaitable, Mapping, Sequence
from typing import Any

from ..api import conditions, slo, times
from ..budget import objectives
from . import kinds, metrics, policy_webhooks, registry

logger = logging.getLogger(__name__)


async def carry_out(
    writer: kinds.StatusWriter,
    webhook_hosts: Sequence[str],
    entry: registry.Entry,
    service: str,
    primary: objectives.ObjectiveNumbers,
    step: str,
    action_type: slo.PolicyActionType,
    webhook: slo.WebhookTarget | None,
    at: datetime.datetime,
) -> None:
    """One action of `step`; failures are logged, counted and reported as Events, not raised."""
    summary = (
        f"error budget policy step {step} reached: {primary.consumed_percent:.1f}% of "
        f"objective {primary.name}'s error budget consumed (SLI {primary.sli:.3f}%, "
        f"target {primary.target}%)"
    )
    if action_type is slo.PolicyActionType.EVENT:
        await _attempt(
            "Event",
            writer.emit_event(
                entry.ref, entry.uid, conditions.Reason.ERROR_BUDGET_POLICY, summary, warning=True
            ),
        )
    elif action_type is slo.PolicyActionType.WEBHOOK and webhook is not None:
        payload = {
            "kind": entry.ref.kind,
            "namespace": entry.ref.namespace,
            "name": entry.ref.name,
            "uid": entry.uid,
            "service": service,
            "step": step,
            "objective": primary.name,
            "target": primary.target,
            "sli": primary.sli,
            "errorBudgetRemainingPercent": primary.error_budget_remaining_percent,
            "consumedPercent": primary.consumed_percent,
            "at": times.format_timestamp(at),
            "idempotencyKey": f"{entry.uid}/{step}/{times.format_timestamp(at)}",
            "message": summary,
        }
        await _attempt("Webhook", _post(writer, webhook_hosts, entry, webhook, payload))


async def _post(
    writer: kinds.StatusWriter,
    webhook_hosts: Sequence[str],
    entry: registry.Entry,
    target: slo.WebhookTarget,
    payload: Mapping[str, Any],
) -> None:
    ref = target.secret_ref
    try:
        url = await writer.read_secret(entry.ref.namespace, ref.name, ref.key)
        await policy_webhooks.post(url, payload, webhook_hosts)
    except (policy_webhooks.WebhookRefused, policy_webhooks.WebhookFailed, LookupError) as error:
        await writer.emit_event(
            entry.ref,
            entry.uid,
            conditions.Reason.WEBHOOK_FAILED,
            f"policy step {payload['step']}: webhook from Secret {ref.name}/{ref.key} "
            f"not delivered: {error}",
            warning=True,
        )
        raise


async def _attempt(kind: str, action: Awaitable[None]) -> None:
    try:
        await action
    except Exception as error:
        metrics.POLICY_ACTIONS.labels(kind, "failed").inc()
        logger.warning("policy action %s failed: %s", kind, error)
        return
    metrics.POLICY_ACTIONS.labels(kind, "done").inc()
