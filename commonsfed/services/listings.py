"""Listings: create, edit, change state, expire; pledges, portions; categories.

Decisions (see also the report on issue 5):
- Dates are whole days in the node's time zone (`settings.tz`, COMMONSFED_TIMEZONE), and a
  ride's departure (a browser's datetime-local, with no zone) is a local time: a neighbourhood
  lives in one zone. Stored values are moments (timestamptz, the details' ISO strings in UTC),
  so changing the setting moves no row. `available_until` and `expires_at` store the moment
  the last day ends (local midnight after it); `last_day()` turns them back into the day
  people chose.
- Kinds that count something of their own (ride: seats, stay: places, group purchase: target
  quantity, pay-it-forward: portions) do not ask for the common quantity as well; their count
  becomes `quantity`. Service and time asks for hours and no quantity.
- Purpose and kind are fixed once a listing exists: to change them, withdraw it and post anew.
- Life cycle: see TRANSITIONS. Completed and expired are final; a withdrawn listing may be
  reopened by its author (or an admin) while its expiry date has not passed. Only the expiry
  job sets `expired`.
- Group purchases: the target is a minimum (the order goes ahead once it is reached), so
  pledges beyond it are welcome; `available_quantity` is what is still needed to reach it.
"""

from __future__ import annotations

import math
import re
import secrets
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Any

import asyncpg

from commonsfed.config import Settings
from commonsfed.db import listings as q
from commonsfed.models import KINDS, PURPOSES, Account, Listing, ListingPhoto
from commonsfed.services.errors import NotAllowed, ServiceError, ValidationError
from commonsfed.services.listing_federation import (
    publish_created,
    publish_deleted,
    publish_updated,
)
from commonsfed.services.photos import (
    MAX_PHOTOS,
    PhotoRejected,
    ProcessedPhoto,
    Upload,
    process_upload,
    remove_photos,
    store_photos,
)

DEFAULT_EXPIRY = timedelta(days=30)
MAX_EXPIRY = timedelta(days=365)
EXPIRE_BATCH = 500
TRANSITIONS: dict[str, frozenset[str]] = {
    "open": frozenset({"reserved", "completed", "withdrawn"}),
    "reserved": frozenset({"open", "completed", "withdrawn"}),
    "withdrawn": frozenset({"open"}),
    "completed": frozenset(),
    "expired": frozenset(),
}
# kinds that ask for the common quantity; the others count with a field of their own
USES_QUANTITY = frozenset({"give", "lend", "swap", "shared"})
COUNT_FIELD = {
    "ride": "seats",
    "stay": "places",
    "group_purchase": "target_quantity",
    "pay_it_forward": "portions",
}

WHOLE_NUMBER = "Enter a whole number of 1 or more."
IN_THE_FUTURE = "Choose a date in the future."
BOTH_COORDINATES = "Give both latitude and longitude, or neither."
SLUG_RE = re.compile(r"^[a-z0-9_]{1,30}$")


class ListingNotFound(ServiceError):
    """No listing has this id."""


class InvalidTransition(ServiceError):
    """The listing's state does not allow this (a completed listing reserved, ...)."""


def now_utc() -> datetime:
    return datetime.now(UTC)


def new_uid() -> str:
    return secrets.token_urlsafe(8)  # 11 characters, 64 random bits


def _day_start(day: date, tz: tzinfo) -> datetime:
    """Local midnight at the start of `day`, in UTC (a day in Berlin starts at 22:00 or 23:00
    UTC the evening before)."""
    return datetime.combine(day, time(0), tz).astimezone(UTC)


def _day_end(day: date, tz: tzinfo) -> datetime:
    return _day_start(day + timedelta(days=1), tz)


def last_day(moment: datetime | None, tz: tzinfo) -> date | None:
    """The local day a stored end moment (the midnight after it) stands for."""
    return (moment - timedelta(microseconds=1)).astimezone(tz).date() if moment else None


def _local_day(moment: datetime | None, tz: tzinfo) -> date | None:
    return moment.astimezone(tz).date() if moment else None


# --- reading a submitted form --------------------------------------------------------------


class _Form:
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
            self.fail(name, f"Use at most {limit:,} characters.")
        return value

    def whole(self, name: str, high: int, missing: str | None = None, low: int = 1) -> int | None:
        value = self.raw(name)
        if not value:
            return self.fail(name, missing) if missing else None
        if not re.fullmatch(r"[0-9]{1,9}", value) or int(value) < low:
            return self.fail(name, WHOLE_NUMBER if low == 1 else "Enter a whole number.")
        if int(value) > high:
            return self.fail(name, f"Enter a number no larger than {high:,}.")
        return int(value)

    def number(self, name: str, low: float, high: float, message: str) -> float | None:
        try:
            value = float(self.raw(name))
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
            return self.fail(name, "Enter a date like 2030-06-30.")
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
            return self.fail(name, "Enter a date and time like 2030-06-30 08:15.")
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=self.tz)
        moment = moment.astimezone(UTC)
        if moment <= self.now:
            return self.fail(name, IN_THE_FUTURE)
        return moment


def _iso(value: date | datetime | None) -> str | None:
    return value.isoformat() if value else None


# --- each kind's own fields: (details, the kind's own count or None) ------------------------


def _lend_details(f: _Form) -> tuple[dict, int | None]:
    return {
        "loan_days": f.whole("loan_days", 365, "Say for how many days it can be borrowed."),
        "return_by": _iso(f.day("return_by", future=True)),
    }, None


def _ride_details(f: _Form) -> tuple[dict, int | None]:
    seats = f.whole("seats", 50, "Say how many seats are free.")
    return {
        "origin": f.text("origin", 120, "Say where the ride starts."),
        "destination": f.text("destination", 120, "Say where the ride goes."),
        "departure": _iso(f.moment("departure", "Say when the ride leaves.")),
        "seats": seats,
    }, seats


def _stay_details(f: _Form) -> tuple[dict, int | None]:
    arrival = f.day("arrival", "Choose the day of arrival.", future=True)
    departure = f.day("departure", "Choose the day of departure.", future=True)
    if arrival and departure and departure <= arrival:
        f.fail("departure", "Choose a day after the arrival.")
    places = f.whole("places", 50, "Say how many people can stay.")
    return {"arrival": _iso(arrival), "departure": _iso(departure), "places": places}, places


def _group_purchase_details(f: _Form) -> tuple[dict, int | None]:
    target = f.whole("target_quantity", 100_000, "Say how many are needed for the order.")
    return {
        "target_quantity": target,
        "unit": f.text("unit", 30, "Say what is counted: kg, bags, boxes ..."),
        "deadline": _iso(f.day("deadline", "Choose the last day for pledges.", future=True)),
    }, target


def _pay_it_forward_details(f: _Form) -> tuple[dict, int | None]:
    portions = f.whole("portions", 1000, "Say how many portions are paid forward.")
    return {"portions": portions}, portions


def _service_details(f: _Form) -> tuple[dict, int | None]:
    if not f.raw("hours"):
        f.fail("hours", "Say how many hours.")
        return {"hours": None}, None
    hours = f.number("hours", 0.25, 1000, "Enter a number of hours from 0.25 to 1000, like 1.5.")
    return {"hours": round(hours, 2) if hours is not None else None}, None


def _no_details(f: _Form) -> tuple[dict, int | None]:
    return {}, None


KIND_DETAILS: dict[str, Callable[[_Form], tuple[dict, int | None]]] = {
    "give": _no_details,
    "swap": _no_details,
    "shared": _no_details,
    "lend": _lend_details,
    "ride": _ride_details,
    "stay": _stay_details,
    "group_purchase": _group_purchase_details,
    "pay_it_forward": _pay_it_forward_details,
    "service": _service_details,
}
assert set(KIND_DETAILS) == set(KINDS)


# --- the common fields ---------------------------------------------------------------------


def _coordinates(f: _Form) -> tuple[float | None, float | None]:
    if not f.raw("latitude") and not f.raw("longitude"):
        return None, None
    for name in ("latitude", "longitude"):
        if not f.raw(name):
            f.fail(name, BOTH_COORDINATES)
    lat = f.number("latitude", -90, 90, "Enter a latitude from -90 to 90, like 52.37.")
    lon = f.number("longitude", -180, 180, "Enter a longitude from -180 to 180, like 4.89.")
    if lat is None or lon is None:
        return None, None
    # two decimals is about a kilometre: enough to find neighbours, not enough for a door
    return round(lat, 2), round(lon, 2)


def _availability(f: _Form) -> tuple[datetime | None, datetime | None]:
    start = f.day("available_from")
    until = f.day("available_until", future=True)
    if start and until and until < start:
        f.fail("available_until", "Choose a day on or after the first day.")
    return (
        _day_start(start, f.tz) if start else None,
        _day_end(until, f.tz) if until else None,
    )


def _expiry(f: _Form) -> datetime | None:
    if f.raw("no_expiry"):
        return None  # a standing offer, such as a shelf
    day = f.day("expires_on", future=True)
    if day is None:
        return None if "expires_on" in f.errors else _day_end(f.today + DEFAULT_EXPIRY, f.tz)
    if day > f.today + MAX_EXPIRY:
        f.fail("expires_on", "Choose a day within a year, or tick “No expiry”.")
    return _day_end(day, f.tz)


def _listing_fields(f: _Form, kind: str) -> dict[str, Any]:
    """The columns a form sets, checked; messages collect in f.errors."""
    details, count = KIND_DETAILS[kind](f)
    quantity = f.whole("quantity", 100_000) if kind in USES_QUANTITY else count
    latitude, longitude = _coordinates(f)
    available_from, available_until = _availability(f)
    fields = {
        "title": f.text("title", 120, "Give your listing a title."),
        "description": f.text("description", 5000),
        "category": f.raw("category"),
        "quantity": quantity,
        "available_quantity": quantity,
        "place": f.text("place", 120, "Say where: a street, a corner or a landmark."),
        "latitude": latitude,
        "longitude": longitude,
        "available_from": available_from,
        "available_until": available_until,
        "expires_at": _expiry(f),
        "details": details,
    }
    if kind == "group_purchase":
        _check_deadline(f, details, fields["expires_at"])
    return fields


def validate_listing_form(
    form: Mapping[str, Any], kind: str, now: datetime | None = None, *, tz: tzinfo = UTC
) -> tuple[dict[str, Any], dict[str, str]]:
    """(the columns, the messages by field) for a form of this kind; no database needed,
    so the category's existence is not checked here."""
    f = _Form(form, now or now_utc(), tz)
    return _listing_fields(f, kind), f.errors


def _check_deadline(f: _Form, details: dict, expires_at: datetime | None) -> None:
    deadline = details.get("deadline")
    if deadline and expires_at and _day_end(date.fromisoformat(deadline), f.tz) > expires_at:
        f.fail("deadline", "Choose a deadline on or before the day the listing expires.")


async def _check_category(conn: asyncpg.Connection, f: _Form, slug: str) -> None:
    if not slug or not await q.category_exists(conn, slug):
        f.fail("category", "Choose a category.")


def _purpose_and_kind(f: _Form) -> tuple[str, str]:
    purpose, kind = f.raw("purpose"), f.raw("kind")
    if purpose not in PURPOSES:
        f.fail("purpose", "Choose whether you offer or ask for something.")
    if kind not in KINDS:
        f.fail("kind", "Choose what kind of listing this is.")
        raise ValidationError(f.errors)  # without a kind, its fields cannot be checked
    return purpose, kind


# --- photos in a form ----------------------------------------------------------------------


@dataclass(frozen=True)
class _NewPhoto:
    processed: ProcessedPhoto
    alt: str


def _alt(f: _Form, name: str) -> str:
    return f.text(
        name, 500, "Describe this photo in a few words, for neighbours who cannot see it."
    )


async def _new_photos(f: _Form, uploads: list[Upload], kept: int) -> list[_NewPhoto]:
    """Uploads checked and processed in memory; nothing is written here."""
    uploads = [upload for upload in uploads if upload.data or upload.too_large]
    if kept + len(uploads) > MAX_PHOTOS:
        f.fail(
            "photos",
            f"A listing has at most {MAX_PHOTOS} photos. Remove one before adding another.",
        )
        return []
    result = []
    for upload in uploads:
        alt = _alt(f, "alt_" + upload.field.removeprefix("photo_"))
        try:
            result.append(_NewPhoto(await process_upload(upload), alt))
        except PhotoRejected as exc:
            f.fail(upload.field, str(exc))
    return result


def _kept_photos(
    f: _Form, existing: list[ListingPhoto]
) -> tuple[list[tuple[ListingPhoto, str]], list[ListingPhoto]]:
    """(photos kept with their possibly new alt text, photos to remove), from an edit form."""
    kept, removed = [], []
    for photo in existing:
        if f.raw(f"remove_photo_{photo.id}"):
            removed.append(photo)
        else:
            kept.append((photo, _alt(f, f"photo_alt_{photo.id}")))
    return kept, removed


# --- create and edit -----------------------------------------------------------------------


async def create_listing(
    pool: asyncpg.Pool,
    settings: Settings,
    account: Account,
    form: Mapping[str, Any],
    photos: list[Upload],
    *,
    now: datetime | None = None,
) -> Listing:
    """Check everything, then write the photos, then the rows in one transaction."""
    f = _Form(form, now or now_utc(), settings.tz)
    purpose, kind = _purpose_and_kind(f)
    fields = _listing_fields(f, kind)
    new_photos = await _new_photos(f, photos, kept=0)
    async with pool.acquire() as conn:
        await _check_category(conn, f, fields["category"])
        if f.errors:
            raise ValidationError(f.errors)
        uid = new_uid()

        async def write(names: list[str]) -> None:
            listing_id = await q.insert_listing(
                conn, uid=uid, author_id=account.id, purpose=purpose, kind=kind, fields=fields
            )
            await _insert_photos(conn, listing_id, new_photos, names, start=0)
            await q.insert_event(conn, listing_id, "created", "open", account.id)
            await publish_created(conn, settings, uid)

        await _with_photos(conn, settings, new_photos, write)
        return await q.get_listing(conn, uid)


async def _with_photos(conn, settings: Settings, new_photos: list[_NewPhoto], write) -> None:
    """Write the photo files, then run `write(names)` in a transaction; files go if it fails."""
    names = await store_photos(settings, [photo.processed for photo in new_photos])
    try:
        async with conn.transaction():
            await write(names)
    except BaseException:
        await remove_photos(settings, names)
        raise


async def _insert_photos(
    conn, listing_id: int, photos: list[_NewPhoto], names: list[str], start: int
) -> None:
    for position, (photo, name) in enumerate(zip(photos, names, strict=True), start=start):
        await q.insert_photo(
            conn,
            listing_id,
            filename=name,
            alt=photo.alt,
            width=photo.processed.width,
            height=photo.processed.height,
            position=position,
        )


async def update_listing(
    pool: asyncpg.Pool,
    settings: Settings,
    account: Account,
    uid: str,
    form: Mapping[str, Any],
    photos: list[Upload],
    *,
    now: datetime | None = None,
) -> Listing:
    """Edit the text, dates, details and photos of an open or reserved listing (its author)."""
    f = _Form(form, now or now_utc(), settings.tz)
    async with pool.acquire() as conn:
        listing = _editable(await q.get_listing(conn, uid), account)
        fields = _listing_fields(f, listing.kind)
        kept, removed = _kept_photos(f, await q.listing_photos(conn, listing.id))
        new_photos = await _new_photos(f, photos, kept=len(kept))
        await _check_category(conn, f, fields["category"])
        if f.errors:
            raise ValidationError(f.errors)

        async def write(names: list[str]) -> None:
            current = _editable(await q.get_listing(conn, uid, for_update=True), account)
            fields["available_quantity"] = await _available(conn, current, fields["quantity"])
            await q.update_listing(conn, current.id, fields)
            await q.delete_photos(conn, [photo.id for photo in removed])
            for position, (photo, alt) in enumerate(kept):
                await q.update_photo(conn, photo.id, alt, position)
            await _insert_photos(conn, current.id, new_photos, names, start=len(kept))
            await q.insert_event(conn, current.id, "edited", current.state, account.id)
            await publish_updated(conn, settings, uid)

        await _with_photos(conn, settings, new_photos, write)
        # the rows are gone for good now, so their files may go too
        await remove_photos(settings, [photo.filename for photo in removed])
        return await q.get_listing(conn, uid)


def _editable(listing: Listing | None, account: Account) -> Listing:
    if listing is None:
        raise ListingNotFound("There is no such listing.")
    if listing.author_id != account.id:
        raise NotAllowed("Only the person who posted this listing can edit it.")
    if not listing.is_open:
        raise InvalidTransition(f"This listing is {listing.state}; it can no longer be edited.")
    return listing


async def _available(conn, listing: Listing, quantity: int | None) -> int | None:
    """What is left of a new quantity once pledges or claims already made are counted."""
    if quantity is None:
        return None
    if listing.kind == "group_purchase":
        total, _ = await q.pledged(conn, listing.id, None)
        return max(quantity - total, 0)
    if listing.kind == "pay_it_forward":
        claimed, _ = await q.claims(conn, listing.id, None)
        if quantity < claimed:
            raise ValidationError(
                {"portions": f"{claimed} portions were claimed already; enter {claimed} or more."}
            )
        return quantity - claimed
    return quantity


# --- life cycle ----------------------------------------------------------------------------


def may_manage(listing: Listing, account: Account | None) -> bool:
    return account is not None and (account.id == listing.author_id or account.is_admin)


STATE_ORDER = ("open", "reserved", "completed", "withdrawn")  # the ones a person can choose


def next_states(listing: Listing, now: datetime | None = None) -> list[str]:
    """The states this listing may move to now, for the buttons its author sees."""
    return [state for state in STATE_ORDER if _transition_error(listing, state, now) is None]


def _transition_error(listing: Listing, new_state: str, now: datetime | None) -> str | None:
    if new_state not in TRANSITIONS[listing.state]:
        return f"This listing is {listing.state}; it cannot become {new_state}."
    expired = listing.expires_at is not None and listing.expires_at <= (now or now_utc())
    if listing.state == "withdrawn" and expired:
        return "This listing has passed its expiry date. Post it again instead."
    return None


async def _managed(conn, uid: str, account: Account, refusal: str) -> Listing:
    """The listing, locked, if `account` may manage it; else ListingNotFound or NotAllowed."""
    listing = await q.get_listing(conn, uid, for_update=True)
    if listing is None:
        raise ListingNotFound("There is no such listing.")
    if not may_manage(listing, account):
        raise NotAllowed(refusal)
    return listing


async def change_state(
    pool: asyncpg.Pool,
    settings: Settings,
    account: Account,
    uid: str,
    new_state: str,
    *,
    now: datetime | None = None,
) -> Listing:
    """Move a listing to `new_state`: its author or an admin, along TRANSITIONS only."""
    async with pool.acquire() as conn, conn.transaction():
        listing = await _managed(
            conn, uid, account, "Only the person who posted this listing can change it."
        )
        if new_state not in TRANSITIONS:
            raise InvalidTransition(f"{new_state!r} is not a state a listing can have.")
        problem = _transition_error(listing, new_state, now)
        if problem:
            raise InvalidTransition(problem)
        await q.set_state(conn, listing.id, new_state)
        await q.insert_event(conn, listing.id, "state", new_state, account.id)
        await publish_updated(conn, settings, uid)
        return await q.get_listing(conn, uid)


async def remove_listing(
    pool: asyncpg.Pool, settings: Settings, account: Account, uid: str
) -> None:
    """Remove a listing for good (its author or an admin): a Delete with a Tombstone goes to
    everyone who had it, the row and all that hangs off it go, its photos' files after."""
    async with pool.acquire() as conn, conn.transaction():
        listing = await _managed(
            conn, uid, account, "Only the person who posted this listing or an admin can remove it."
        )
        photos = [photo.filename for photo in await q.listing_photos(conn, listing.id)]
        await publish_deleted(conn, settings, listing)
        await q.remove_listing(conn, listing)
    await remove_photos(settings, photos)


async def removed_listing(pool: asyncpg.Pool, uid: str) -> asyncpg.Record | None:
    async with pool.acquire() as conn:
        return await q.removed_listing(conn, uid)


async def expire_due(pool: asyncpg.Pool, settings: Settings, now: datetime | None = None) -> int:
    """The scheduled job: open or reserved listings past `expires_at` become expired, and
    each expiry goes out as an Update, as any change of state does.

    Returns how many expired. Runs in batches, each its own transaction, so a backlog never
    holds a long lock; safe to run from several workers at once.
    """
    now, total = now or now_utc(), 0
    async with pool.acquire() as conn:
        while True:
            async with conn.transaction():
                uids = await q.expire_due(conn, now, EXPIRE_BATCH)
                for uid in uids:
                    await publish_updated(conn, settings, uid)
            total += len(uids)
            if len(uids) < EXPIRE_BATCH:
                return total


# --- group purchases and pay-it-forward ----------------------------------------------------


@dataclass(frozen=True)
class PledgeSummary:
    total: int
    target: int
    mine: int

    @property
    def reached(self) -> bool:
        return self.total >= self.target


async def _lock_open(conn, uid: str, kind: str, wrong_kind: str) -> Listing:
    listing = await q.get_listing(conn, uid, for_update=True)
    if listing is None:
        raise ListingNotFound("There is no such listing.")
    if listing.kind != kind:
        raise NotAllowed(wrong_kind)
    if listing.state != "open":
        raise InvalidTransition(f"This listing is {listing.state}; it takes no more answers.")
    return listing


async def pledge(
    pool: asyncpg.Pool,
    settings: Settings,
    account: Account,
    uid: str,
    quantity: str,
    *,
    now: datetime | None = None,
) -> PledgeSummary:
    """Set this account's pledge towards a group purchase; 0 takes it back."""
    f = _Form({"quantity": quantity}, now or now_utc(), settings.tz)
    amount = f.whole("quantity", 100_000, "Say how many you want.", low=0)
    if f.errors:
        raise ValidationError(f.errors)
    async with pool.acquire() as conn, conn.transaction():
        listing = await _lock_open(
            conn, uid, "group_purchase", "Only group purchases take pledges."
        )
        if _day_end(date.fromisoformat(listing.details["deadline"]), f.tz) <= f.now:
            raise InvalidTransition("The deadline for pledges has passed.")
        if amount:
            await q.set_pledge(conn, listing.id, account.id, amount)
        else:
            await q.delete_pledge(conn, listing.id, account.id)
        total, mine = await q.pledged(conn, listing.id, account.id)
        await q.set_available_quantity(conn, listing.id, max(listing.quantity - total, 0))
        await publish_updated(conn, settings, uid)
    return PledgeSummary(total=total, target=listing.quantity, mine=mine)


async def claim_portion(
    pool: asyncpg.Pool, settings: Settings, account: Account, uid: str
) -> Listing:
    """Take one portion of a pay-it-forward offer; the last one completes it."""
    async with pool.acquire() as conn, conn.transaction():
        listing = await _lock_open(
            conn, uid, "pay_it_forward", "Only pay-it-forward offers have portions to claim."
        )
        if listing.purpose != "offer":
            raise NotAllowed("Only pay-it-forward offers have portions to claim.")
        if listing.author_id == account.id:
            raise NotAllowed("You cannot claim a portion of your own offer.")
        if not listing.available_quantity:
            raise InvalidTransition("All portions have been claimed.")
        if not await q.insert_claim(conn, listing.id, account.id):
            raise NotAllowed("You have claimed a portion of this offer already.")
        left = listing.available_quantity - 1
        await q.set_available_quantity(conn, listing.id, left)
        if left == 0:
            await q.set_state(conn, listing.id, "completed")
            await q.insert_event(conn, listing.id, "state", "completed", account.id)
        await publish_updated(conn, settings, uid)
        return await q.get_listing(conn, uid)


# --- reading -------------------------------------------------------------------------------


@dataclass(frozen=True)
class ListingView:
    """Everything a listing's page shows, for one viewer."""

    listing: Listing
    photos: list[ListingPhoto]
    events: list[asyncpg.Record]
    category_name: str
    may_manage: bool
    next_states: list[str]
    pledged: int = 0
    my_pledge: int = 0
    claimed: int = 0
    my_claim: bool = False


async def get_listing(pool: asyncpg.Pool, uid: str) -> Listing | None:
    async with pool.acquire() as conn:
        return await q.get_listing(conn, uid)


async def listing_view(pool: asyncpg.Pool, uid: str, viewer: Account | None) -> ListingView | None:
    async with pool.acquire() as conn:
        listing = await q.get_listing(conn, uid)
        if listing is None:
            return None
        viewer_id = viewer.id if viewer else None
        pledged, my_pledge = await q.pledged(conn, listing.id, viewer_id)
        claimed, my_claim = await q.claims(conn, listing.id, viewer_id)
        names = {row["slug"]: row["name"] for row in await q.categories(conn)}
        return ListingView(
            listing=listing,
            photos=await q.listing_photos(conn, listing.id),
            events=await q.listing_events(conn, listing.id),
            category_name=names.get(listing.category, listing.category),
            may_manage=may_manage(listing, viewer),
            next_states=next_states(listing) if may_manage(listing, viewer) else [],
            pledged=pledged,
            my_pledge=my_pledge,
            claimed=claimed,
            my_claim=my_claim,
        )


async def listing_photos(pool: asyncpg.Pool, listing_id: int) -> list[ListingPhoto]:
    async with pool.acquire() as conn:
        return await q.listing_photos(conn, listing_id)


async def my_listings(pool: asyncpg.Pool, account: Account) -> list[Listing]:
    async with pool.acquire() as conn:
        return await q.listings_by_author(conn, account.id)


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
        "available_from": _iso(_local_day(listing.available_from, tz)) or "",
        "available_until": _iso(last_day(listing.available_until, tz)) or "",
        "expires_on": _iso(last_day(listing.expires_at, tz)) or "",
        "no_expiry": "" if listing.expires_at else "on",
    }
    for name, value in listing.details.items():
        values[name] = str(value or "")
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


# --- categories ----------------------------------------------------------------------------


async def categories(pool: asyncpg.Pool) -> list[asyncpg.Record]:
    async with pool.acquire() as conn:
        return await q.categories(conn)


def slug_from(name: str) -> str:
    """ "Books and media" -> "books_and_media": hashtag-safe, because categories go out as tags."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "_", ascii_name.lower()).strip("_")[:30].strip("_")


def _require_admin(account: Account) -> None:
    if not account.is_admin:
        raise NotAllowed("Only the node's admins can change categories.")


def _category_name(f: _Form) -> str:
    return f.text("name", 60, "Give the category a name.")


async def add_category(pool: asyncpg.Pool, account: Account, form: Mapping[str, Any]) -> str:
    _require_admin(account)
    f = _Form(form, now_utc())
    name = _category_name(f)
    slug = f.raw("slug").lower() or slug_from(name)
    if name and not SLUG_RE.fullmatch(slug):
        f.fail("slug", "Use 1 to 30 lower-case letters, digits or _.")
    if f.errors:
        raise ValidationError(f.errors)
    async with pool.acquire() as conn:
        if not await q.insert_category(conn, slug, name):
            raise ValidationError({"slug": f"The category {slug!r} exists already."})
    return slug


async def rename_category(pool: asyncpg.Pool, account: Account, form: Mapping[str, Any]) -> None:
    _require_admin(account)
    f = _Form(form, now_utc())
    name = _category_name(f)
    if f.errors:
        raise ValidationError(f.errors)
    async with pool.acquire() as conn:
        if not await q.rename_category(conn, f.raw("slug"), name):
            raise ValidationError({"slug": "There is no such category."})
