"""A lend listing's booked days on the wire, so that another node can show its calendar.
Pure: no database, no network.

A lend listing's Note carries `booked` (commonsfed:booked): the days taken from today on,
asked for or confirmed, one object per booking with `startTime` (the pickup day, from its
start) and `endTime` (the return day, to its end), in UTC as an Offer for days writes them
(ap.agreements.offer_to_ap). The days are the lender's node's days: the other node reads
back the calendar days as written. A booked range's holder is never named.

Reading is forgiving and bounded: at most MAX_RANGES ranges are read, a range whose days
are missing, unreadable, reversed or longer than MAX_DAYS is left out, and so is anything
past MAX_AHEAD days from the first day read.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from commonsfed.ap.jsonld import as_list

MAX_RANGES = 100
MAX_DAYS = 366  # one booking, at most
MAX_AHEAD = 800  # days between the first booked day and the last one read


def booked_to_ap(ranges: list[tuple[date, date]]) -> list[dict[str, Any]]:
    return [
        {"startTime": f"{start.isoformat()}T00:00:00Z", "endTime": f"{end.isoformat()}T23:59:59Z"}
        for start, end in sorted(ranges)[:MAX_RANGES]
    ]


def booked_from_ap(document: Mapping[str, Any]) -> list[tuple[date, date]]:
    """The booked days a lend listing of another node names, as (first, last) day pairs,
    sorted; what cannot be read is left out."""
    ranges = []
    for item in as_list(document.get("booked"))[:MAX_RANGES]:
        if not isinstance(item, dict):
            continue
        start, end = _day(item.get("startTime")), _day(item.get("endTime"))
        if start is None or end is None or end < start or (end - start).days >= MAX_DAYS:
            continue
        ranges.append((start, end))
    ranges.sort()
    if ranges:
        first = ranges[0][0]
        ranges = [(start, end) for start, end in ranges if (end - first).days <= MAX_AHEAD]
    return ranges


def day_of(value: Any) -> date | None:
    """The calendar day an ISO date or date-time names, as written; None when it names none."""
    if not isinstance(value, str) or len(value) < 10:
        return None
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        return None


def _day(value: Any) -> date | None:
    if isinstance(value, dict):  # expanded: {"@value": ..., "@type": xsd:dateTime}
        value = value.get("@value")
    return day_of(value)


def overlapping(
    ranges: list[tuple[date, date]], start: date, end: date
) -> tuple[date, date] | None:
    """The first of `ranges` that shares a day with start..end (both inclusive), if any."""
    for first, last in ranges:
        if first <= end and start <= last:
            return first, last
    return None
