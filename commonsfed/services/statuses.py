"""Listings as statuses, for the client API.

Every listing the node knows is a status: a resident's, built from the same AS2 Note that
peers receive (its readable HTML is the status's content, its photos the media, its
category the tag, its page the `url`), and one from another node, from the object it sent,
sanitised. Both kinds share one id space (migration 0024), ordered by time.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import asyncpg
import orjson

from commonsfed.ap.activities import activity_type, parse_time
from commonsfed.ap.agreements import message_html
from commonsfed.ap.jsonld import PUBLIC, as_list
from commonsfed.ap.remote_listings import content_of, listing_from_ap
from commonsfed.ap.uris import LocalUris
from commonsfed.config import Settings
from commonsfed.db import statuses as q
from commonsfed.models import Account, Listing, ListingPhoto
from commonsfed.services.api_accounts import AccountView, accounts_for_uris, resident_uri
from commonsfed.services.listing_federation import listing_notes
from commonsfed.services.markdown import sanitise_html
from commonsfed.services.photos import rendition_name, rendition_widths

MEDIA_TYPES = {"webp": "image/webp", "jpg": "image/jpeg"}


@dataclass(frozen=True)
class MediaView:
    id: int
    url: str
    description: str
    width: int | None
    height: int | None
    remote_url: str | None = None  # the original, for media from another server
    preview_url: str | None = None


@dataclass(frozen=True)
class StatusView:
    id: int
    uri: str
    url: str
    created_at: datetime
    edited_at: datetime | None
    account: AccountView
    content_html: str
    visibility: str  # public, unlisted, private or direct
    tags: tuple[str, ...]  # names without '#', lower case
    media: tuple[MediaView, ...] = ()
    in_reply_to_id: int | None = None
    in_reply_to_account_id: int | None = None
    listing_uid: str | None = None  # a listing of this node
    title: str = ""
    mentions: tuple[AccountView, ...] = ()
    conversation_id: int | None = None  # a message: its conversation
    language: str | None = None  # ISO 639-1, as its author wrote it; None: unknown


async def statuses_by_id(
    conn: asyncpg.Connection,
    settings: Settings,
    status_ids: Sequence[int],
    viewer: Account | None = None,
) -> dict[int, StatusView]:
    """The statuses with these ids, by id: listings (here or elsewhere) for anyone, and
    messages for the two sides of their conversation. An id that names nothing the viewer
    may see, or something whose author the node does not know, is left out."""
    local = await q.local_listings_by_status(conn, status_ids)
    remote = await q.remote_objects_by_status(conn, status_ids)
    views = await local_statuses(conn, settings, local)
    views += await remote_statuses(conn, settings, remote)
    if viewer is not None and len(views) < len(status_ids):
        messages = await q.messages_by_status(conn, status_ids, viewer.id)
        views += await message_statuses(conn, settings, messages)
    return {view.id: view for view in views}


async def status_by_id(
    pool: asyncpg.Pool, settings: Settings, status_id: int, viewer: Account | None = None
) -> StatusView | None:
    async with pool.acquire() as conn:
        return (await statuses_by_id(conn, settings, [status_id], viewer)).get(status_id)


async def local_statuses(
    conn: asyncpg.Connection, settings: Settings, listings: Sequence[tuple[int, Listing]]
) -> list[StatusView]:
    """Statuses for (status id, listing) pairs of this node, in the order given."""
    if not listings:
        return []
    authors = await accounts_for_uris(
        conn, settings, {resident_uri(settings, listing.author_username) for _, listing in listings}
    )
    photos = await q.photos_of(conn, [listing.id for _, listing in listings])
    notes = await listing_notes(conn, settings, [listing for _, listing in listings], photos)
    views = []
    for (status_id, listing), note in zip(listings, notes, strict=True):
        author = authors.get(resident_uri(settings, listing.author_username))
        if author is None:  # a deleted or pending author: nothing to show
            continue
        views.append(_local_view(settings, status_id, listing, note, author,
                                 photos.get(listing.id, [])))  # fmt: skip
    return views


def _local_view(
    settings: Settings,
    status_id: int,
    listing: Listing,
    note: dict,
    author: AccountView,
    photos: list[ListingPhoto],
) -> StatusView:
    return StatusView(
        id=status_id, uri=note["id"], url=note["url"], created_at=listing.created_at,
        edited_at=listing.updated_at if listing.updated_at > listing.created_at else None,
        account=author, content_html=note["content"], visibility="public",
        tags=(listing.category,), media=tuple(_local_media(settings, p) for p in photos),
        listing_uid=listing.uid, title=listing.title, language=listing.language,
    )  # fmt: skip


_LANGUAGE = re.compile(r"[a-z]{2,3}")


def language_of(document: dict) -> str | None:
    """The language a remote post was written in, as Mastodon files it: the first key of
    its contentMap that names one (its subtags dropped: "pt-BR" is "pt"); None for none,
    or "und"."""
    language_map = document.get("contentMap")
    if not isinstance(language_map, dict):
        return None
    for key in language_map:
        code = str(key).split("-", 1)[0].lower()
        if code != "und" and _LANGUAGE.fullmatch(code):
            return code
    return None


def _local_media(settings: Settings, photo: ListingPhoto) -> MediaView:
    url = f"{settings.base_url}/media/{photo.filename}"
    # the 320 px rendition when the photo is wider (services.photos makes it, or on request)
    narrower = rendition_widths(photo.width)
    preview = rendition_name(photo.filename, narrower[0]) if narrower else photo.filename
    return MediaView(id=photo.id, url=url, description=photo.alt, width=photo.width,
                     height=photo.height,
                     preview_url=f"{settings.base_url}/media/{preview}")  # fmt: skip


async def remote_statuses(
    conn: asyncpg.Connection, settings: Settings, rows: Sequence[asyncpg.Record]
) -> list[StatusView]:
    """Statuses for remote_objects rows, in the order given; one whose author is not in
    the actor cache is left out (an app cannot show a status without its account)."""
    if not rows:
        return []
    authors = await accounts_for_uris(conn, settings, {row["attributed_to"] for row in rows})
    views = []
    for row in rows:
        author = authors.get(row["attributed_to"])
        if author is not None:
            views.append(_remote_view(row, author))
    return views


def _remote_view(row: asyncpg.Record, author: AccountView) -> StatusView:
    document = orjson.loads(row["document"])
    listing = listing_from_ap(document) if row["is_listing"] else None
    url = listing.url if listing else _url(document) or row["uri"]
    photos = listing.photos if listing else ()
    media = tuple(
        MediaView(id=row["status_id"] * 10 + index, url=photo.url, description=photo.alt,
                  width=photo.width, height=photo.height, remote_url=photo.url,
                  preview_url=photo.url)
        for index, photo in enumerate(photos)
    )  # fmt: skip
    tags = listing.categories if listing else _hashtags(document)
    published = parse_time(document.get("published")) or row["received_at"]
    return StatusView(
        id=row["status_id"], uri=row["uri"], url=url, created_at=published,
        edited_at=row["updated_at"], account=author,
        content_html=sanitise_html(content_of(document)),
        visibility=_visibility(document), tags=tuple(tags), media=media,
        title=listing.title if listing else "", language=language_of(document),
    )  # fmt: skip


def _url(document: dict) -> str | None:
    for item in as_list(document.get("url")):
        href = item.get("href") if isinstance(item, dict) else item
        if isinstance(href, str) and href.startswith(("https://", "http://")):
            return href
    return None


def _hashtags(document: dict) -> list[str]:
    names = []
    for tag in as_list(document.get("tag"))[:20]:
        if isinstance(tag, dict) and activity_type(tag) == "Hashtag":
            name = tag.get("name")
            if isinstance(name, str) and 1 < len(name) <= 100:
                names.append(name.lstrip("#").lower())
    return names


def _visibility(document: dict) -> str:
    to = {item for item in as_list(document.get("to")) if isinstance(item, str)}
    cc = {item for item in as_list(document.get("cc")) if isinstance(item, str)}
    public = {PUBLIC, "as:Public", "Public"}
    if to & public:
        return "public"
    if cc & public:
        return "unlisted"
    return "direct"


async def message_statuses(
    conn: asyncpg.Connection, settings: Settings, rows: Sequence[asyncpg.Record]
) -> list[StatusView]:
    """Direct statuses for messages (db.statuses' message rows), in the order given: from
    their sender, mentioning the other side, replying to the message before (or, for an
    answer, to the listing)."""
    if not rows:
        return []
    uris = {uri for row in rows for uri in _parties(settings, row)}
    accounts = await accounts_for_uris(conn, settings, uris)
    views = []
    for row in rows:
        author_uri, respondent_uri = _parties(settings, row)
        sender_uri = _sender(settings, row)
        other = respondent_uri if sender_uri == author_uri else author_uri
        sender, addressee = accounts.get(sender_uri), accounts.get(other)
        if sender is None:
            continue
        replied_to = row["previous_status_id"] or row["listing_status_id"]
        replied_account = addressee if row["previous_status_id"] else accounts.get(author_uri)
        uri = row["ap_id"] or LocalUris(settings.base_url).message(str(row["id"]))
        views.append(StatusView(
            id=row["status_id"], uri=uri,
            url=f"{settings.base_url}/conversations/{row['conversation_id']}",
            created_at=row["created_at"], edited_at=None, account=sender,
            content_html=message_html(row["body"]), visibility="direct", tags=(),
            in_reply_to_id=replied_to,
            in_reply_to_account_id=replied_account.id if replied_account else None,
            title=row["listing_title"], mentions=(addressee,) if addressee else (),
            conversation_id=row["conversation_id"],
        ))  # fmt: skip
    return views


def _parties(settings: Settings, row: asyncpg.Record) -> tuple[str, str]:
    """(the listing author's URI, the respondent's URI)."""
    author = (
        resident_uri(settings, row["author_username"])
        if row["author_username"]
        else row["remote_author_uri"]
    )
    respondent = (
        resident_uri(settings, row["respondent_username"])
        if row["respondent_username"]
        else row["respondent_actor_uri"]
    )
    return author, respondent


def _sender(settings: Settings, row: asyncpg.Record) -> str:
    if row["sender_username"]:
        return resident_uri(settings, row["sender_username"])
    return row["sender_actor_uri"]


# --- a status's context ----------------------------------------------------------------------


@dataclass(frozen=True)
class Context:
    ancestors: list[StatusView]
    descendants: list[StatusView]


async def context_of(
    conn: asyncpg.Connection, settings: Settings, view: StatusView, viewer: Account | None
) -> Context:
    """A listing's descendants are the messages of its conversations that the viewer may
    read (the author all, a respondent theirs); a message's ancestors are the listing and
    the messages before it, its descendants those after. A visitor sees none of them."""
    if viewer is None:
        return Context([], [])
    if view.conversation_id is None:
        listing = await q.listing_by_status(conn, view.id) if view.listing_uid else None
        rows = await q.conversation_messages(
            conn, viewer.id, listing_id=listing.id if listing else None,
            remote_listing_uri=None if listing else view.uri,
        )  # fmt: skip
        return Context([], await message_statuses(conn, settings, rows))
    rows = await q.conversation_messages(conn, viewer.id, conversation_id=view.conversation_id)
    messages = await message_statuses(conn, settings, rows)
    ids = [message.id for message in messages]
    at = ids.index(view.id) if view.id in ids else len(ids)
    listing_status = rows[0]["listing_status_id"] if rows else None
    found = await statuses_by_id(conn, settings, [listing_status], viewer) if listing_status else {}
    head = [found[listing_status]] if listing_status in found else []
    return Context(head + messages[:at], messages[at + 1 :])
