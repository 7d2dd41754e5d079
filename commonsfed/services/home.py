"""A resident's home on the web: whether they are new here (the welcome page after their
first login), and their following feed.

Decisions:
- The following feed is the client API's home timeline (services.timelines) without the
  resident's own listings and without messages: the listings of the residents and the
  people on other nodes they follow, and every listing of the neighbourhoods (Groups) they
  follow, with what they block, mute or hide left out. So an app and the web page agree on
  whom a resident hears. Newest first, paged by status id ("older" carries the last id).
- Listings keep their place in the feed whatever their state, as posts do in a timeline;
  the card says when one is reserved, done or withdrawn.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import asyncpg
import orjson

from commonsfed.ap.remote_listings import listing_from_ap
from commonsfed.db import follows as follows_q
from commonsfed.db import home as q
from commonsfed.db import listings as listings_q
from commonsfed.db import timelines as timelines_q
from commonsfed.db.timelines import Bounds, Sources
from commonsfed.federation.context import Federation
from commonsfed.i18n import Text
from commonsfed.i18n import gettext_noop as N_
from commonsfed.models import Account
from commonsfed.services import accounts, api_relationships, remote_cards, timelines
from commonsfed.services.accounts import normalise_username
from commonsfed.services.errors import ServiceError
from commonsfed.services.search import Card, local_card, remote_card

PAGE_SIZE = 20


class NoSuchResident(ServiceError):
    """No active resident has that name here."""


async def is_first_visit(pool: asyncpg.Pool, username: str) -> bool:
    """Whether `username` has never logged in (ask before authenticating, which records the
    login): an account an admin approved, or one made with `commonsfed user create`, is
    welcomed at its first login. Only told after the password was right."""
    async with pool.acquire() as conn:
        return await q.never_logged_in(conn, normalise_username(username))


@dataclass(frozen=True)
class FollowingPage:
    cards: list[Card]  # newest first
    older: int | None  # the status id to read on from; None on the last page
    follows_anyone: bool  # False: the feed is empty because they follow no one yet


def _feed_sources(found: Sources, viewer: Account) -> Sources:
    """The home timeline's sources without messages and without the viewer's own."""
    return replace(
        found, messages_of=None, hidden_authors=tuple(sorted({*found.hidden_authors, viewer.id}))
    )


def _follows_anyone(found: Sources, viewer: Account) -> bool:
    return bool(
        found.local_authors is None
        or set(found.local_authors) - {viewer.id}
        or found.remote_actors
        or found.remote_domains
    )


async def following(fed: Federation, viewer: Account, before: int | None = None) -> FollowingPage:
    """One page of `viewer`'s following feed, below status id `before` (None: the newest)."""
    async with fed.pool.acquire() as conn:
        found = await timelines.sources(conn, fed.settings, timelines.HOME, viewer)
        bounds = Bounds(below=before, above=None, limit=PAGE_SIZE + 1)
        ids = await timelines_q.page_ids(conn, _feed_sources(found, viewer), bounds)
        cards = await _cards(conn, ids[:PAGE_SIZE])
    older = ids[PAGE_SIZE - 1] if len(ids) > PAGE_SIZE else None
    dressed = await remote_cards.dress(fed, cards)
    return FollowingPage(dressed, older, _follows_anyone(found, viewer))


async def _cards(conn: asyncpg.Connection, ids: list[int]) -> list[Card]:
    """The cards of these status ids, in their order; a remote document that is no longer
    a listing we can read is left out."""
    if not ids:
        return []
    by_id = {row["status_id"]: local_card(row) for row in await q.local_cards(conn, ids)}
    remote_rows = await q.remote_cards(conn, ids)
    if remote_rows:
        names = {row["slug"]: row["name"] for row in await listings_q.categories(conn)}
        for row in remote_rows:
            remote = listing_from_ap(orjson.loads(row["document"]))
            if remote is not None:
                by_id[row["status_id"]] = remote_card(row, remote, names)
    return [by_id[status_id] for status_id in ids if status_id in by_id]


# --- following a resident here from their profile --------------------------------------------


async def follow_state(fed: Federation, viewer: Account, username: str) -> str | None:
    """ "accepted", "pending" or "none": whether `viewer` follows the resident `username`;
    None for their own profile."""
    if normalise_username(username) == viewer.username:
        return None
    async with fed.pool.acquire() as conn:
        row = await follows_q.get_follow(
            conn, fed.uris.user(viewer.username), fed.uris.user(normalise_username(username))
        )
    return row["state"] if row is not None else "none"


async def _resident_id(fed: Federation, username: str) -> int:
    resident = await accounts.get_by_username(fed.pool, username)
    if resident is None or not resident.is_active:
        raise NoSuchResident(
            Text(N_("There is no resident named %(name)s here."), name=repr(username))
        )
    return resident.id


async def follow_resident(fed: Federation, viewer: Account, username: str) -> str:
    """`viewer` follows the resident `username` as an app would (services.api_relationships:
    refused when they block the viewer; a request where they approve their followers).
    Returns the follow's state."""
    view = await api_relationships.follow(fed, viewer, await _resident_id(fed, username))
    return "accepted" if view.following else "pending"


async def unfollow_resident(fed: Federation, viewer: Account, username: str) -> None:
    await api_relationships.unfollow(fed, viewer, await _resident_id(fed, username))
