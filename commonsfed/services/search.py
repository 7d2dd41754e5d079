"""Finding listings: the neighbourhood page with its filters, and the feeds.

Decisions (see also the report on issue 5, items 5 and 7):
- Newest first by default. Words narrow the list but do not reorder it: listings are
  short-lived, so a fresh match beats an old better one, and keyset paging stays simple and
  stable. There is no "best match" sort, which would have to rank every match of a common
  word. "Nearest" and "ending soon" are services.sorted_search's, paged by position; `sort`
  is read here with the other filters (a bad value: a message, and newest first).
- Open and reserved listings are found (reserved ones show their state: they may come back);
  completed, withdrawn and expired ones never are.
- Keyset paging on (created_at, id): a deep page costs what the first does, and a listing
  posted while someone pages does not shift what they see next.
- "Across federated neighbourhoods" merges local listings and remote ones (remote_objects
  WHERE is_listing), read with `listing_from_ap`. Remote text is shown as plain text (titles,
  places); remote photos only from this node's cache (services.remote_cards), never from the
  other server: loading them there would tell it who looks.
  A remote listing's kind and its end date are judged in Python, so remote rows are read in
  rounds; when the rounds run out the page stops early at the last row read, and its "older"
  link carries on from there (see `_merge`).
- "Near a place": the words of the place text, by prefix, and/or "within N km" of a named
  place (services.places) or of typed coordinates: a bounding box narrows by index (no
  PostGIS; it ignores the antimeridian), then the great-circle distance decides, in SQL for
  local listings and in Python for remote ones. When the reader's point is known (the place
  or the coordinates), each card shows its distance, rounded.
- A logged-in resident never sees the listings of people they block or mute, nor those of
  domains they hide (services.blocks), here, on the home page or in the feeds they read
  while logged in; the queries carry those lists only for residents who have any.
"""

from __future__ import annotations

import base64
import binascii
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta, tzinfo
from urllib.parse import urlencode

import asyncpg
import orjson

from commonsfed import numbers
from commonsfed.ap.remote_listings import RemoteListing, RemotePhoto, listing_from_ap
from commonsfed.db import accounts as accounts_q
from commonsfed.db import blocks as blocks_q
from commonsfed.db import listings as listings_q
from commonsfed.db import moderation as moderation_q
from commonsfed.db import search as q
from commonsfed.i18n import Text
from commonsfed.i18n import gettext_noop as N_
from commonsfed.models import KINDS, OPEN_STATES, PURPOSES, Account
from commonsfed.numbers import Distance
from commonsfed.services.markdown import render_markdown
from commonsfed.services.photos import srcset
from commonsfed.services.places import distance_km

PAGE_SIZE = 20
FEED_SIZE = 50
MAX_WORDS = 200
MAX_PLACE_WORDS = 8
DEFAULT_RADIUS_KM = 5
MAX_RADIUS_KM = 100
KM_PER_DEGREE = 111.32
REMOTE_ROUNDS = 5  # rounds of remote rows read for one page, at most
SCOPES = ("here", "everywhere")
# characters XML 1.0 does not allow; PostgreSQL keeps the other control characters
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_PLACE_WORD = re.compile(r"[^\W_]+")

FIELDS = (
    "purpose", "kind", "category", "q", "where", "near", "place", "lat", "lon", "km", "author",
    "sort",
)  # fmt: skip
# the orders a page can be read in (services.sorted_search reads the other two)
SORTS = {"newest": N_("Newest first"), "nearest": N_("Nearest first"), "ending": N_("Ending soon")}
MAX_PAGE = 25  # pages of a sorted list, at most (they are paged by position)
# the categories migration 0005 seeds, marked so that the catalog has them: pages show a
# category's name with `|t`, which translates these and leaves a name an admin wrote alone
SEEDED_CATEGORIES = (
    N_("Food"), N_("Tools"), N_("Books and media"), N_("Clothes"), N_("Furniture and household"),
    N_("Children"), N_("Electronics"), N_("Garden"), N_("Transport"), N_("Housing"),
    N_("Skills and services"), N_("Space"),
)  # fmt: skip


# --- reading the filters ---------------------------------------------------------------------


@dataclass(frozen=True)
class Search:
    """The filters as asked (`values`, to show in the form again) and as understood."""

    values: dict[str, str]
    filter: q.Filter
    everywhere: bool
    cursor: q.Cursor | None
    errors: dict[str, str] = field(default_factory=dict)
    origin: tuple[float, float] | None = None  # the reader's point: a place, or coordinates
    sort: str = "newest"  # one of SORTS
    page: int = 1  # for the sorts other than newest, which page by position

    @property
    def author(self) -> str | None:
        return self.values.get("author") or None


def _choice(values: dict, errors: dict, name: str, allowed, message: str) -> str | None:
    value = values.get(name, "")
    if value and value not in allowed:
        errors[name] = message
        return None
    return value or None


def place_query(text: str) -> str | None:
    """A to_tsquery of the place's words as prefixes: "Elm St." -> "elm:* & st:*". Only
    letters and digits reach it, so nothing a person types is read as query syntax."""
    words = _PLACE_WORD.findall(text.lower())[:MAX_PLACE_WORDS]
    return " & ".join(f"{word[:40]}:*" for word in words) or None


def _number(values: dict, errors: dict, name: str, low: float, high: float, message: str):
    raw = values.get(name, "")
    try:
        number = float(raw)
    except ValueError:
        number = math.nan
    if not (math.isfinite(number) and low <= number <= high):
        errors[name] = message
        return None
    return number


def _origin(
    values: dict, errors: dict, places: Mapping[str, tuple[float, float]]
) -> tuple[float, float] | None:
    """The point to measure from: a named place, else typed coordinates, else None."""
    if values.get("place"):
        if values["place"] not in places:
            errors["place"] = N_("Choose a place from the list.")
            return None
        return places[values["place"]]
    if not values.get("lat") and not values.get("lon"):
        return None
    lat = _number(
        values, errors, "lat", -90, 90, N_("Enter a latitude from -90 to 90, like 52.37.")
    )
    lon = _number(
        values, errors, "lon", -180, 180, N_("Enter a longitude from -180 to 180, like 4.89.")
    )
    return (lat, lon) if lat is not None and lon is not None else None


def _area(
    values: dict, errors: dict, places: Mapping[str, tuple[float, float]], home=None
) -> tuple[tuple[float, float] | None, q.Circle | None]:
    """(the reader's point, the circle to search in), each None when not asked for; "within
    N km" alone measures from `home` (services.saved_searches.home_point)."""
    origin = _origin(values, errors, places)
    if origin is None and values.get("km") and not {"place", "lat", "lon"} & set(errors):
        origin = home
    km = DEFAULT_RADIUS_KM
    if values.get("km"):
        km = _number(
            values, errors, "km", 0.1, MAX_RADIUS_KM,
            Text(N_("Enter a distance from 0.1 to %(max)s km."), max=MAX_RADIUS_KM),
        )  # fmt: skip
    if origin is None:
        if values.get("km") and not ({"place", "lat", "lon", "km"} & set(errors)):
            errors["km"] = N_(
                "Choose a place, or give a latitude and a longitude, to search around."
            )
        return None, None
    if km is None:
        return origin, None
    return origin, q.Circle(origin[0], origin[1], km)


def bounding_box(lat: float, lon: float, km: float) -> q.Box:
    """A box around (lat, lon) reaching `km` each way: rough, as the coordinates are."""
    dlat = km / KM_PER_DEGREE
    dlon = km / (KM_PER_DEGREE * max(math.cos(math.radians(lat)), 0.01))
    return q.Box(
        south=max(lat - dlat, -90.0),
        north=min(lat + dlat, 90.0),
        west=max(lon - dlon, -180.0),
        east=min(lon + dlon, 180.0),
    )


def read_search(
    query: Mapping[str, str],
    categories: set[str],
    places: Mapping[str, tuple[float, float]] | None = None,
    home: tuple[float, float] | None = None,
) -> Search:
    """The page's GET parameters, checked; a bad one gets a message and is left out.
    `places`: the named places' coordinates by id (as text); `home`: the reader's area."""
    values = {name: str(query.get(name, "")).strip() for name in FIELDS}
    errors: dict[str, str] = {}
    origin, circle = _area(values, errors, places or {}, home)
    purpose = _choice(values, errors, "purpose", PURPOSES, N_("Choose offers or requests."))
    kind = _choice(values, errors, "kind", KINDS, N_("Choose a kind from the list."))
    category = _choice(
        values, errors, "category", categories, N_("Choose a category from the list.")
    )
    scope = _choice(values, errors, "where", SCOPES, N_("Choose here or everywhere."))
    words = values["q"]
    if len(words) > MAX_WORDS:
        errors["q"] = Text(N_("Search for at most %(max)s characters."), max=MAX_WORDS)
        words = ""
    if len(values["near"]) > MAX_WORDS:
        errors["near"] = Text(N_("Give a place of at most %(max)s characters."), max=MAX_WORDS)
    filter_ = q.Filter(
        purpose=purpose,
        kind=kind,
        category=category,
        words=words or None,
        place_query=None if "near" in errors else place_query(values["near"]),
        box=bounding_box(circle.latitude, circle.longitude, circle.km) if circle else None,
        circle=circle,
    )
    cursor = None
    if query.get("after"):
        cursor = decode_cursor(str(query["after"]))
        if cursor is None:
            errors["after"] = N_(
                "This page link is damaged. Here are the newest listings instead."
            )
    everywhere = scope == "everywhere" and not values["author"]
    sort = _sort(values, errors, circle)
    page = _page(query, errors) if sort != "newest" else 1
    return Search(values, filter_, everywhere, cursor, errors, origin, sort, page)


def _sort(values: dict, errors: dict, circle: q.Circle | None) -> str:
    """The order asked for; newest (and a message saying so) when it cannot be used."""
    sort = values["sort"] or "newest"
    if sort not in SORTS:
        errors["sort"] = N_("Sort by newest, nearest or ending soon. Showing the newest first.")
        return "newest"
    if sort == "nearest" and circle is None:
        if not {"place", "lat", "lon", "km"} & set(errors):
            errors["sort"] = N_(
                "To sort by distance, choose a place or give coordinates. Showing the newest first."
            )
        return "newest"
    return sort


def _page(query: Mapping[str, str], errors: dict) -> int:
    raw = str(query.get("page", "") or "1")
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_PAGE:
        errors["page"] = Text(N_("Pages go from 1 to %(max)s. Here is the first."), max=MAX_PAGE)
        return 1
    return int(raw)


# --- cursors ---------------------------------------------------------------------------------


def encode_cursor(cursor: q.Cursor) -> str:
    side = f"l\n{cursor.local_id}" if cursor.local_id is not None else f"r\n{cursor.remote_uri}"
    raw = f"{cursor.at.isoformat()}\n{side}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(text: str) -> q.Cursor | None:
    """None for anything that is not a cursor this node made."""
    if len(text) > 4000:
        return None
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)).decode()
        at_text, side, key = raw.split("\n", 2)
        at = datetime.fromisoformat(at_text)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        return None
    if at.tzinfo is None:
        return None
    if side == "l" and re.fullmatch(r"[0-9]{1,18}", key):
        return q.Cursor(at=at, local_id=int(key))
    if side == "r" and key.startswith(("https://", "http://")):
        return q.Cursor(at=at, remote_uri=key)
    return None


# --- cards -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Card:
    """One listing on the page, local or remote; remote text is plain text."""

    url: str
    title: str
    purpose: str
    kind: str  # one of KINDS, or "other" for a remote listing we cannot tell
    category: str  # its name, or "#tag" for a remote listing's hashtag we do not know
    place: str
    state: str
    created_at: datetime
    author: str
    local_id: int | None = None
    origin: str | None = None  # a remote listing's domain; None: here
    uri: str | None = None  # a remote listing's id
    photo: str | None = None  # a local photo's file name, under /media/
    photo_alt: str = ""
    photo_width: int | None = None
    photo_height: int | None = None
    # a remote listing's: its neighbourhood's name, its first photo as the other server has
    # it (never shown as is), and its cached copy here (services.remote_cards fills them)
    origin_name: str | None = None
    remote_photo: RemotePhoto | None = None
    photo_cached: str | None = None  # the cached copy's path, under /media/remote/
    latitude: float | None = None
    longitude: float | None = None
    # from the reader's point, when both are known: "1.2 km" as the page's language writes it
    distance: Distance | None = None
    category_slug: str | None = None  # for the link to its category's page; None: unknown here
    ends_at: datetime | None = None  # the end of its availability or its expiry, if any

    @property
    def last_moment(self) -> datetime | None:
        """The last moment it is there: an end stored as the midnight after the last day
        (services.listing_forms.day_end) reads as that last day, not the next."""
        return self.ends_at - timedelta(microseconds=1) if self.ends_at else None

    @property
    def photo_src(self) -> str | None:
        """The thumbnail's address, always on this node."""
        return f"/media/{self.photo}" if self.photo else self.photo_cached

    @property
    def photo_srcset(self) -> str:
        """The thumbnail's renditions (services.photos), for `srcset`; "" for none."""
        return srcset(self.photo_src, self.photo_width)

    @property
    def key(self) -> tuple:
        """Its place in the order, newest first: remote before local at the same moment,
        then by uri (compared as bytes, as the query's COLLATE "C") or by id."""
        if self.origin is not None:
            return (self.created_at, 1, self.uri)
        return (self.created_at, 0, self.local_id)


def local_card(row: asyncpg.Record) -> Card:
    return Card(
        url=f"/listings/{row['uid']}",
        title=row["title"],
        purpose=row["purpose"],
        kind=row["kind"],
        category=row["category_name"],
        place=row["place"],
        state=row["state"],
        created_at=row["created_at"],
        author=row["author"],
        local_id=row["id"],
        photo=row["photo"],
        photo_alt=row["photo_alt"] or "",
        photo_width=row["photo_width"],
        photo_height=row["photo_height"],
        latitude=row["latitude"],
        longitude=row["longitude"],
        category_slug=row["category"],
        ends_at=row.get("ends_at"),
    )


def remote_card(row: asyncpg.Record, remote: RemoteListing, names: dict[str, str]) -> Card:
    tag = remote.categories[0] if remote.categories else ""
    return Card(
        url="/network/listing?" + urlencode({"uri": row["uri"]}),
        title=remote.title or "(untitled)",
        purpose=remote.purpose,
        kind=remote.kind,
        category=names.get(tag, f"#{tag}" if tag else ""),
        place=remote.place or "",
        state=remote.state,
        created_at=row["at"],
        author=remote.author_uri,
        origin=row["domain"],
        uri=row["uri"],
        latitude=remote.latitude,
        longitude=remote.longitude,
        remote_photo=remote.photos[0] if remote.photos else None,
        category_slug=tag if tag in names else None,
        ends_at=remote.ends_at,
    )


def age(
    moment: datetime, now: datetime | None = None, tz: tzinfo = UTC, language: str | None = None
) -> str:
    """ "just now", "5 minutes ago", "3 days ago"; the date (in the node's zone) after a
    month; in `language`, else the one being rendered (commonsfed.numbers.age)."""
    return numbers.age(moment, now, tz, language)


# --- a page ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Page:
    cards: list[Card]
    next_cursor: str | None  # for the "older listings" link; None on the last page


@dataclass
class _Stream:
    """What one side (local or remote) read: its cards, newest first, and how far it got:
    None when it has nothing older, else the key of the last row it read."""

    cards: list[Card]
    horizon: tuple | None


async def _local_stream(conn, search: Search, limit: int) -> _Stream:
    rows = await q.local_listings(conn, search.filter, search.cursor, limit + 1)
    cards = [local_card(row) for row in rows]
    return _Stream(cards, cards[-1].key if len(cards) > limit else None)


def usable(remote: RemoteListing | None, f: q.Filter) -> bool:
    return (
        remote is not None
        and remote.state in OPEN_STATES
        and f.kind in (None, remote.kind)
        and _within(f.circle, remote.latitude, remote.longitude)
    )


def _within(circle: q.Circle | None, latitude: float | None, longitude: float | None) -> bool:
    if circle is None:
        return True
    if latitude is None or longitude is None:
        return False
    return distance_km(circle.latitude, circle.longitude, latitude, longitude) <= circle.km


def with_distances(cards: list[Card], origin: tuple[float, float] | None) -> list[Card]:
    """The cards with their distance from `origin` where both points are known."""
    if origin is None:
        return cards
    return [
        replace(card, distance=Distance(distance_km(*origin, card.latitude, card.longitude)))
        if card.latitude is not None and card.longitude is not None
        else card
        for card in cards
    ]


async def _remote_stream(conn, search: Search, limit: int, names: dict[str, str]) -> _Stream:
    cards: list[Card] = []
    cursor, batch = search.cursor, limit + 1
    for _ in range(REMOTE_ROUNDS):
        rows = await q.remote_listings(conn, search.filter, cursor, batch)
        for row in rows:
            remote = listing_from_ap(orjson.loads(row["document"]))
            if usable(remote, search.filter):
                cards.append(remote_card(row, remote, names))
        if len(rows) < batch:
            return _Stream(cards, None)
        cursor = q.Cursor(at=rows[-1]["at"], remote_uri=rows[-1]["uri"])
        if len(cards) > limit:
            break
    last = (cursor.at, 1, cursor.remote_uri)
    return _Stream(cards, last)


def _merge(streams: list[_Stream], limit: int) -> tuple[list[Card], tuple | None]:
    """The newest `limit` cards of all streams, never past a stream's horizon (below it, that
    stream may hold rows it has not read), and the key to carry on from, if any."""
    horizons = [stream.horizon for stream in streams if stream.horizon is not None]
    floor = max(horizons) if horizons else None
    cards = sorted((c for s in streams for c in s.cards), key=lambda c: c.key, reverse=True)
    eligible = [card for card in cards if floor is None or card.key >= floor]
    if len(eligible) > limit:
        return eligible[:limit], eligible[limit - 1].key
    return eligible, floor


def _cursor(key: tuple) -> q.Cursor:
    at, remote, value = key
    return q.Cursor(at=at, remote_uri=value) if remote else q.Cursor(at=at, local_id=value)


async def with_author(conn: asyncpg.Connection, search: Search) -> Search:
    """`search` narrowed to its author's listings, when it names one (none for a name no
    active resident has, with a message)."""
    if not search.author:
        return search
    account = await accounts_q.get_by_username(conn, search.author)
    author_id = account.id if account and account.is_active else -1
    if author_id == -1:
        search.errors["author"] = Text(
            N_("No resident here is called %(name)s."), name=search.author
        )
    return replace(search, filter=replace(search.filter, author_id=author_id))


async def category_names(conn: asyncpg.Connection) -> dict[str, str]:
    return {row["slug"]: row["name"] for row in await listings_q.categories(conn)}


async def find(pool: asyncpg.Pool, search: Search, limit: int = PAGE_SIZE) -> Page:
    """One page of listings for `search` (read with read_search), newest first."""
    async with pool.acquire() as conn:
        names = await category_names(conn)
        search = await with_author(conn, search)
        streams = [await _local_stream(conn, search, limit)]
        if search.everywhere:
            streams.append(await _remote_stream(conn, search, limit, names))
    shown, next_key = _merge(streams, limit)
    shown = with_distances(shown, search.origin)
    return Page(shown, encode_cursor(_cursor(next_key)) if next_key else None)


async def hidden_for(conn, viewer: Account | None) -> blocks_q.Hidden:
    """What `viewer` blocks, mutes or hides, and the residents the moderators limited or
    suspended (whose listings leave every public page, but their own stay in their view)."""
    hidden = await blocks_q.hidden_for(conn, viewer.id) if viewer else blocks_q.Hidden()
    moderated = [
        author
        for author in await moderation_q.moderated_author_ids(conn)
        if viewer is None or author != viewer.id
    ]
    if not moderated:
        return hidden
    return replace(hidden, accounts=tuple(sorted({*hidden.accounts, *moderated})))


def leaving_out(search: Search, hidden: blocks_q.Hidden) -> Search:
    """`search` without the listings of what `hidden` names."""
    if not hidden:
        return search
    return replace(search, filter=replace(
        search.filter, hidden_authors=hidden.accounts, hidden_actors=hidden.actors,
        hidden_domains=hidden.domains,
    ))  # fmt: skip


async def latest(
    pool: asyncpg.Pool, count: int = 6, viewer: Account | None = None, everywhere: bool = False
) -> list[Card]:
    """The newest open listings here (or across federated neighbourhoods), for the home
    page."""
    search = Search(values={}, filter=q.Filter(), everywhere=everywhere, cursor=None)
    async with pool.acquire() as conn:
        hidden = await hidden_for(conn, viewer)
    return (await find(pool, leaving_out(search, hidden), limit=count)).cards


# --- feeds -----------------------------------------------------------------------------------


def xml_text(value: str) -> str:
    """Text that XML 1.0 can carry: the control characters it forbids are dropped."""
    return _NOT_XML.sub("", value)


@dataclass(frozen=True)
class FeedEntry:
    uid: str
    title: str
    description_html: str  # rendered and sanitised
    purpose: str
    kind: str
    category: str
    category_name: str
    place: str
    state: str
    author: str
    author_name: str
    published: datetime
    updated: datetime


@dataclass(frozen=True)
class Feed:
    """The latest open listings of the neighbourhood, a category or a resident."""

    title: str
    path: str  # the feed's own path without the extension: /feed, /categories/tools/feed
    page_path: str  # the page it follows: /explore?category=tools
    entries: list[FeedEntry]
    updated: datetime


def _entry(row: asyncpg.Record) -> FeedEntry:
    return FeedEntry(
        uid=row["uid"],
        title=xml_text(row["title"]),
        description_html=xml_text(render_markdown(xml_text(row["description"]))),
        purpose=row["purpose"],
        kind=row["kind"],
        category=row["category"],
        category_name=xml_text(row["category_name"]),
        place=xml_text(row["place"]),
        state=row["state"],
        author=row["author"],
        author_name=xml_text(row["author_name"] or row["author"]),
        published=row["created_at"],
        updated=row["updated_at"],
    )


def _feed(title: str, path: str, page_path: str, rows: list[asyncpg.Record]) -> Feed:
    entries = [_entry(row) for row in rows]
    # an empty feed is as new as the epoch: nothing in it changed since
    updated = max((e.updated for e in entries), default=datetime(1970, 1, 1, tzinfo=UTC))
    # a Text (its words translated where the feed is rendered) has its values cleaned already
    title = title if isinstance(title, Text) else xml_text(title)
    return Feed(title, path, page_path, entries, updated)


async def neighbourhood_feed(
    pool: asyncpg.Pool, instance_name: str, viewer: Account | None = None
) -> Feed:
    async with pool.acquire() as conn:
        hidden = await hidden_for(conn, viewer)
        rows = await q.feed_listings(conn, hidden_authors=hidden.accounts, limit=FEED_SIZE)
    title = Text(N_("%(name)s: offers and requests"), name=xml_text(instance_name))
    return _feed(title, "/feed", "/explore", rows)


async def category_title(pool: asyncpg.Pool, slug: str) -> str | None:
    """A category's name; None when there is no such category."""
    async with pool.acquire() as conn:
        return await q.category_name(conn, slug)


async def category_feed(
    pool: asyncpg.Pool, instance_name: str, slug: str, viewer: Account | None = None
) -> Feed | None:
    """None when there is no such category."""
    async with pool.acquire() as conn:
        name = await q.category_name(conn, slug)
        if name is None:
            return None
        hidden = await hidden_for(conn, viewer)
        rows = await q.feed_listings(
            conn, category=slug, hidden_authors=hidden.accounts, limit=FEED_SIZE
        )
    path = f"/categories/{slug}/feed"
    return _feed(f"{instance_name}: {name}", path, f"/explore?category={slug}", rows)


async def resident_feed(
    pool: asyncpg.Pool, instance_name: str, username: str, viewer: Account | None = None
) -> Feed | None:
    """None when no active resident has this name."""
    async with pool.acquire() as conn:
        account = await accounts_q.get_by_username(conn, username)
        if account is None or not account.is_active:
            return None
        hidden = await hidden_for(conn, viewer)
        rows = await q.feed_listings(
            conn, author_id=account.id, hidden_authors=hidden.accounts, limit=FEED_SIZE
        )
    who = account.display_name or account.username
    path = f"/users/{account.username}/feed"
    return _feed(f"{instance_name}: {who}", path, f"/explore?author={account.username}", rows)
