"""Half-open UTC time intervals `[start, end)`: merging, subtracting, clipping, splitting.

SLA periods, maintenance windows and the pieces the evaluator measures are all intervals of
aware datetimes. Every function here returns intervals sorted by start, non-empty and, where
the name says merged, neither overlapping nor touching.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Sequence
from typing import NamedTuple

UTC = datetime.UTC
MINUTE = datetime.timedelta(minutes=1)
HOUR = datetime.timedelta(hours=1)


class Interval(NamedTuple):
    """`[start, end)` between two aware datetimes; a tuple, so `start, end = interval` works."""

    start: datetime.datetime
    end: datetime.datetime

    @property
    def seconds(self) -> float:
        """Length in elapsed seconds (never negative)."""
        return max(0.0, (self.end - self.start).total_seconds())

    def contains(self, moment: datetime.datetime) -> bool:
        """Whether `start <= moment < end`."""
        return self.start <= moment < self.end


def utc(moment: datetime.datetime) -> datetime.datetime:
    """The same instant with tzinfo UTC; a naive datetime is a programming error."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{moment.isoformat()} has no time zone; pass an aware datetime")
    return moment.astimezone(UTC)


def floor_minute(moment: datetime.datetime) -> datetime.datetime:
    """The last whole UTC minute at or before `moment`."""
    moment = utc(moment)
    return moment.replace(second=0, microsecond=0)


def ceil_minute(moment: datetime.datetime) -> datetime.datetime:
    """The first whole UTC minute at or after `moment`."""
    floored = floor_minute(moment)
    return floored if floored == utc(moment) else floored + MINUTE


def floor_hour(moment: datetime.datetime) -> datetime.datetime:
    """The last whole UTC hour at or before `moment`."""
    return floor_minute(moment).replace(minute=0)


def ceil_hour(moment: datetime.datetime) -> datetime.datetime:
    """The first whole UTC hour at or after `moment`."""
    floored = floor_hour(moment)
    return floored if floored == utc(moment) else floored + HOUR


def merge(intervals: Iterable[Interval]) -> tuple[Interval, ...]:
    """Union of the intervals: sorted, empty ones dropped, overlapping or touching ones joined."""
    ordered = sorted(
        (Interval(utc(start), utc(end)) for start, end in intervals if end > start),
        key=lambda interval: interval.start,
    )
    merged: list[Interval] = []
    for interval in ordered:
        if merged and interval.start <= merged[-1].end:
            if interval.end > merged[-1].end:
                merged[-1] = Interval(merged[-1].start, interval.end)
            continue
        merged.append(interval)
    return tuple(merged)


def clip(intervals: Iterable[Interval], within: Interval) -> tuple[Interval, ...]:
    """The merged parts of `intervals` that lie inside `within`."""
    low, high = utc(within.start), utc(within.end)
    return merge(Interval(max(start, low), min(end, high)) for start, end in merge(intervals))


def subtract(base: Interval, holes: Iterable[Interval]) -> tuple[Interval, ...]:
    """`base` minus the union of `holes`: what is left, in order."""
    cursor, high = utc(base.start), utc(base.end)
    pieces: list[Interval] = []
    for hole in clip(holes, base):
        if hole.start > cursor:
            pieces.append(Interval(cursor, hole.start))
        cursor = max(cursor, hole.end)
    if high > cursor:
        pieces.append(Interval(cursor, high))
    return tuple(pieces)


def total_seconds(intervals: Iterable[Interval]) -> float:
    """Elapsed seconds covered by the union of the intervals (overlaps counted once)."""
    return sum(interval.seconds for interval in merge(intervals))


def split_at(intervals: Sequence[Interval], moment: datetime.datetime) -> tuple[Interval, ...]:
    """The intervals with the one containing `moment` (strictly inside) cut in two there."""
    moment = utc(moment)
    pieces: list[Interval] = []
    for interval in intervals:
        if interval.start < moment < interval.end:
            pieces.append(Interval(interval.start, moment))
            pieces.append(Interval(moment, interval.end))
        else:
            pieces.append(interval)
    return tuple(pieces)


class HourSplit(NamedTuple):
    """An interval cut at UTC hour boundaries, for reading whole hours from hourly tiles."""

    head: Interval | None
    """From the start to the first hour boundary: read from 1m points (under an hour)."""
    hours: Interval | None
    """Whole UTC hours: read from the hourly tiles at a 1h step, no offset needed."""
    tail: Interval | None
    """From the last hour boundary to the end: read from 1m points (under an hour)."""


def split_at_hours(interval: Interval) -> HourSplit:
    """Cut `interval` into a head, a run of whole UTC hours and a tail; missing parts are None.

    Head and tail are each shorter than an hour; an interval that starts on an hour boundary
    has no head, one that neither reaches nor starts on a boundary is all head.
    """
    start, end = utc(interval.start), utc(interval.end)
    if end <= start:
        return HourSplit(None, None, None)
    first, last = ceil_hour(start), floor_hour(end)
    if first > last:
        return HourSplit(Interval(start, end), None, None)
    return HourSplit(
        head=Interval(start, first) if first > start else None,
        hours=Interval(first, last) if last > first else None,
        tail=Interval(last, end) if end > last else None,
    )
