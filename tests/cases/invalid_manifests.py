"""Invalid manifests, one per rule of the API, shared by every tier that judges.

Each case is a valid base manifest with one small mutation, the field a rejection must name, and
whether the apiserver itself can judge it (structural schema, patterns, enums, bounds, CEL) or only
the operator's admission webhook can (anything that needs the PromQL parser, the IANA time zone
database, a cron parser, or Prometheus duration arithmetic), with the reason.

`tests/unit/test_validate_cli.py` runs `slo-operator validate` on every case;
`tests/cluster/test_crds.py` applies every `apiserver_can_judge` case to a real kube-apiserver.
"""

from __future__ import annotations

import copy
import dataclasses
import re
from collections.abc import Mapping
from typing import Any, Final

DELETE: Final = object()
"""Mutation value that removes the field."""

SLO_RATIO: Final[Mapping[str, Any]] = {
    "apiVersion": "slo.dev/v1alpha1",
    "kind": "ServiceLevelObjective",
    "metadata": {"name": "checkout-availability"},
    "spec": {
        "service": "checkout",
        "indicator": {
            "ratio": {
                "errors": 'http_requests_total{job="checkout",code=~"5.."}',
                "total": 'http_requests_total{job="checkout"}',
            }
        },
        "window": "30d",
        "objectives": [{"name": "standard", "target": 99.9}],
        "labels": {"tier": "1"},
        "groupBy": ["tenant"],
    },
}

SLO_LATENCY: Final[Mapping[str, Any]] = {
    "apiVersion": "slo.dev/v1alpha1",
    "kind": "ServiceLevelObjective",
    "metadata": {"name": "chatbot-latency"},
    "spec": {
        "service": "chatbot",
        "indicator": {"latency": {"metric": 'http_request_duration_seconds{job="chatbot"}'}},
        "window": "1d",
        "objectives": [
            {"name": "minimum", "target": 90, "threshold": "150ms"},
            {"name": "standard", "target": 99, "threshold": "200ms"},
        ],
        "primaryObjective": "standard",
        "alerting": {"annotations": {"runbook_url": "https://runbooks.example.com/chatbot"}},
        "errorBudgetPolicy": [
            {"name": "freeze", "whenConsumedPercent": 100, "actions": [{"type": "Event"}]}
        ],
    },
}

SLO_TIMESLICES: Final[Mapping[str, Any]] = {
    "apiVersion": "slo.dev/v1alpha1",
    "kind": "ServiceLevelObjective",
    "metadata": {"name": "catalog-uptime"},
    "spec": {
        "service": "catalog",
        "indicator": {"boolGauge": {"metric": 'probe_success{job="blackbox"}'}},
        "calendar": {"period": "Month", "timeZone": "Europe/Berlin"},
        "budgetingMethod": "Timeslices",
        "timeslice": {"duration": "1m", "target": 95},
        "objectives": [{"name": "standard", "target": 99.5}],
    },
}

SLA: Final[Mapping[str, Any]] = {
    "apiVersion": "slo.dev/v1alpha1",
    "kind": "ServiceLevelAgreement",
    "metadata": {"name": "acme-store"},
    "spec": {
        "customer": "acme-store",
        "period": "Month",
        "timeZone": "UTC",
        "commitments": [
            {
                "name": "checkout-availability",
                "sloRef": {"name": "checkout-availability"},
                "target": 99.5,
                "groupLabels": {"tenant": "acme"},
            }
        ],
        "credits": [
            {"below": 99.5, "creditPercent": 10},
            {"below": 99.0, "creditPercent": 25},
        ],
        "exclusions": [
            {"name": "weekly", "schedule": "0 2 * * SUN", "duration": "2h"},
            {"name": "freeze", "start": "2026-12-24T00:00:00Z", "end": "2026-12-26T00:00:00Z"},
        ],
    },
}

SLO_RATIO_TIMESLICES: Final[Mapping[str, Any]] = {
    **SLO_TIMESLICES,
    "metadata": {"name": "catalog-uptime-mean"},
    "spec": {
        **SLO_TIMESLICES["spec"],
        "budgetingMethod": "RatioTimeslices",
        # The mean of the slices' ratios: no slice target.
        "timeslice": {"duration": "1m"},
    },
}

VALID_BASES: Final = {
    "slo-ratio": SLO_RATIO,
    "slo-latency": SLO_LATENCY,
    "slo-timeslices": SLO_TIMESLICES,
    "slo-ratio-timeslices": SLO_RATIO_TIMESLICES,
    "sla": SLA,
}
"""The bases themselves, valid: a test proves it, so each case fails for its mutation alone."""

_PATH_PART = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def _parts(path: str) -> list[str | int]:
    return [name if name else int(index) for name, index in _PATH_PART.findall(path)]


def mutate(base: Mapping[str, Any], changes: Mapping[str, Any]) -> dict[str, Any]:
    """A deep copy of `base` with each dotted path (`spec.objectives[0].target`) set or deleted."""
    manifest = copy.deepcopy(dict(base))
    for path, value in changes.items():
        *parents, last = _parts(path)
        node: Any = manifest
        for part in parents:
            node = node[part]
        if value is DELETE:
            del node[last]
        elif isinstance(last, int) and last == len(node):
            node.append(value)
        else:
            node[last] = value
    return manifest


@dataclasses.dataclass(frozen=True)
class InvalidCase:
    """One invalid manifest and what its rejection must say."""

    id: str
    rule: str
    """The rule of the API it breaks, in words."""
    manifest: dict[str, Any]
    field: str
    """Field path `slo-operator validate` names, exactly or as a prefix (`spec.labels` for a
    problem at `spec.labels.bad-name`)."""
    apiserver_can_judge: bool
    why_webhook_only: str = ""
    """Why the apiserver cannot judge it (empty when it can)."""
    apiserver_field: str | None = None
    """The path the apiserver names when it is coarser than `field` (a CEL rule on the parent,
    a duplicate list key); default `field`."""
    message_contains: str = ""
    """A fragment the CLI's message must contain, where the wording matters (e.g. a column)."""

    @property
    def expected_apiserver_field(self) -> str:
        return self.apiserver_field or self.field


def _case(
    id: str,
    rule: str,
    base: Mapping[str, Any],
    changes: Mapping[str, Any],
    field: str,
    *,
    apiserver: bool | str,
    apiserver_field: str | None = None,
    message_contains: str = "",
) -> InvalidCase:
    """`apiserver` is True, or the reason only the webhook can judge the case."""
    return InvalidCase(
        id=id,
        rule=rule,
        manifest=mutate(base, changes),
        field=field,
        apiserver_can_judge=apiserver is True,
        why_webhook_only="" if apiserver is True else str(apiserver),
        apiserver_field=apiserver_field,
        message_contains=message_contains,
    )


_NEEDS_PROMQL = "the PromQL parser judges what the selector pattern lets through"
_NEEDS_DURATIONS = (
    "CEL has no Prometheus durations (d, w, y units); the pattern checks the shape only"
)
_NEEDS_TZDATA = "CEL has no IANA time zone database"
_NEEDS_CRON = "CEL has no cron parser; the pattern checks for five fields only"
_NEEDS_RULES = "only rule generation knows which labels its series set (rules.series)"
_NEEDS_KIND = "kubectl maps the kind to a resource before any schema is consulted"

_ELEVEN_OBJECTIVES = [{"name": f"tier-{index}", "target": 90} for index in range(11)]

CASES: Final[tuple[InvalidCase, ...]] = (
    # --- indicator: exactly one, ratio with exactly one of errors/good ------------------------
    _case(
        "indicator-none",
        "exactly one indicator",
        SLO_RATIO,
        {"spec.indicator": {}},
        "spec.indicator",
        apiserver=True,
    ),
    _case(
        "indicator-two",
        "exactly one indicator",
        SLO_RATIO,
        {"spec.indicator.boolGauge": {"metric": "up"}},
        "spec.indicator",
        apiserver=True,
    ),
    _case(
        "ratio-errors-and-good",
        "a ratio has errors or good, not both",
        SLO_RATIO,
        {"spec.indicator.ratio.good": 'http_requests_total{code!~"5.."}'},
        "spec.indicator.ratio",
        apiserver=True,
    ),
    # --- thresholds ---------------------------------------------------------------------------
    _case(
        "latency-without-threshold",
        "latency objectives need a threshold",
        SLO_LATENCY,
        {"spec.objectives[1].threshold": DELETE},
        "spec.objectives[1].threshold",
        apiserver=True,
        apiserver_field="spec.objectives",
    ),
    _case(
        "ratio-with-threshold",
        "other indicators forbid a threshold",
        SLO_RATIO,
        {"spec.objectives[0].threshold": "200ms"},
        "spec.objectives[0].threshold",
        apiserver=True,
        apiserver_field="spec.objectives",
    ),
    _case(
        "threshold-not-a-duration",
        "durations are Prometheus durations",
        SLO_LATENCY,
        {"spec.objectives[0].threshold": "fast"},
        "spec.objectives[0].threshold",
        apiserver=True,
    ),
    # --- objectives ---------------------------------------------------------------------------
    _case(
        "objective-names-duplicate",
        "objective names are unique",
        SLO_LATENCY,
        {"spec.objectives[1].name": "minimum"},
        "spec.objectives[1].name",
        apiserver=True,
        apiserver_field="spec.objectives[1]",
    ),
    _case(
        "objectives-empty",
        "1..10 objectives",
        SLO_RATIO,
        {"spec.objectives": []},
        "spec.objectives",
        apiserver=True,
    ),
    _case(
        "objectives-eleven",
        "1..10 objectives",
        SLO_RATIO,
        {"spec.objectives": _ELEVEN_OBJECTIVES},
        "spec.objectives",
        apiserver=True,
    ),
    _case(
        "primary-objective-unknown",
        "primaryObjective names an objective",
        SLO_LATENCY,
        {"spec.primaryObjective": "gold"},
        "spec.primaryObjective",
        apiserver=True,
    ),
    _case(
        "target-zero",
        "target strictly between 0 and 100",
        SLO_RATIO,
        {"spec.objectives[0].target": 0},
        "spec.objectives[0].target",
        apiserver=True,
    ),
    _case(
        "target-hundred",
        "target strictly between 0 and 100",
        SLO_RATIO,
        {"spec.objectives[0].target": 100},
        "spec.objectives[0].target",
        apiserver=True,
    ),
    # --- budgeting method and window ----------------------------------------------------------
    _case(
        "timeslices-without-timeslice",
        "timeslice present for the timeslice methods",
        SLO_TIMESLICES,
        {"spec.timeslice": DELETE},
        "spec.timeslice",
        apiserver=True,
    ),
    _case(
        "ratio-timeslices-without-timeslice",
        "timeslice present for the timeslice methods",
        SLO_TIMESLICES,
        {"spec.timeslice": DELETE, "spec.budgetingMethod": "RatioTimeslices"},
        "spec.timeslice",
        apiserver=True,
    ),
    _case(
        "timeslices-without-slice-target",
        "timeslice.target present for Timeslices, absent for RatioTimeslices",
        SLO_TIMESLICES,
        {"spec.timeslice.target": DELETE},
        "spec.timeslice.target",
        apiserver=True,
    ),
    _case(
        "ratio-timeslices-with-slice-target",
        "timeslice.target present for Timeslices, absent for RatioTimeslices",
        SLO_TIMESLICES,
        {"spec.budgetingMethod": "RatioTimeslices"},
        "spec.timeslice.target",
        apiserver=True,
    ),
    _case(
        "budgeting-method-unknown",
        "budgetingMethod is one of three",
        SLO_RATIO,
        {"spec.budgetingMethod": "Events"},
        "spec.budgetingMethod",
        apiserver=True,
    ),
    _case(
        "timeslice-duration-not-tiling-an-hour",
        "slices tile an hour",
        SLO_TIMESLICES,
        {"spec.timeslice.duration": "7m"},
        "spec.timeslice.duration",
        apiserver=_NEEDS_DURATIONS,
    ),
    _case(
        "window-and-calendar",
        "window xor calendar",
        SLO_RATIO,
        {"spec.calendar": {"period": "Month"}},
        "spec.window",
        apiserver=True,
    ),
    _case(
        "neither-window-nor-calendar",
        "window xor calendar",
        SLO_RATIO,
        {"spec.window": DELETE},
        "spec.window",
        apiserver=True,
    ),
    _case(
        "window-not-a-duration",
        "durations are Prometheus durations",
        SLO_RATIO,
        {"spec.window": "30 days"},
        "spec.window",
        apiserver=True,
    ),
    _case(
        "window-zero",
        "durations are longer than zero",
        SLO_RATIO,
        {"spec.window": "0d"},
        "spec.window",
        apiserver=_NEEDS_DURATIONS,
    ),
    _case(
        "window-too-short",
        "windows are between 1h and 366d",
        SLO_RATIO,
        {"spec.window": "5m"},
        "spec.window",
        apiserver=_NEEDS_DURATIONS,
    ),
    _case(
        "no-data-for-not-a-duration",
        "durations are Prometheus durations",
        SLO_RATIO,
        {"spec.alerting": {"noData": {"for": "ten minutes"}}},
        "spec.alerting.noData.for",
        apiserver=True,
    ),
    _case(
        "calendar-period-unknown",
        "calendar periods are Week, Month, Quarter or Year",
        SLO_TIMESLICES,
        {"spec.calendar.period": "Fortnight"},
        "spec.calendar.period",
        apiserver=True,
    ),
    _case(
        "calendar-week-start-for-a-month",
        "weekStart only for period Week",
        SLO_TIMESLICES,
        {"spec.calendar.weekStart": "Sunday"},
        "spec.calendar.weekStart",
        apiserver=True,
    ),
    _case(
        "calendar-week-start-unknown",
        "weekStart is a day of the week",
        SLO_TIMESLICES,
        {"spec.calendar": {"period": "Week", "weekStart": "Sun"}},
        "spec.calendar.weekStart",
        apiserver=True,
    ),
    _case(
        "calendar-time-zone-unknown",
        "valid IANA time zone",
        SLO_TIMESLICES,
        {"spec.calendar.timeZone": "Mars/Olympus_Mons"},
        "spec.calendar.timeZone",
        apiserver=_NEEDS_TZDATA,
    ),
    # --- selectors ----------------------------------------------------------------------------
    _case(
        "selector-aggregation",
        "selectors are plain vector selectors: no sum(...)",
        SLO_RATIO,
        {"spec.indicator.ratio.total": 'sum(rate(http_requests_total{job="checkout"}[5m]))'},
        "spec.indicator.ratio.total",
        apiserver=True,
        message_contains="column 1",
    ),
    _case(
        "selector-or-vector",
        "selectors are plain vector selectors: no `x or vector(1)`",
        SLO_RATIO,
        {"spec.indicator.ratio.errors": 'http_requests_total{code=~"5.."} or vector(1)'},
        "spec.indicator.ratio.errors",
        apiserver=True,
        message_contains="column 33",
    ),
    _case(
        "selector-unclosed-brace",
        "selectors are plain vector selectors: braces closed",
        SLO_LATENCY,
        {"spec.indicator.latency.metric": 'http_request_duration_seconds{job="chatbot"'},
        "spec.indicator.latency.metric",
        apiserver=True,
        message_contains="column 30",
    ),
    _case(
        "selector-range",
        "selectors are plain vector selectors: no range",
        SLO_TIMESLICES,
        {"spec.indicator.boolGauge.metric": 'probe_success{job="blackbox"}[5m]'},
        "spec.indicator.boolGauge.metric",
        apiserver=True,
    ),
    _case(
        "selector-invalid-regex",
        "selectors parse: matchers hold valid regular expressions",
        SLO_RATIO,
        {"spec.indicator.ratio.errors": 'http_requests_total{code=~"5(("}'},
        "spec.indicator.ratio.errors",
        apiserver=_NEEDS_PROMQL + " (RE2 syntax of a =~ value)",
    ),
    _case(
        "selector-reserved-word",
        "selectors parse: a metric name is not a PromQL keyword",
        SLO_RATIO,
        {"spec.indicator.ratio.total": "bool"},
        "spec.indicator.ratio.total",
        apiserver=_NEEDS_PROMQL + " (PromQL keywords)",
    ),
    # --- labels -------------------------------------------------------------------------------
    _case(
        "labels-invalid-name",
        "label names are Prometheus label names",
        SLO_RATIO,
        {"spec.labels": {"cost-center": "shop"}},
        "spec.labels",
        apiserver=True,
    ),
    _case(
        "labels-reserved-name",
        "label names starting with __ are reserved",
        SLO_RATIO,
        {"spec.labels": {"__name__": "x"}},
        "spec.labels",
        apiserver=True,
    ),
    _case(
        "labels-set-by-the-rules",
        "labels do not override the labels the generated rules set",
        SLO_RATIO,
        {"spec.labels": {"slo": "other"}},
        "spec.labels.slo",
        apiserver=_NEEDS_RULES,
    ),
    _case(
        "group-by-label-set-by-the-rules",
        "groupBy does not use the labels the generated rules set",
        SLO_RATIO,
        {"spec.groupBy": ["slo_namespace"]},
        "spec.groupBy[0]",
        apiserver=_NEEDS_RULES,
    ),
    _case(
        "alert-labels-invalid-name",
        "label names are Prometheus label names",
        SLO_RATIO,
        {"spec.alerting": {"page": {"labels": {"1severity": "critical"}}}},
        "spec.alerting.page.labels",
        apiserver=True,
    ),
    _case(
        "annotations-invalid-name",
        "annotation names are Prometheus label names",
        SLO_LATENCY,
        {"spec.alerting.annotations": {"runbook-url": "https://runbooks.example.com"}},
        "spec.alerting.annotations",
        apiserver=True,
    ),
    _case(
        "group-by-invalid-name",
        "groupBy entries are Prometheus label names",
        SLO_RATIO,
        {"spec.groupBy": ["tenant-id"]},
        "spec.groupBy[0]",
        apiserver=True,
    ),
    _case(
        "group-by-duplicate",
        "groupBy entries are unique",
        SLO_RATIO,
        {"spec.groupBy": ["tenant", "tenant"]},
        "spec.groupBy",
        apiserver=True,
        apiserver_field="spec.groupBy[1]",
    ),
    # --- error budget policy ------------------------------------------------------------------
    _case(
        "policy-webhook-without-target",
        "a Webhook action names its target",
        SLO_LATENCY,
        {"spec.errorBudgetPolicy[0].actions[0].type": "Webhook"},
        "spec.errorBudgetPolicy[0].actions[0].webhook",
        apiserver=True,
    ),
    _case(
        "policy-step-names-duplicate",
        "policy step names are unique",
        SLO_LATENCY,
        {
            "spec.errorBudgetPolicy[1]": {
                "name": "freeze",
                "whenConsumedPercent": 50,
                "actions": [{"type": "Event"}],
            }
        },
        "spec.errorBudgetPolicy",
        apiserver=True,
        apiserver_field="spec.errorBudgetPolicy[1]",
    ),
    # --- unknown fields and wrong types -------------------------------------------------------
    _case(
        "unknown-field-in-spec",
        "unknown fields are rejected",
        SLO_RATIO,
        {"spec.windowSize": "30d"},
        "spec.windowSize",
        apiserver=True,
    ),
    _case(
        "unknown-field-nested",
        "unknown fields are rejected",
        SLO_RATIO,
        {"spec.objectives[0].goal": 99},
        "spec.objectives[0].goal",
        apiserver=True,
    ),
    _case(
        "snake-case-field",
        "fields are camelCase on the wire",
        SLO_TIMESLICES,
        {"spec.budgeting_method": "Timeslices", "spec.budgetingMethod": DELETE},
        "spec.budgeting_method",
        apiserver=True,
    ),
    _case(
        "target-is-text",
        "wrong types are rejected",
        SLO_RATIO,
        {"spec.objectives[0].target": "high"},
        "spec.objectives[0].target",
        apiserver=True,
    ),
    _case(
        "target-is-quoted-number",
        "wrong types are rejected, also where a conversion would be possible",
        SLO_RATIO,
        {"spec.objectives[0].target": "99.9"},
        "spec.objectives[0].target",
        apiserver=True,
    ),
    _case(
        "objectives-is-a-string",
        "wrong types are rejected",
        SLO_RATIO,
        {"spec.objectives": "standard"},
        "spec.objectives",
        apiserver=True,
    ),
    _case(
        "enabled-is-text",
        "wrong types are rejected",
        SLO_RATIO,
        {"spec.alerting": {"enabled": "sometimes"}},
        "spec.alerting.enabled",
        apiserver=True,
    ),
    _case(
        "label-value-is-a-number",
        "wrong types are rejected",
        SLO_RATIO,
        {"spec.labels": {"tier": 1}},
        "spec.labels.tier",
        apiserver=True,
    ),
    _case(
        "service-missing",
        "required fields are present",
        SLO_RATIO,
        {"spec.service": DELETE},
        "spec.service",
        apiserver=True,
    ),
    _case(
        "kind-unknown",
        "kinds are ServiceLevelObjective or ServiceLevelAgreement",
        SLO_RATIO,
        {"kind": "ServiceLevelObjectives"},
        "kind",
        apiserver=_NEEDS_KIND,
    ),
    # --- SLA: commitments, credits, exclusions, time zone -------------------------------------
    _case(
        "sla-week-start-for-a-month",
        "weekStart only for period Week",
        SLA,
        {"spec.weekStart": "Sunday"},
        "spec.weekStart",
        apiserver=True,
    ),
    _case(
        "commitment-target-hundred",
        "target strictly between 0 and 100",
        SLA,
        {"spec.commitments[0].target": 100},
        "spec.commitments[0].target",
        apiserver=True,
    ),
    _case(
        "commitment-names-duplicate",
        "commitment names are unique",
        SLA,
        {
            "spec.commitments[1]": {
                "name": "checkout-availability",
                "sloRef": {"name": "checkout-latency"},
                "target": 99,
            }
        },
        "spec.commitments[1].name",
        apiserver=True,
        apiserver_field="spec.commitments[1]",
    ),
    _case(
        "credits-ascending",
        "credits strictly descending",
        SLA,
        {"spec.credits[1].below": 99.7},
        "spec.credits[1].below",
        apiserver=True,
        apiserver_field="spec.credits",
    ),
    _case(
        "credits-equal",
        "credits strictly descending",
        SLA,
        {"spec.credits[1].below": 99.5},
        "spec.credits[1].below",
        apiserver=True,
        apiserver_field="spec.credits",
    ),
    _case(
        "credit-percent-zero",
        "0 < creditPercent",
        SLA,
        {"spec.credits[0].creditPercent": 0},
        "spec.credits[0].creditPercent",
        apiserver=True,
    ),
    _case(
        "credit-percent-over-hundred",
        "creditPercent <= 100",
        SLA,
        {"spec.credits[1].creditPercent": 101},
        "spec.credits[1].creditPercent",
        apiserver=True,
    ),
    _case(
        "exclusion-end-before-start",
        "exclusions end after they start",
        SLA,
        {"spec.exclusions[1].end": "2026-12-23T00:00:00Z"},
        "spec.exclusions[1].end",
        apiserver=True,
    ),
    _case(
        "exclusion-start-without-offset",
        "exclusion times are RFC 3339 with an offset",
        SLA,
        {"spec.exclusions[1].start": "2026-12-24T00:00:00"},
        "spec.exclusions[1].start",
        apiserver=True,
    ),
    _case(
        "exclusion-both-forms",
        "an exclusion is recurring or fixed, not both",
        SLA,
        {"spec.exclusions[0].start": "2026-12-24T00:00:00Z"},
        "spec.exclusions[0]",
        apiserver=True,
    ),
    _case(
        "exclusion-schedule-without-duration",
        "a recurring exclusion has a duration",
        SLA,
        {"spec.exclusions[0].duration": DELETE},
        "spec.exclusions[0].duration",
        apiserver=True,
        apiserver_field="spec.exclusions[0]",
    ),
    _case(
        "exclusion-cron-not-five-fields",
        "valid cron schedule",
        SLA,
        {"spec.exclusions[0].schedule": "every sunday at 2"},
        "spec.exclusions[0].schedule",
        apiserver=True,
    ),
    _case(
        "exclusion-cron-out-of-range",
        "valid cron schedule",
        SLA,
        {"spec.exclusions[0].schedule": "0 25 * * SUN"},
        "spec.exclusions[0].schedule",
        apiserver=_NEEDS_CRON,
    ),
    _case(
        "exclusion-duration-invalid",
        "valid exclusion duration",
        SLA,
        {"spec.exclusions[0].duration": "2 hours"},
        "spec.exclusions[0].duration",
        apiserver=True,
    ),
    _case(
        "sla-time-zone-unknown",
        "valid IANA time zone",
        SLA,
        {"spec.timeZone": "Europe/Atlantis"},
        "spec.timeZone",
        apiserver=_NEEDS_TZDATA,
    ),
    _case(
        "sla-period-unknown",
        "calendar periods are Week, Month, Quarter or Year",
        SLA,
        {"spec.period": "Monthly"},
        "spec.period",
        apiserver=True,
    ),
    _case(
        "sla-unknown-field",
        "unknown fields are rejected",
        SLA,
        {"spec.commitments[0].slo": "checkout-availability"},
        "spec.commitments[0].slo",
        apiserver=True,
    ),
    _case(
        "slo-name-too-long-for-its-rules",
        "an SLO's name leaves room for its rule object's `slo-` prefix (249 characters)",
        SLO_RATIO,
        {"metadata.name": "a" * 250},
        "metadata.name",
        apiserver=True,
    ),
    _case(
        "history-limit-zero",
        "historyLimit is between 1 and 120",
        SLA,
        {"spec.historyLimit": 0},
        "spec.historyLimit",
        apiserver=True,
    ),
)

CASES_BY_ID: Final = {case.id: case for case in CASES}
assert len(CASES_BY_ID) == len(CASES), "case ids must be unique"
