"""Saved searches, a resident's area, and their weekly digest (services.digests sends it).

Decisions:
- A saved search is /explore's filters kept: words, offers or requests, kinds, categories,
  and within N km of a centre. The centre is fixed when the search is saved: the named place
  or the coordinates chosen on /explore, else the resident's area, else the neighbourhood's
  point (`home_point`). services.matching tells the resident of each new listing, here or
  from a federated neighbourhood, that fits one of their searches.
- The resident's area is a named place they pick (its point copied, as a listing copies
  its place's: moving the place later leaves their choice alone). The neighbourhood's point
  is the first of its named places in the admins' order (/admin/places): there is no other
  position for a whole node. /explore measures "within N km" from one of the two when no
  place or coordinates are given.
- At most MAX_SEARCHES a resident: each is read for every new listing.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import asyncpg

from commonsfed.db import matching as q
from commonsfed.db import places as places_q
from commonsfed.i18n import Text
from commonsfed.i18n import gettext_noop as N_
from commonsfed.models import KINDS, PURPOSES, Account
from commonsfed.services.errors import ValidationError

MAX_SEARCHES = 20
MAX_WORDS = 200
MIN_KM, MAX_KM = 0.1, 100
DISTANCE = Text(N_("Enter a distance from %(low)s to %(high)s km."), low=MIN_KM, high=MAX_KM)
NO_CENTRE = N_("Choose a place, or give a latitude and a longitude, to search around.")


@dataclass(frozen=True)
class SavedSearch:
    id: int
    words: str
    purpose: str | None
    kinds: tuple[str, ...]
    categories: tuple[str, ...]
    km: float | None


@dataclass(frozen=True)
class Preferences:
    area: tuple[float, float] | None
    digest: bool
    digest_categories: tuple[str, ...]
    digest_km: float


def _km(raw: str, errors: dict, name: str = "km") -> float | None:
    """A distance in range, or None and a message (a negative one, text, infinity)."""
    try:
        km = float(raw)
    except ValueError:
        km = math.nan
    if not (math.isfinite(km) and MIN_KM <= km <= MAX_KM):
        errors[name] = DISTANCE
        return None
    return km


def _all_in(values: Sequence[str], allowed, errors: dict, name: str, message: str) -> list[str]:
    picked = [value for value in dict.fromkeys(values) if value]
    if any(value not in allowed for value in picked):
        errors[name] = message
    return picked


async def home_point(conn: asyncpg.Connection, account: Account | None) -> tuple | None:
    """Where "near me" is: the resident's area, else the neighbourhood's first named place."""
    if account is not None:
        prefs = await q.preferences(conn, account.id)
        if prefs is not None and prefs["latitude"] is not None:
            return (prefs["latitude"], prefs["longitude"])
    named = await places_q.all_places(conn)
    return (named[0].latitude, named[0].longitude) if named else None


async def _centre(conn, form: Mapping[str, str], account: Account, errors: dict) -> tuple | None:
    """The point a search's distance is measured from (see the module's docstring)."""
    if form.get("place"):
        named = {str(place.id): place for place in await places_q.all_places(conn)}
        place = named.get(form["place"])
        if place is None:
            errors["place"] = N_("Choose a place from the list.")
            return None
        return (place.latitude, place.longitude)
    if form.get("lat") or form.get("lon"):
        try:
            lat, lon = float(form.get("lat", "")), float(form.get("lon", ""))
        except ValueError:
            lat = lon = math.nan
        if not (-90 <= lat <= 90 and -180 <= lon <= 180):
            errors["lat"] = N_("Enter a latitude from -90 to 90 and a longitude from -180 to 180.")
            return None
        return (lat, lon)
    return await home_point(conn, account)


async def _read(conn, form: Mapping[str, str], kinds, categories, account) -> dict:
    errors: dict[str, str] = {}
    words = str(form.get("q", "")).strip()
    if len(words) > MAX_WORDS:
        errors["q"] = Text(N_("Search for at most %(max)s characters."), max=MAX_WORDS)
    purpose = str(form.get("purpose", "")) or None
    if purpose is not None and purpose not in PURPOSES:
        errors["purpose"] = N_("Choose offers or requests.")
    known = set(await q.category_slugs(conn))
    values = {
        "words": words, "purpose": purpose, "latitude": None, "longitude": None, "km": None,
        "kinds": _all_in(kinds, KINDS, errors, "kind", N_("Choose a kind from the list.")),
        "categories": _all_in(categories, known, errors, "category",
                              N_("Choose a category from the list.")),
    }  # fmt: skip
    if str(form.get("km", "")).strip():
        km = _km(str(form["km"]).strip(), errors)
        centre = await _centre(conn, form, account, errors)
        if centre is None and not errors:
            errors["km"] = NO_CENTRE
        if km is not None and centre is not None:
            values.update(latitude=centre[0], longitude=centre[1], km=km)
    if errors:
        raise ValidationError(errors)
    return values


async def save(
    pool: asyncpg.Pool,
    account: Account,
    form: Mapping[str, str],
    kinds: Sequence[str] = (),
    categories: Sequence[str] = (),
) -> int:
    """Save /explore's filters (`form`: q, purpose, km, place, lat, lon; `kinds` and
    `categories` as many as chosen) for `account`; ValidationError on bad input."""
    async with pool.acquire() as conn, conn.transaction():
        values = await _read(conn, form, kinds, categories, account)
        if await q.count_searches(conn, account.id) >= MAX_SEARCHES:
            message = Text(
                N_("You have %(max)s saved searches, the most there can be. Delete one first."),
                max=MAX_SEARCHES,
            )
            raise ValidationError({"searches": message})
        return await q.insert_search(conn, account.id, values)


async def searches(pool: asyncpg.Pool, account: Account) -> list[SavedSearch]:
    async with pool.acquire() as conn:
        rows = await q.account_searches(conn, account.id)
    return [
        SavedSearch(
            row["id"],
            row["words"],
            row["purpose"],
            tuple(row["kinds"]),
            tuple(row["categories"]),
            row["km"],
        )  # fmt: skip
        for row in rows
    ]


async def delete(pool: asyncpg.Pool, account: Account, search_id: int) -> bool:
    """Delete one of `account`'s searches; False when they have none by that id."""
    async with pool.acquire() as conn:
        return await q.delete_search(conn, account.id, search_id)


# --- the resident's area and digest ---------------------------------------------------------


async def preferences(pool: asyncpg.Pool, account: Account) -> Preferences:
    async with pool.acquire() as conn:
        row = await q.preferences(conn, account.id)
    if row is None:
        return Preferences(None, False, (), 5.0)
    area = (row["latitude"], row["longitude"]) if row["latitude"] is not None else None
    return Preferences(area, row["digest"], tuple(row["digest_categories"]), row["digest_km"])


async def save_preferences(
    pool: asyncpg.Pool, account: Account, form: Mapping[str, str], categories: Sequence[str]
) -> Preferences:
    """The resident's area (`place`: a named place's id, or "" for none) and digest
    (`digest` ticked, `digest_km`, the `categories` chosen: none for all)."""
    errors: dict[str, str] = {}
    async with pool.acquire() as conn, conn.transaction():
        area = None
        if form.get("place"):
            area = await _centre(conn, {"place": form["place"]}, account, errors)
        km = _km(str(form.get("digest_km", "") or "5").strip(), errors, "digest_km")
        known = set(await q.category_slugs(conn))
        chosen = _all_in(categories, known, errors, "categories",
                         N_("Choose a category from the list."))  # fmt: skip
        if errors:
            raise ValidationError(errors)
        digest = bool(form.get("digest"))
        await q.save_preferences(conn, account.id, area, digest, chosen, km)
    return Preferences(area, digest, tuple(chosen), km)
