"""What the reconcile handlers write into status, and who owns Ready and Stalled (pure)."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from slo_operator.api import conditions, status
from slo_operator.kube import reconcile_status
from support import merge_patch

RULES = {"kind": "PrometheusRule", "name": "slo-checkout", "recordingRules": 9, "alertingRules": 3}
APPLIED = status.RulesSummary.model_validate(RULES)
EARLIER = "2026-11-27T10:00:00Z"


def condition(type_: str, status: str, reason: str, generation: int = 1) -> dict[str, Any]:
    return {
        "type": type_,
        "status": status,
        "reason": reason,
        "message": f"{reason} message",
        "lastTransitionTime": EARLIER,
        "observedGeneration": generation,
    }


def evaluated_status(generation: int = 1) -> dict[str, Any]:
    """An SLO the evaluation loop has measured: Ready and Stalled are the loop's."""
    return {
        "observedGeneration": generation,
        "rules": RULES,
        "target": 99.0,
        "conditions": [
            condition("Ready", "True", "Evaluated", generation),
            condition("Stalled", "False", "Evaluated", generation),
        ],
    }


def by_type(items: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {item["type"]: item for item in items}


def test_an_edit_records_the_new_generation_on_conditions_the_loop_owns() -> None:
    """The spec moved to generation 2 while the loop owns Ready: the patch carries the new
    observedGeneration on Ready and Stalled and keeps the loop's reasons and messages."""
    status = evaluated_status()
    desired = reconcile_status.slo_rules_applied(status["conditions"], 2, APPLIED, 99.0)
    patch = conditions.status_patch(status, desired)
    assert patch["observedGeneration"] == 2
    written = by_type(patch["conditions"])
    assert written["Ready"]["observedGeneration"] == 2
    assert written["Stalled"]["observedGeneration"] == 2
    assert written["Ready"]["reason"] == "Evaluated"
    assert written["Ready"]["message"] == "Evaluated message"
    assert written["Ready"]["lastTransitionTime"] == EARLIER


def test_the_live_status_is_never_edited_in_place() -> None:
    """The handler reads conditions from the live body and diffs against it: an in-place edit
    made the diff compare the edited list with itself, and the new generation was never
    patched."""
    status = evaluated_status()
    before = copy.deepcopy(status)
    reconcile_status.slo_rules_applied(status["conditions"], 2, APPLIED, 99.0)
    conditions.with_observed_generation(status["conditions"], "Ready", 3)
    assert status == before


def test_the_reconcile_takes_back_what_a_failed_reconcile_set() -> None:
    status = {
        "observedGeneration": 1,
        "conditions": [
            condition("Ready", "False", "InvalidSpec"),
            condition("Stalled", "True", "InvalidSpec"),
        ],
    }
    desired = reconcile_status.slo_rules_applied(status["conditions"], 2, APPLIED, 99.5)
    written = by_type(desired["conditions"])
    assert (written["Ready"]["status"], written["Ready"]["reason"]) == ("True", "RulesApplied")
    assert written["Ready"]["message"] == "PrometheusRule slo-checkout applied"
    assert (written["Stalled"]["status"], written["Stalled"]["reason"]) == ("False", "Reconciled")
    assert desired["rules"] == RULES
    assert desired["target"] == 99.5


def test_a_backend_outage_survives_an_edit() -> None:
    status = evaluated_status()
    status["conditions"] = [
        condition("Ready", "False", "BackendUnavailable"),
        condition("Stalled", "True", "BackendUnavailable"),
    ]
    desired = reconcile_status.slo_rules_applied(status["conditions"], 2, APPLIED, 99.0)
    written = by_type(desired["conditions"])
    assert written["Ready"]["status"] == "False"
    assert written["Ready"]["reason"] == "BackendUnavailable"
    assert written["Stalled"]["status"] == "True"


def test_a_first_reconcile_sets_both_conditions() -> None:
    desired = reconcile_status.slo_rules_applied([], 1, APPLIED, 99.0)
    written = by_type(desired["conditions"])
    assert written["Ready"]["reason"] == "RulesApplied"
    assert written["Stalled"]["reason"] == "Reconciled"
    assert all(item["observedGeneration"] == 1 for item in written.values())


def test_an_unchanged_object_gets_no_patch() -> None:
    status = evaluated_status()
    desired = reconcile_status.slo_rules_applied(status["conditions"], 1, APPLIED, 99.0)
    assert conditions.status_patch(status, desired) == {}


def test_stalled_sets_ready_false_with_the_same_reason() -> None:
    desired = reconcile_status.stalled(
        evaluated_status()["conditions"], 3, "InvalidSpec", "spec.target: too high"
    )
    written = by_type(desired["conditions"])
    assert desired["observedGeneration"] == 3
    for type_, state in (("Ready", "False"), ("Stalled", "True")):
        assert written[type_]["status"] == state
        assert written[type_]["reason"] == "InvalidSpec"
        assert written[type_]["message"] == "spec.target: too high"
        assert written[type_]["lastTransitionTime"] != EARLIER


def test_a_resumed_sla_whose_stalled_the_loop_owns_is_left_alone() -> None:
    status = {"observedGeneration": 4, "conditions": [condition("Stalled", "False", "Evaluated")]}
    assert reconcile_status.sla_accepted(status, 4) is None


@pytest.mark.parametrize(
    "status",
    [
        {},
        {"observedGeneration": 3, "conditions": [condition("Stalled", "False", "Evaluated")]},
        {"observedGeneration": 4, "conditions": [condition("Stalled", "True", "InvalidSpec")]},
    ],
    ids=["new", "edited", "was-invalid"],
)
def test_an_accepted_sla_is_not_stalled(status: dict[str, Any]) -> None:
    desired = reconcile_status.sla_accepted(status, 4)
    assert desired is not None
    assert desired["observedGeneration"] == 4
    stalled = by_type(desired["conditions"])["Stalled"]
    assert (stalled["status"], stalled["reason"], stalled["observedGeneration"]) == (
        "False",
        "Reconciled",
        4,
    )


@pytest.mark.parametrize(
    ("code", "output", "reason", "retry"),
    [
        (404, "PrometheusRule", "PrometheusRuleCRDMissing", False),
        (403, "ConfigMap", "Forbidden", False),
        (500, "PrometheusRule", "ApiError", True),
        (409, "ConfigMap", "ApiError", True),
    ],
)
def test_rule_write_failures_are_named(code: int, output: str, reason: str, retry: bool) -> None:
    found, message = reconcile_status.rule_write_failure(code, "Denied", output)
    assert found == reason
    assert output in message
    assert reconcile_status.retry_fixes(code) is retry


def test_a_write_a_person_must_fix_is_retried_ever_more_slowly() -> None:
    assert [reconcile_status.rule_write_retry_seconds(500, retry) for retry in (0, 5)] == [10, 10]
    delays = [reconcile_status.rule_write_retry_seconds(403, retry) for retry in range(8)]
    assert delays == [30, 60, 120, 240, 480, 600, 600, 600]
    assert reconcile_status.rule_write_retry_seconds(404, 10_000) == 600


def test_reasons_of_a_failed_reconcile_make_the_loop_wait() -> None:
    assert conditions.reconcile_failure_pending([condition("Ready", "False", "Forbidden")])
    assert not conditions.reconcile_failure_pending([condition("Ready", "False", "NoData")])
    assert not conditions.reconcile_failure_pending(
        [condition("ErrorBudgetExhausted", "True", "InvalidSpec")]
    )


def test_a_status_patch_removes_what_a_nested_object_no_longer_holds() -> None:
    """Status patches are JSON merge patches: a key gone from a nested object is sent as null,
    or the apiserver would keep the old value (a cleared policy's `since`, a burn-rate window
    without events)."""
    current = {
        "sli": 99.0,
        "policy": {"activeSteps": ["freeze"], "since": EARLIER},
        "burnRates": {"5m": 2.0, "1h": 1.0},
        "objectives": [{"name": "standard", "sli": 99.0}],
    }
    desired = {
        "sli": 99.0,
        "policy": {"activeSteps": []},
        "burnRates": {"1h": 1.0},
        "objectives": [{"name": "standard"}],
    }
    patch = conditions.status_patch(current, desired)
    assert patch == {
        "policy": {"activeSteps": [], "since": None},
        "burnRates": {"5m": None},
        "objectives": [{"name": "standard"}],
    }
    applied = merge_patch.apply(current, patch)
    assert applied == desired
    assert conditions.status_patch(applied, desired) == {}
