"""The neighbourhood page and the category pages: a page of cards in the order asked for
(newest, nearest, ending soon) and how many listings match.

Decisions:
- Newest first is services.search's keyset paging. The other orders page by position
  (`?page=2`), at most search.MAX_PAGE pages: a keyset on a distance or on an end date
  mixed with listings that have none would need a cursor per side and per order, for pages
  people rarely read past the second.
- Each page reads the first (page x size + 1) local listings in its order, by index
  (db.sorted_search), and, across federated neighbourhoods, as many remote listings in the
  same order (the nearest inside the circle's box, those whose end comes soonest: SQL reads
  both from the documents), with the newest REMOTE_CANDIDATES for what sorts after them (no
  coordinates, no end); they are merged in Python, which reads each one's distance and end
  exactly. So an older remote listing nearby, or ending soon, is on the first page.
- The count: local listings counted in SQL up to COUNT_CAP; remote ones judged in Python
  among the newest COUNT_CAP that match in SQL. Past the cap the page says "more than".
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import asyncpg
import orjson

from commonsfed import i18n, numbers
from commonsfed.ap.remote_listings import listing_from_ap
from commonsfed.db import accounts as accounts_q
from commonsfed.db import listings as listings_q
from commonsfed.db import places as places_q
from commonsfed.db import search as search_q
from commonsfed.db import sorted_search as q
from commonsfed.i18n import gettext_noop as N_
from commonsfed.models import Account, Place
from commonsfed.services import saved_searches, search
from commonsfed.services.places import distance_km
from commonsfed.services.search import Card, Page, Search

REMOTE_CANDIDATES = 200
COUNT_CAP = 1000


@dataclass(frozen=True)
class Count:
    """How many listings match: `total`, or more than it when `more`."""

    total: int
    more: bool = False


@dataclass(frozen=True)
class Explore:
    """A page of listings: the filters as read, a page of cards, the categories, the
    count; `next_page` for the sorts paged by position."""

    search: Search
    page: Page
    categories: list[asyncpg.Record]
    places: list[Place] = field(default_factory=list)
    count: Count = Count(0)
    next_page: int | None = None


async def explore(
    pool: asyncpg.Pool,
    query: Mapping[str, str],
    viewer: Account | None = None,
    *,
    category: str | None = None,
) -> Explore:
    """/explore, or a category's page when `category` (a slug known to exist) is given."""
    async with pool.acquire() as conn:
        categories = await listings_q.categories(conn)
        named = await places_q.all_places(conn)
        hidden = await search.hidden_for(conn, viewer)
        home = await saved_searches.home_point(conn, viewer)
    points = {str(place.id): (place.latitude, place.longitude) for place in named}
    if category is not None:
        query = {**query, "category": category}
    found = search.read_search(query, {row["slug"] for row in categories}, points, home)
    found = search.leaving_out(found, hidden)
    if found.sort == "newest":
        page, next_page = await search.find(pool, found), None
    else:
        page, next_page = await sorted_page(pool, found)
    async with pool.acquire() as conn:
        count = await count_matches(conn, await search.with_author(conn, found))
    return Explore(found, page, categories, named, count, next_page)


# --- the other orders ------------------------------------------------------------------------


def _sort_key(card: Card, sort: str, origin: tuple[float, float] | None) -> tuple:
    """Smaller first. Ties go newest first, as on the newest-first page."""
    newest = (-card.created_at.timestamp(), card.uri or "", card.local_id or 0)
    if sort == "nearest" and origin is not None:
        if card.latitude is None or card.longitude is None:
            return (1, 0.0, *newest)
        return (0, distance_km(*origin, card.latitude, card.longitude), *newest)
    now = datetime.now(UTC)
    if card.ends_at is not None and card.ends_at >= now:
        return (0, card.ends_at.timestamp(), *newest)
    return (1, 0.0, *newest)


async def sorted_page(
    pool: asyncpg.Pool, found: Search, size: int = search.PAGE_SIZE
) -> tuple[Page, int | None]:
    """One page of `found` in its order (nearest or ending soon), and the next page's
    number if there is one."""
    wanted = found.page * size + 1
    async with pool.acquire() as conn:
        found = await search.with_author(conn, found)
        if found.sort == "nearest":
            rows = await q.nearest(conn, found.filter, wanted)
        else:
            rows = await q.ending_soon(conn, found.filter, datetime.now(UTC), wanted)
        cards = [search.local_card(row) for row in rows]
        if found.everywhere:
            cards += await _remote_cards(conn, found, wanted)
    cards.sort(key=lambda card: _sort_key(card, found.sort, found.origin))
    start = (found.page - 1) * size
    shown = search.with_distances(cards[start : start + size], found.origin)
    more = len(cards) > start + size and found.page < search.MAX_PAGE
    return Page(shown, None), found.page + 1 if more else None


async def _remote_cards(conn: asyncpg.Connection, found: Search, wanted: int) -> list[Card]:
    """The remote listings that may stand on the page: the first `wanted` in its order (the
    nearest, those ending soonest), and the newest REMOTE_CANDIDATES for what sorts after
    them (no coordinates, no end), each once."""
    names = await search.category_names(conn)
    if found.sort == "nearest":
        first = await q.remote_nearest(conn, found.filter, wanted)
    else:
        since = (datetime.now(UTC) - timedelta(days=1)).isoformat()  # the exact cut: below
        first = await q.remote_ending(conn, found.filter, since, wanted)
    newest = await search_q.remote_listings(conn, found.filter, None, REMOTE_CANDIDATES)
    cards, seen = [], set()
    for row in [*first, *newest]:
        if row["uri"] in seen:
            continue
        seen.add(row["uri"])
        remote = listing_from_ap(orjson.loads(row["document"]))
        if search.usable(remote, found.filter):
            cards.append(search.remote_card(row, remote, names))
    return cards


# --- the count -------------------------------------------------------------------------------


async def count_matches(conn: asyncpg.Connection, found: Search) -> Count:
    """How many open listings `found` matches (see the module docstring for the caps)."""
    local = await q.local_count(conn, found.filter, COUNT_CAP)
    remote, remote_more = 0, False
    if found.everywhere:
        rows = await search_q.remote_listings(conn, found.filter, None, COUNT_CAP + 1)
        remote_more = len(rows) > COUNT_CAP
        remote = sum(
            1
            for row in rows[:COUNT_CAP]
            if search.usable(listing_from_ap(orjson.loads(row["document"])), found.filter)
        )
    more = local > COUNT_CAP or remote_more
    return Count(min(local, COUNT_CAP) + remote, more)


def count_text(count: Count, language: str = i18n.SOURCE_LANGUAGE) -> str:
    """ "12 listings", "1 listing", "No listings", "More than 1,000 listings", in
    `language` (« Plus de 1 000 annonces »), with its plural rules and digits."""
    total = numbers.number(count.total, language)
    if count.more:
        return i18n.gettext(language, N_("More than %(num)s listings")) % {"num": total}
    if count.total == 0:
        return i18n.gettext(language, N_("No listings"))
    message = i18n.translations(language).ngettext(
        "%(num)s listing", "%(num)s listings", count.total
    )
    return message % {"num": total}


# --- a resident's listings -------------------------------------------------------------------

MY_LISTINGS = 200  # a resident's own page shows this many, newest first
PROFILE_LISTINGS = 20


async def my_cards(pool: asyncpg.Pool, account: Account) -> list[Card]:
    """A resident's own listings as cards, whatever their state."""
    async with pool.acquire() as conn:
        rows = await q.author_listings(conn, account.id, MY_LISTINGS, open_only=False)
    return [search.local_card(row) for row in rows]


async def profile_cards(pool: asyncpg.Pool, username: str) -> list[Card]:
    """The open listings a resident's profile shows, as cards."""
    async with pool.acquire() as conn:
        account = await accounts_q.get_by_username(conn, username)
        if account is None:
            return []
        rows = await q.author_listings(conn, account.id, PROFILE_LISTINGS, open_only=True)
    return [search.local_card(row) for row in rows]
