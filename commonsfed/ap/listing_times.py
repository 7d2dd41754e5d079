"""Times of a listing on the wire: availability as `startTime`/`endTime`, and the local
days and times its readable content shows. A date alone (a stay's arrival, a pledge
deadline) means local midnight in the node's time zone; a day given as an end lasts until
the midnight after it. Pure."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Any

from commonsfed.ap.activities import parse_time
from commonsfed.models import Listing

CLOSED_STATES = ("completed", "withdrawn", "expired")


def iso(moment: datetime) -> str:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def moment_of(value: Any) -> datetime | date | None:
    """A date or time from the row or its details: a datetime, a date, or an ISO string."""
    if isinstance(value, datetime | date):
        return value
    if not isinstance(value, str) or len(value) > 64:
        return None
    try:
        return date.fromisoformat(value) if len(value) == 10 else parse_time(value)
    except ValueError:
        return None


def as_datetime(value: datetime | date | None, tz: tzinfo) -> datetime | None:
    """An aware moment: a date alone is local midnight (in `tz`); a time without a zone is
    UTC, as `parse_time` reads one."""
    if value is None or isinstance(value, datetime):
        return value if value is None or value.tzinfo else value.replace(tzinfo=UTC)
    return datetime(value.year, value.month, value.day, tzinfo=tz)


def span(listing: Listing, tz: tzinfo) -> tuple[datetime | None, datetime | None]:
    """(start, end) of availability: the kind's own dates where it has them."""
    details = listing.details
    until = [as_datetime(moment, tz) for moment in (listing.available_until, listing.expires_at)]
    start, end = listing.available_from, min((m for m in until if m), default=None)
    if listing.kind == "ride":
        start = as_datetime(moment_of(details.get("departure")), tz) or start
    elif listing.kind == "stay":
        start = as_datetime(moment_of(details.get("arrival")), tz) or start
        end = as_datetime(moment_of(details.get("departure")), tz) or end
    elif listing.kind in ("group_purchase", "project"):
        end = day_end(moment_of(details.get("deadline")), tz) or end
    return as_datetime(start, tz), as_datetime(end, tz)


def day_end(value: datetime | date | None, tz: tzinfo) -> datetime | None:
    """A day given as a date lasts until the (local) midnight after it (a deadline's last day)."""
    if isinstance(value, date) and not isinstance(value, datetime):
        return as_datetime(value + timedelta(days=1), tz)
    return as_datetime(value, tz)


def last_day(moment: datetime, tz: tzinfo) -> str:
    """The day an end moment stands for: the services store "until 31 May" as the local
    midnight after it, and any end at midnight leaves the day before as the last whole day."""
    return day(moment - timedelta(microseconds=1), tz)


def times(listing: Listing, tz: tzinfo) -> dict[str, str]:
    start, end = span(listing, tz)
    if listing.state in CLOSED_STATES:
        closed = as_datetime(listing.updated_at, tz)
        end = closed if end is None or (closed and closed < end) else end
    found = {}
    if start:
        found["startTime"] = iso(start)
    if end:
        found["endTime"] = iso(end)
    return found


def day(value: Any, tz: tzinfo) -> str:
    moment = moment_of(value)
    if moment is None:
        return str(value)
    if isinstance(moment, datetime):
        moment = moment.astimezone(tz).date()
    return f"{moment.day} {moment:%B %Y}"


def when(value: Any, tz: tzinfo) -> str:
    """ "30 June 2030, 08:15 CEST": local time, and which zone, for readers elsewhere."""
    moment = moment_of(value)
    if not isinstance(moment, datetime):
        return day(value, tz)
    moment = moment.astimezone(tz)
    return f"{moment.day} {moment:%B %Y}, {moment:%H:%M} {zone_name(moment, tz)}"


def zone_name(moment: datetime, tz: tzinfo) -> str:
    """The zone's abbreviation ("CEST"), or its name where it has none: the tz database
    gives some zones only an offset such as "-03" (America/Sao_Paulo)."""
    abbreviation = moment.tzname() or ""
    if abbreviation and abbreviation[0] not in "+-":
        return abbreviation
    return str(getattr(tz, "key", None) or abbreviation or "UTC")
