"""Status objects with every field set, as the operator could write them.

Used to prove that every status field has a declared place in the CRD schema (unit tier) and
survives a write through the status subresource of a real apiserver (cluster tier): a field
missing from the schema would be pruned silently. Tests check that `unset_fields` is empty, so
they fail when a status model gains a field these objects do not set yet.
"""

from __future__ import annotations

import datetime
from typing import Any

import pydantic

from slo_operator.api import status

_NOW = datetime.datetime(2026, 11, 27, 10, 0, tzinfo=datetime.UTC)


def _condition(type_: str, state: str, reason: str) -> status.Condition:
    return status.Condition(
        type=type_,
        status=state,  # type: ignore[arg-type]
        reason=reason,
        message=f"{type_} is {state}",
        last_transition_time=_NOW,
        observed_generation=4,
    )


def _commitment() -> status.CommitmentStatus:
    return status.CommitmentStatus(
        name="checkout-availability",
        target=99.5,
        attainment=99.71,
        met=True,
        projected=99.64,
        coverage=99.9,
    )


def _period(start: datetime.datetime, end: datetime.datetime) -> status.PeriodStatus:
    return status.PeriodStatus(
        start=start,
        end=end,
        commitments=[_commitment()],
        attainment=99.71,
        credit_percent=0.0,
        coverage=99.9,
        low_coverage=False,
    )


SLO_STATUS = status.ServiceLevelObjectiveStatus(
    observed_generation=4,
    conditions=[
        _condition("Ready", "True", "RulesApplied"),
        _condition("Stalled", "False", "Evaluating"),
        _condition("ErrorBudgetExhausted", "False", "BudgetLeft"),
        _condition("ReleaseFreeze", "False", "BudgetLeft"),
    ],
    rules=status.RulesSummary(
        kind="PrometheusRule", name="slo-chatbot-latency", recording_rules=9, alerting_rules=3
    ),
    last_evaluation_time=_NOW,
    window_start=_NOW - datetime.timedelta(days=1),
    target=99.0,
    sli=99.412,
    error_budget_remaining_percent=41.2,
    burn_rates={"5m": 0.1, "1h": 1.3, "6h": 0.9, "1d": 1.1},
    source="RecordedSeries",
    objectives=[
        status.ObjectiveStatus(
            name="standard",
            target=99.0,
            sli=99.412,
            met=True,
            error_budget_remaining_percent=41.2,
            error_budget_remaining="1234 events",
        )
    ],
    policy=status.PolicyStatus(
        active_steps=["slow-down"],
        since=_NOW,
        unannounced=[status.PolicyAnnouncement(step="slow-down", at=_NOW)],
    ),
    groups=[
        status.GroupStatus(
            labels={"tenant": "globex"},
            sli=99.2,
            error_budget_remaining_percent=20.0,
            no_data=True,
            no_data_since=datetime.datetime(2026, 11, 27, 9, 0, tzinfo=datetime.UTC),
        ),
    ],
)

SLA_STATUS = status.ServiceLevelAgreementStatus(
    observed_generation=2,
    conditions=[
        _condition("Ready", "True", "Evaluated"),
        _condition("Stalled", "False", "Evaluating"),
        _condition("Compliant", "True", "CommitmentsMet"),
        _condition("AtRisk", "False", "OnTrack"),
        _condition("Unbacked", "False", "BackedByStricterSLOs"),
        _condition("LowCoverage", "False", "Covered"),
    ],
    current_period=_period(
        datetime.datetime(2026, 11, 1, tzinfo=datetime.UTC),
        datetime.datetime(2026, 12, 1, tzinfo=datetime.UTC),
    ),
    history=[
        _period(
            datetime.datetime(2026, 10, 1, tzinfo=datetime.UTC),
            datetime.datetime(2026, 11, 1, tzinfo=datetime.UTC),
        )
    ],
)


def wire(model: pydantic.BaseModel) -> dict[str, Any]:
    """The status as the operator writes it: camelCase, JSON types."""
    return model.model_dump(mode="json", by_alias=True)


def unset_fields(value: Any, path: str = "status") -> list[str]:
    """Paths of fields left None (or empty) anywhere in a wire-form status."""
    if value is None or value == [] or value == {}:
        return [path]
    found: list[str] = []
    if isinstance(value, dict):
        for key, item in value.items():
            found += unset_fields(item, f"{path}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += unset_fields(item, f"{path}[{index}]")
    return found
