"""Timestamps as Kubernetes and the status fields write them: one format, one parser."""

from __future__ import annotations

import datetime


def format_timestamp(moment: datetime.datetime) -> str:
    """RFC 3339 in UTC at second precision with `Z`, as `metav1.Time` is written."""
    return moment.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_timestamp(text: str) -> datetime.datetime:
    """An RFC 3339 timestamp (`Z` or an offset); naive only if `text` has no zone."""
    return datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
