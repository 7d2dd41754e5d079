"""The neighbourhood's named places: an admin keeps the list (/admin/places), residents pick
one in the listing form instead of typing coordinates, and /explore measures distances from
one.

Decisions:
- A place's coordinates are rounded as a listing's are (two decimals, about a kilometre):
  a named place is a landmark, not a door.
- A listing copies the chosen place's name and coordinates; it does not point at the place.
  Renaming, moving or removing a place later leaves the listings (and what went out to
  other nodes) as they were. The edit form shows the place chosen again when the listing's
  place and coordinates are still that place's.
- Distances are great-circle distances (haversine) on a sphere of the Earth's mean radius,
  computed here rather than in SQL: a page holds twenty cards, and the coordinates are
  rough anyway.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import asyncpg

from commonsfed import numbers
from commonsfed.db import places as q
from commonsfed.i18n import Text
from commonsfed.i18n import gettext_noop as N_
from commonsfed.models import Account, Place
from commonsfed.services import moderation_log
from commonsfed.services.errors import NotAllowed, ValidationError
from commonsfed.services.listing_forms import Form, now_utc

MAX_NAME = 120
EARTH_RADIUS_KM = 6371.0088  # the mean radius (IUGG)
NO_SUCH_PLACE = N_("This place is no longer on the list. Choose another, or type where.")
LATITUDE = N_("Enter a latitude from -90 to 90, like 52.37.")
LONGITUDE = N_("Enter a longitude from -180 to 180, like 4.89.")
MISSING = {
    "latitude": N_("Give the place a latitude. Enter a latitude from -90 to 90, like 52.37."),
    "longitude": N_("Give the place a longitude. Enter a longitude from -180 to 180, like 4.89."),
}


def round_coordinate(value: float) -> float:
    """As services.listing_forms rounds a listing's: two decimals, about a kilometre."""
    return round(value, 2)


async def all_places(pool: asyncpg.Pool) -> list[Place]:
    async with pool.acquire() as conn:
        return await q.all_places(conn)


async def get_place(pool: asyncpg.Pool, place_id: int) -> Place | None:
    async with pool.acquire() as conn:
        return await q.get_place(conn, place_id)


# --- the admins' list ------------------------------------------------------------------------


def _require_admin(account: Account) -> None:
    if not account.is_admin:
        raise NotAllowed(Text(N_("Only the node's admins name its places.")))


def read_place(form: Mapping[str, Any]) -> tuple[str, float, float]:
    """(name, latitude, longitude) of an admin's form, rounded; ValidationError with one
    message per bad field."""
    f = Form(form, now_utc())
    name = " ".join(f.text("name", MAX_NAME, Text(N_("Give the place a name."))).split())
    for field in ("latitude", "longitude"):
        if not f.raw(field):
            f.fail(field, Text(MISSING[field]))
    latitude = f.number("latitude", -90, 90, Text(LATITUDE))
    longitude = f.number("longitude", -180, 180, Text(LONGITUDE))
    if f.errors or latitude is None or longitude is None:
        raise ValidationError(f.errors)
    return name, round_coordinate(latitude), round_coordinate(longitude)


def _duplicate(name: str) -> ValidationError:
    return ValidationError(
        {"name": Text(N_("A place called “%(name)s” is on the list already."), name=name)}
    )


def _where(place: Place) -> dict[str, Any]:
    return {"name": place.name, "latitude": place.latitude, "longitude": place.longitude}


async def add_place(pool: asyncpg.Pool, admin: Account, form: Mapping[str, Any]) -> Place:
    _require_admin(admin)
    name, latitude, longitude = read_place(form)
    async with pool.acquire() as conn, conn.transaction():
        place = await q.insert_place(conn, name, latitude, longitude)
        if place is None:
            raise _duplicate(name)
        await moderation_log.record(conn, admin, "add_place", "place", name,
                                    details=_where(place))  # fmt: skip
    return place


async def change_place(
    pool: asyncpg.Pool, admin: Account, place_id: int, form: Mapping[str, Any]
) -> Place:
    """Rename or move a place (or both): one form with its name and coordinates."""
    _require_admin(admin)
    name, latitude, longitude = read_place(form)
    async with pool.acquire() as conn, conn.transaction():
        before = await q.get_place(conn, place_id, for_update=True)
        if before is None:
            raise ValidationError(
                {"place": Text(N_("There is no such place: it may have been removed."))}
            )
        after = await q.update_place(conn, place_id, name, latitude, longitude)
        if after is None:
            raise _duplicate(name)
        if _where(after) != _where(before):
            await moderation_log.record(conn, admin, "change_place", "place", after.name,
                                        details={"from": _where(before), "to": _where(after)})  # fmt: skip
    return after


async def remove_place(pool: asyncpg.Pool, admin: Account, place_id: int) -> Place | None:
    """The place removed, or None when it was gone already (a second click)."""
    _require_admin(admin)
    async with pool.acquire() as conn, conn.transaction():
        place = await q.delete_place(conn, place_id)
        if place is not None:
            await moderation_log.record(conn, admin, "remove_place", "place", place.name,
                                        details=_where(place))  # fmt: skip
    return place


# --- the listing form ------------------------------------------------------------------------


def place_id_of(text: str) -> int | None:
    return int(text) if text.isdigit() and len(text) <= 18 else None


async def apply_choice(pool: asyncpg.Pool, f: Form) -> None:
    """When the form chose a named place (`place_id`), its name and coordinates replace what
    was typed, so a browser without JavaScript gets them too."""
    chosen = f.raw("place_id")
    if not chosen:
        return
    place_id = place_id_of(chosen)
    place = await get_place(pool, place_id) if place_id is not None else None
    if place is None:
        f.fail("place_id", NO_SUCH_PLACE)
        return
    f.form = {**f.form, "place": place.name, "latitude": str(place.latitude),
              "longitude": str(place.longitude)}  # fmt: skip


def chosen_place(places: list[Place], name: str, latitude: float | None,
                 longitude: float | None) -> Place | None:  # fmt: skip
    """The named place a listing's place and coordinates still are, if any (the edit form
    shows it chosen again)."""
    for place in places:
        if (place.name, place.latitude, place.longitude) == (name, latitude, longitude):
            return place
    return None


# --- distances -------------------------------------------------------------------------------


def distance_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """The great-circle distance (haversine)."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    dphi, dlambda = phi2 - phi1, math.radians(lon2 - lon1)
    h = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlambda / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))


def distance_text(km: float, language: str | None = None) -> str:
    """ "0.4 km", "1.2 km", "12 km" (« 1,2 km » in French): see commonsfed.numbers."""
    return numbers.distance(km, language)
