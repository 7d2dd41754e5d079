"""Reading the listing form: each field checked with its message, each kind's own fields,
and the days and times people type, in the node's time zone.

Decisions (see also services/listings.py):
- Dates are whole days in the node's time zone (`Settings.timezone`, UTC unless set).
  `available_until` and `expires_at` store the moment the last day ends (local midnight
  after it, kept as UTC); `last_day()` turns them back into the day people chose. A ride's
  departure (a browser's datetime-local) is read in the same zone.
- Kinds that count something of their own (ride: seats, stay: places, group purchase: target
  quantity, pay-it-forward: portions) do not ask for the common quantity as well; their count
  becomes `quantity`. Service and time asks for hours and no quantity.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Any

from commonsfed import numbers
from commonsfed.i18n import Text
from commonsfed.i18n import gettext_noop as N_
from commonsfed.models import KINDS, PURPOSES, Listing
from commonsfed.services.errors import ValidationError
from commonsfed.services.project_needs import form_values as project_form_values
from commonsfed.services.project_needs import project_details

DEFAULT_EXPIRY = timedelta(days=30)
MAX_EXPIRY = timedelta(days=365)
# kinds that ask for the common quantity; the others count with a field of their own
USES_QUANTITY = frozenset({"give", "lend", "swap", "shared"})
COUNT_FIELD = {
    "ride": "seats",
    "stay": "places",
    "group_purchase": "target_quantity",
    "pay_it_forward": "portions",
}

# the messages are marked constants or Texts: pages show them in the reader's language
WHOLE_NUMBER = N_("Enter a whole number of 1 or more.")
IN_THE_FUTURE = N_("Choose a date in the future.")
BOTH_COORDINATES = N_("Give both latitude and longitude, or neither.")


class Number(int):
    """A count in a message (a Text's value): written as the language being rendered writes
    it when the message is shown, "5,000" in English and « 5 000 » in French (a French
    reader takes "5,000" for five), as commonsfed.numbers.Distance writes kilometres."""

    def __str__(self) -> str:
        return numbers.number(int(self))  # a plain int: Babel reads it with str()


def now_utc() -> datetime:
    return datetime.now(UTC)


def day_start(day: date, tz: tzinfo) -> datetime:
    """Local midnight at the start of `day`, in UTC (a day in Berlin starts at 22:00 or 23:00
    UTC the evening before)."""
    return datetime.combine(day, time(0), tz).astimezone(UTC)


def day_end(day: date, tz: tzinfo) -> datetime:
    return day_start(day + timedelta(days=1), tz)


def last_day(moment: datetime | None, tz: tzinfo) -> date | None:
    """The local day a stored end moment (the midnight after it) stands for."""
    return (moment - timedelta(microseconds=1)).astimezone(tz).date() if moment else None


def local_day(moment: datetime | None, tz: tzinfo) -> date | None:
    return moment.astimezone(tz).date() if moment else None


# --- reading a submitted form --------------------------------------------------------------


class Form:
    """Reads one field at a time from a submitted form, keeping one message per bad field."""

    def __init__(self, form: Mapping[str, Any], now: datetime, tz: tzinfo = UTC) -> None:
        self.form, self.now, self.tz = form, now, tz
        self.today = now.astimezone(tz).date()
        self.errors: dict[str, str] = {}

    def raw(self, name: str) -> str:
        value = self.form.get(name)
        return value.replace("\r\n", "\n").strip() if isinstance(value, str) else ""

    def fail(self, name: str, message: str) -> None:
        self.errors.setdefault(name, message)

    def text(self, name: str, limit: int, missing: str | None = None) -> str:
        value = self.raw(name)
        if not value and missing:
            self.fail(name, missing)
        elif len(value) > limit:
            self.fail(name, Text(N_("Use at most %(limit)s characters."), limit=Number(limit)))
        return value

    def whole(self, name: str, high: int, missing: str | None = None, low: int = 1) -> int | None:
        value = self.raw(name)
        if not value:
            return self.fail(name, missing) if missing else None
        if not re.fullmatch(r"[0-9]{1,9}", value) or int(value) < low:
            return self.fail(name, WHOLE_NUMBER if low == 1 else N_("Enter a whole number."))
        if int(value) > high:
            return self.fail(
                name, Text(N_("Enter a number no larger than %(high)s."), high=Number(high))
            )
        return int(value)

    def number(self, name: str, low: float, high: float, message: str) -> float | None:
        try:
            # a decimal comma too ("1,5"), as French and most of Europe write it
            value = float(self.raw(name).replace(",", "."))
        except ValueError:
            value = math.nan
        if not (math.isfinite(value) and low <= value <= high):
            return self.fail(name, message)
        return value

    def day(self, name: str, missing: str | None = None, future: bool = False) -> date | None:
        value = self.raw(name)
        if not value:
            return self.fail(name, missing) if missing else None
        try:
            day = date.fromisoformat(value)
        except ValueError:
            return self.fail(name, N_("Enter a date like 2030-06-30."))
        if future and day < self.today:
            return self.fail(name, IN_THE_FUTURE)
        return day

    def moment(self, name: str, missing: str) -> datetime | None:
        """A date and time (a browser's datetime-local, which has no zone), read as the node's
        local time and kept in UTC; must be in the future."""
        value = self.raw(name)
        if not value:
            return self.fail(name, missing)
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            return self.fail(name, N_("Enter a date and time like 2030-06-30 08:15."))
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=self.tz)
        moment = moment.astimezone(UTC)
        if moment <= self.now:
            return self.fail(name, IN_THE_FUTURE)
        return moment


def iso(value: date | datetime | None) -> str | None:
    return value.isoformat() if value else None


# --- each kind's own fields: (details, the kind's own count or None) ------------------------


def _lend_details(f: Form) -> tuple[dict, int | None]:
    return {
        "loan_days": f.whole("loan_days", 365, N_("Say for how many days it can be borrowed.")),
        "return_by": iso(f.day("return_by", future=True)),
    }, None


def _ride_details(f: Form) -> tuple[dict, int | None]:
    seats = f.whole("seats", 50, N_("Say how many seats are free."))
    return {
        "origin": f.text("origin", 120, N_("Say where the ride starts.")),
        "destination": f.text("destination", 120, N_("Say where the ride goes.")),
        "departure": iso(f.moment("departure", N_("Say when the ride leaves."))),
        "seats": seats,
    }, seats


def _stay_details(f: Form) -> tuple[dict, int | None]:
    arrival = f.day("arrival", N_("Choose the day of arrival."), future=True)
    departure = f.day("departure", N_("Choose the day of departure."), future=True)
    if arrival and departure and departure <= arrival:
        f.fail("departure", N_("Choose a day after the arrival."))
    places = f.whole("places", 50, N_("Say how many people can stay."))
    return {"arrival": iso(arrival), "departure": iso(departure), "places": places}, places


def _group_purchase_details(f: Form) -> tuple[dict, int | None]:
    target = f.whole("target_quantity", 100_000, N_("Say how many are needed for the order."))
    return {
        "target_quantity": target,
        "unit": f.text("unit", 30, N_("Say what is counted: kg, bags, boxes ...")),
        "deadline": iso(f.day("deadline", N_("Choose the last day for pledges."), future=True)),
    }, target


def _pay_it_forward_details(f: Form) -> tuple[dict, int | None]:
    portions = f.whole("portions", 1000, N_("Say how many portions are paid forward."))
    return {"portions": portions}, portions


def _service_details(f: Form) -> tuple[dict, int | None]:
    if not f.raw("hours"):
        f.fail("hours", N_("Say how many hours."))
        return {"hours": None}, None
    hours = f.number(
        "hours", 0.25, 1000, N_("Enter a number of hours from 0.25 to 1000, like 1.5.")
    )
    return {"hours": round(hours, 2) if hours is not None else None}, None


def _no_details(f: Form) -> tuple[dict, int | None]:
    return {}, None


KIND_DETAILS: dict[str, Callable[[Form], tuple[dict, int | None]]] = {
    "give": _no_details,
    "swap": _no_details,
    "shared": _no_details,
    "lend": _lend_details,
    "ride": _ride_details,
    "stay": _stay_details,
    "group_purchase": _group_purchase_details,
    "pay_it_forward": _pay_it_forward_details,
    "service": _service_details,
    "project": project_details,
}
assert set(KIND_DETAILS) == set(KINDS)


# --- the common fields ---------------------------------------------------------------------


def _coordinates(f: Form) -> tuple[float | None, float | None]:
    if not f.raw("latitude") and not f.raw("longitude"):
        return None, None
    for name in ("latitude", "longitude"):
        if not f.raw(name):
            f.fail(name, BOTH_COORDINATES)
    lat = f.number("latitude", -90, 90, N_("Enter a latitude from -90 to 90, like 52.37."))
    lon = f.number("longitude", -180, 180, N_("Enter a longitude from -180 to 180, like 4.89."))
    if lat is None or lon is None:
        return None, None
    # two decimals is about a kilometre: enough to find neighbours, not enough for a door
    return round(lat, 2), round(lon, 2)


def _availability(f: Form) -> tuple[datetime | None, datetime | None]:
    start = f.day("available_from")
    until = f.day("available_until", future=True)
    if start and until and until < start:
        f.fail("available_until", N_("Choose a day on or after the first day."))
    return (
        day_start(start, f.tz) if start else None,
        day_end(until, f.tz) if until else None,
    )


def _expiry(f: Form) -> datetime | None:
    if f.raw("no_expiry"):
        return None  # a standing offer, such as a shelf
    day = f.day("expires_on", future=True)
    if day is None:
        return None if "expires_on" in f.errors else day_end(f.today + DEFAULT_EXPIRY, f.tz)
    if day > f.today + MAX_EXPIRY:
        f.fail("expires_on", N_("Choose a day within a year, or tick “No expiry”."))
    return day_end(day, f.tz)


def listing_fields(f: Form, kind: str) -> dict[str, Any]:
    """The columns a form sets, checked; messages collect in f.errors."""
    details, count = KIND_DETAILS[kind](f)
    quantity = f.whole("quantity", 100_000) if kind in USES_QUANTITY else count
    latitude, longitude = _coordinates(f)
    available_from, available_until = _availability(f)
    fields = {
        "title": f.text("title", 120, N_("Give your listing a title.")),
        "description": f.text("description", 5000),
        "category": f.raw("category"),
        "quantity": quantity,
        "available_quantity": quantity,
        "place": f.text("place", 120, N_("Say where: a street, a corner or a landmark.")),
        "latitude": latitude,
        "longitude": longitude,
        "available_from": available_from,
        "available_until": available_until,
        "expires_at": _expiry(f),
        "details": details,
    }
    if kind in ("group_purchase", "project"):
        _check_deadline(f, details, fields["expires_at"])
    return fields


def validate_listing_form(
    form: Mapping[str, Any], kind: str, now: datetime | None = None, *, tz: tzinfo = UTC
) -> tuple[dict[str, Any], dict[str, str]]:
    """(the columns, the messages by field) for a form of this kind; no database needed,
    so the category's existence is not checked here."""
    f = Form(form, now or now_utc(), tz)
    return listing_fields(f, kind), f.errors


def _check_deadline(f: Form, details: dict, expires_at: datetime | None) -> None:
    deadline = details.get("deadline")
    if deadline and expires_at and day_end(date.fromisoformat(deadline), f.tz) > expires_at:
        f.fail("deadline", N_("Choose a deadline on or before the day the listing expires."))


def purpose_and_kind(f: Form) -> tuple[str, str]:
    purpose, kind = f.raw("purpose"), f.raw("kind")
    if kind == "project":
        return "request", kind  # a project asks neighbours for what it needs
    if purpose not in PURPOSES:
        f.fail("purpose", N_("Choose whether you offer or ask for something."))
    if kind not in KINDS:
        f.fail("kind", N_("Choose what kind of listing this is."))
        raise ValidationError(f.errors)  # without a kind, its fields cannot be checked
    return purpose, kind


def form_values(listing: Listing, tz: tzinfo) -> dict[str, str]:
    """A listing as the edit form's values, so the form shows what is stored, as local days
    and times (the form reads them back in the same zone)."""
    values = {
        "purpose": listing.purpose,
        "kind": listing.kind,
        "title": listing.title,
        "description": listing.description,
        "category": listing.category,
        "quantity": str(listing.quantity or "") if listing.kind in USES_QUANTITY else "",
        "place": listing.place,
        "latitude": "" if listing.latitude is None else f"{listing.latitude:.2f}",
        "longitude": "" if listing.longitude is None else f"{listing.longitude:.2f}",
        "available_from": iso(local_day(listing.available_from, tz)) or "",
        "available_until": iso(last_day(listing.available_until, tz)) or "",
        "expires_on": iso(last_day(listing.expires_at, tz)) or "",
        "no_expiry": "" if listing.expires_at else "on",
    }
    for name, value in listing.details.items():
        values[name] = str(value or "")
    if listing.kind == "project":
        values |= project_form_values(listing.details)
    if listing.kind == "ride" and listing.details.get("departure"):
        values["departure"] = _local_input(listing.details["departure"], tz)
    return values


def _local_input(stored: str, tz: tzinfo) -> str:
    """A stored departure back into a datetime-local input: local time, no seconds, no zone."""
    try:
        moment = datetime.fromisoformat(stored)
    except ValueError:
        return stored
    moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment
    return moment.astimezone(tz).strftime("%Y-%m-%dT%H:%M")
