"""What OpenSLO v1 documents hold: kinds, the fields we read, period lengths."""

from __future__ import annotations

import re

from ...api import common, slo

API_VERSION = "openslo/v1"
OUR_ANNOTATION_PREFIX = "slo.dev/"
PRIMARY_OBJECTIVE_ANNOTATION = "slo.dev/primary-objective"
"""OpenSLO has no primary objective; this annotation on the SLO names the one that drives alerts."""
KINDS = (
    "SLO",
    "SLI",
    "AlertPolicy",
    "AlertCondition",
    "AlertNotificationTarget",
    "DataSource",
    "Service",
)
PROMETHEUS_TYPES = ("prometheus",)
"""`metricSource.type` values read as Prometheus (compared case-insensitively)."""
NOMINAL_DAYS = {"M": 30, "Q": 90, "Y": 365}
"""Rolling windows in months, quarters or years have no fixed length; we use these (the same
nominal lengths the rules use for calendar periods)."""
CALENDAR_PERIODS = {
    "1w": slo.CalendarPeriod.WEEK,
    "1M": slo.CalendarPeriod.MONTH,
    "1Q": slo.CalendarPeriod.QUARTER,
    "1Y": slo.CalendarPeriod.YEAR,
}
SHORTHAND = re.compile(r"^([1-9][0-9]*)([mhdwMQY])$")
LABEL_NAME = re.compile(common.LABEL_NAME_PATTERN)
SLUG_INVALID = re.compile(r"[^a-z0-9]+")

METADATA_FIELDS = ("name", "displayName", "labels", "annotations")
SLO_FIELDS = (
    "description",
    "service",
    "indicator",
    "indicatorRef",
    "timeWindow",
    "budgetingMethod",
    "objectives",
    "alertPolicies",
)
SLI_FIELDS = ("description", "thresholdMetric", "ratioMetric")
RATIO_FIELDS = ("counter", "good", "bad", "total", "rawType", "raw")
OBJECTIVE_FIELDS = (
    "displayName",
    "op",
    "value",
    "target",
    "targetPercent",
    "timeSliceTarget",
    "timeSliceWindow",
    "indicator",
    "indicatorRef",
    "compositeWeight",
)
POLICY_FIELDS = (
    "description",
    "alertWhenNoData",
    "alertWhenResolved",
    "alertWhenBreaching",
    "conditions",
    "notificationTargets",
)
CONDITION_FIELDS = ("description", "severity", "condition")
BURN_RATE_FIELDS = ("kind", "op", "threshold", "lookbackWindow", "alertAfter")
