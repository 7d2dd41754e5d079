"""Matches and alerts: a new listing meets the open listings of the other side, and the
residents whose saved searches it fits hear of it.

Decisions:
- A match is the other purpose (a request meets offers, an offer meets requests), the same
  kind and the same category, and words in common: any word of the new listing's title
  (three letters or more, not a common little word, as a prefix) in the other's title or
  description (PostgreSQL full text, 'simple' as 0005's column). They rank by ts_rank plus
  the titles' trigram similarity (pg_trgm, where PostgreSQL has it). Trigrams rank but do
  not find: as a condition (`%`) they cost a similarity per listing of the category,
  kind and purpose, which doubled a match's time at 100,000 listings (bench/matching.py).
  When both have coordinates they are at most the node's `match_km` apart (10 km unless an
  admin changes it at /admin/settings); a listing without them
  still matches, as most are within walking distance anyway.
- Matching a local listing runs in the transaction that writes it, and again in the one
  that edits it (its old matches go first; nobody is told twice of it) (a few index scans,
  bench/matching.py): its author sees the matches on its page, and the matched listings'
  authors (here) get a `listing_match` notice, mailed if they chose mail about matches.
  Local candidates are listings here; remote ones are the newest db.matching.REMOTE_WINDOW
  listings of federated neighbourhoods with the category's hashtag, whose kind, state and
  distance are read from their documents. Their authors live elsewhere: they are not told
  (a notice to a remote actor would be a message they never asked for).
- A remote listing that reaches us is queued by a trigger in the transaction that stores
  it (migration 0042) and matched by the scheduled jobs (`match_arrivals`): the local
  listings of the other side it matches get it on their pages and their authors a notice;
  saved searches that fit it tell their owners.
- Saved searches (services.saved_searches) match every new listing, local or remote: one
  `saved_search_match` notice per resident and listing, never for one's own, and none on
  top of a `listing_match` about the same listing.
- Blocked people are no match: neither side of a match blocks the other; limited and
  suspended residents' listings match nothing, as they stay off the public pages.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

import asyncpg
import orjson

from commonsfed.ap.remote_listings import RemoteListing, html_to_text, listing_from_ap
from commonsfed.config import Settings
from commonsfed.db import mail as mail_q
from commonsfed.db import matching as q
from commonsfed.models import KINDS
from commonsfed.services.places import distance_km

SHOWN = 10  # matches kept (and authors told) for one new listing, at most
MAX_WORDS = 12
ARRIVALS_BATCH = 50
_WORD = re.compile(r"[^\W_]{3,40}")
# common little words of English and French that would match nearly everything
STOP_WORDS = frozenset(
    """
    the and for with from into your our are was has have any some this that these those
    one two who what not but all its very more most less new old used need needed want
    les des une pour avec dans sur par est sont aux ces cette mon mes ton tes son ses
    nos vos leur leurs qui que quoi pas plus moins tout tous toute toutes très bien
""".split()
)


def words_query(title: str) -> str | None:
    """The title's words as a to_tsquery of prefixes joined by OR: "Cordless drill" ->
    "cordless:* | drill:*". Only letters and digits reach it, so nothing is read as query
    syntax; None when no word is left."""
    seen: list[str] = []
    for word in _WORD.findall(title.lower()):
        if word not in STOP_WORDS and word not in seen:
            seen.append(word)
    return " | ".join(f"{word}:*" for word in seen[:MAX_WORDS]) or None


def other_side(purpose: str) -> str:
    return "offer" if purpose == "request" else "request"


def remote_path(uri: str) -> str:
    """A remote listing's page on this node."""
    return "/network/listing?" + urlencode({"uri": uri})


# --- a listing written here ---------------------------------------------------------------------


async def on_new_listing(conn: asyncpg.Connection, settings: Settings, listing_id: int) -> None:
    """Match a listing just written, in its transaction: keep its matches (both ways), tell
    the matched authors here, and the residents whose saved searches it fits."""
    new = await q.listing_row(conn, listing_id)
    wanted = q.Wanted(
        purpose=other_side(new["purpose"]), kind=new["kind"], category=new["category"],
        words=words_query(new["title"]), title=new["title"], latitude=new["latitude"],
        longitude=new["longitude"], km=settings.match_km, not_author_id=new["author_id"],
        trigrams=await q.has_trigrams(conn),
    )  # fmt: skip
    found = [] if wanted.hopeless else await q.local_candidates(conn, wanted, SHOWN)
    await q.keep_local_matches(conn, listing_id, [(row["id"], row["score"]) for row in found])
    told = set()
    for row in found:
        about = {"other_side": f"@{new['author']}", "listing_title": new["title"],
                 "path": f"/listings/{new['uid']}"}  # fmt: skip
        if await _tell(conn, row["author_id"], "listing_match", about, listing_id=listing_id):
            told.add(row["author_id"])
    if not wanted.hopeless:
        await _keep_remote_matches(conn, listing_id, wanted)
    arrival = q.Arrival(
        purpose=new["purpose"], kind=new["kind"], categories=(new["category"],),
        text=f"{new['title']} {new['description']}", latitude=new["latitude"],
        longitude=new["longitude"], author_id=new["author_id"],
    )  # fmt: skip
    about = {"other_side": f"@{new['author']}", "listing_title": new["title"],
             "path": f"/listings/{new['uid']}"}  # fmt: skip
    for account_id in await q.searches_matching(conn, arrival):
        if account_id not in told:
            await _tell(conn, account_id, "saved_search_match", about, listing_id=listing_id)


async def on_edited_listing(conn: asyncpg.Connection, settings: Settings, listing_id: int) -> None:
    """Match an edited listing anew, in its transaction: its old matches go (a new title
    may match other listings), the new ones are kept, and nobody told of it before is
    told again (only open and reserved listings can be edited)."""
    await q.forget_matches(conn, listing_id)
    await on_new_listing(conn, settings, listing_id)


async def _tell(conn, account_id: int, kind: str, about: dict[str, Any], **notice) -> bool:
    """A notice, and its mail if they chose mail about matches; nothing when they were
    told of this listing already."""
    if not await q.insert_notice(conn, account_id, kind, **notice):
        return False
    await mail_q.queue_notification_mail(conn, account_id, kind, about)
    return True


def fits(remote: RemoteListing | None, kind: str, point: tuple[Any, Any], km: float) -> bool:
    """A remote listing is open, of `kind`, and within `km` of `point` when both have one."""
    if remote is None or remote.state != "open" or remote.kind != kind:
        return False
    if None in point or remote.latitude is None or remote.longitude is None:
        return True
    return distance_km(point[0], point[1], remote.latitude, remote.longitude) <= km


async def _keep_remote_matches(conn, listing_id: int, wanted: q.Wanted) -> None:
    kept = 0
    for row in await q.remote_candidates(conn, wanted):
        remote = listing_from_ap(orjson.loads(row["document"]))
        if fits(remote, wanted.kind, (wanted.latitude, wanted.longitude), wanted.km):
            await q.keep_remote_match(conn, listing_id, row["uri"], remote.title, row["score"])
            kept += 1
            if kept >= SHOWN:
                return


# --- a listing from a federated neighbourhood -------------------------------------------------------


@dataclass(frozen=True)
class _Arrived:
    uri: str
    domain: str
    listing: RemoteListing


async def match_arrivals(
    pool: asyncpg.Pool, settings: Settings, limit: int = ARRIVALS_BATCH
) -> int:
    """Match the remote listings queued since the last run (one transaction: a failure
    leaves them queued for the next); returns how many were taken."""
    async with pool.acquire() as conn, conn.transaction():
        rows = await q.claim_remote_queue(conn, limit)
        categories = set(await q.category_slugs(conn))
        for row in rows:
            arrived = _arrived(row)
            if arrived is not None and not await q.domain_limited(conn, row["domain"]):
                await _match_arrival(conn, settings, arrived, categories)
    return len(rows)


def _arrived(row: asyncpg.Record) -> _Arrived | None:
    if row["document"] is None:
        return None  # deleted since it came
    listing = listing_from_ap(orjson.loads(row["document"]), now=datetime.now(UTC))
    if listing is None or listing.state != "open":
        return None
    return _Arrived(row["uri"], row["domain"], listing)


async def _match_arrival(conn, settings: Settings, arrived: _Arrived, categories: set[str]) -> None:
    remote = arrived.listing
    about = {"other_side": remote.author_uri, "listing_title": remote.title,
             "path": remote_path(arrived.uri)}  # fmt: skip
    # its page here, as an address (notifications' object_url holds absolute ones)
    notice = {"object_uri": arrived.uri, "object_url": settings.base_url + remote_path(arrived.uri),
              "title": remote.title}  # fmt: skip
    told: set[int] = set()
    category = next((tag for tag in remote.categories if tag in categories), None)
    if remote.kind in KINDS and category is not None:
        wanted = q.Wanted(
            purpose=other_side(remote.purpose), kind=remote.kind, category=category,
            words=words_query(remote.title), title=remote.title, latitude=remote.latitude,
            longitude=remote.longitude, km=settings.match_km, trigrams=await q.has_trigrams(conn),
            author_uri=remote.author_uri, domain=arrived.domain,
        )  # fmt: skip
        found = [] if wanted.hopeless else await q.local_candidates(conn, wanted, SHOWN)
        for row in found:
            await q.keep_remote_match(conn, row["id"], arrived.uri, remote.title, row["score"])
            if await _tell(conn, row["author_id"], "listing_match", about, **notice):
                told.add(row["author_id"])
    arrival = q.Arrival(
        purpose=remote.purpose, kind=remote.kind, categories=remote.categories,
        text=f"{remote.title} {html_to_text(remote.content_html)}", latitude=remote.latitude,
        longitude=remote.longitude, author_uri=remote.author_uri, domain=arrived.domain,
    )  # fmt: skip
    for account_id in await q.searches_matching(conn, arrival):
        if account_id not in told:
            await _tell(conn, account_id, "saved_search_match", about, **notice)


# --- the author's page ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Match:
    title: str
    path: str  # its page on this node
    author: str  # "@bob", or a remote author's actor URI
    remote: bool


async def matches_for(pool: asyncpg.Pool, listing_id: int) -> list[Match]:
    """The open matches of a listing, best first, for its author's page."""
    async with pool.acquire() as conn:
        rows = await q.matches_of(conn, listing_id, SHOWN)
    return [_match(row) for row in rows]


def _match(row: asyncpg.Record) -> Match:
    if row["uid"] is not None:
        return Match(row["title"], f"/listings/{row['uid']}", f"@{row['author']}", False)
    return Match(row["title"], remote_path(row["uri"]), row["author"], True)
