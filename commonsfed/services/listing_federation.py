"""Listings going out: Create by the author and Announce by the neighbourhood on posting,
Update on every change of state, quantity or text (blind-copied to remote respondents). Called inside the transaction of the
change, so the activity and its deliveries commit with it (or not at all)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import NamedTuple

import asyncpg

from commonsfed.ap import listings as ap_listings
from commonsfed.ap.jsonld import OUR_CONTEXT
from commonsfed.ap.projects import NeedOnWire
from commonsfed.config import Settings
from commonsfed.db import answers as answers_q
from commonsfed.db import listings as q
from commonsfed.db import loans as loans_q
from commonsfed.db import moderation as moderation_q
from commonsfed.db import projects as projects_q
from commonsfed.db import statuses as statuses_q
from commonsfed.federation import outbox
from commonsfed.federation.outbox import new_activity_id
from commonsfed.models import Listing, ListingPhoto
from commonsfed.services.markdown import render_markdown
from commonsfed.services.project_needs import wire_needs

_MEDIA_TYPES = {"webp": "image/webp", "jpg": "image/jpeg"}


def listing_url(settings: Settings, uid: str) -> str:
    return f"{settings.base_url}/listings/{uid}"


async def listing_note(conn: asyncpg.Connection, settings: Settings, listing: Listing) -> dict:
    """The listing as its AS2 Note, as served and as sent."""
    return ap_listings.listing_to_ap(listing, await _context(conn, settings, listing))


async def listing_document(pool: asyncpg.Pool, settings: Settings, uid: str) -> dict | None:
    """The listing's AS2 document, as served at its id to peers that fetch it."""
    async with pool.acquire() as conn:
        listing = await q.get_listing(conn, uid)
        return await listing_note(conn, settings, listing) if listing else None


async def listing_notes(
    conn: asyncpg.Connection,
    settings: Settings,
    listings: Sequence[Listing],
    photos: dict[int, list[ListingPhoto]] | None = None,
) -> list[dict]:
    """`listing_note` of each listing, in a few queries for all of them (a page of the
    client API's timelines): the categories once, the photos in one read (or as given, by
    listing id, by a caller that has them)."""
    names = {row["slug"]: row["name"] for row in await q.categories(conn)}
    if photos is None:
        photos = await statuses_q.photos_of(conn, [listing.id for listing in listings])
    notes = []
    for listing in listings:
        counts = await _counts(conn, settings, listing)
        context = _context_of(settings, listing, names, photos.get(listing.id, []), counts)
        notes.append(ap_listings.listing_to_ap(listing, context))
    return notes


async def _context(conn, settings: Settings, listing: Listing) -> ap_listings.ListingContext:
    names = {row["slug"]: row["name"] for row in await q.categories(conn)}
    photos = await q.listing_photos(conn, listing.id)
    return _context_of(settings, listing, names, photos, await _counts(conn, settings, listing))


class Counts(NamedTuple):
    """What a listing's Note says besides its row, by kind."""

    pledged: int | None = None  # a group purchase's pledges so far
    needs: list[NeedOnWire] | None = None  # a project's needs, with their progress
    booked: list[tuple[date, date]] | None = None  # a lend offer's days taken from today


async def _counts(conn, settings: Settings, listing: Listing) -> Counts:
    if listing.kind == "group_purchase":
        pledged, _ = await q.pledged(conn, listing.id, None)
        return Counts(pledged=pledged)
    if listing.kind == "project":
        pledged = await projects_q.pledged_per_need(conn, listing.id)
        return Counts(needs=wire_needs(listing.details, pledged))
    if listing.kind == "lend" and listing.purpose == "offer":
        today = datetime.now(settings.tz).date()
        return Counts(booked=await loans_q.booked_days(conn, listing.id, today))
    return Counts()


def _context_of(
    settings: Settings,
    listing: Listing,
    names: dict[str, str],
    photos: Sequence[ListingPhoto],
    counts: Counts,
) -> ap_listings.ListingContext:
    author = f"{settings.base_url}/users/{listing.author_username}"
    photo_urls = [
        (f"{settings.base_url}/media/{photo.filename}",
         _MEDIA_TYPES.get(photo.filename.rpartition(".")[2], "image/jpeg"),
         photo.alt, photo.width, photo.height)
        for photo in photos
    ]  # fmt: skip
    return ap_listings.ListingContext(
        listing_url=listing_url(settings, listing.uid), author_uri=author,
        author_handle=f"@{listing.author_username}@{settings.domain}",
        followers_uri=author + "/followers", group_uri=_group(settings),
        category_name=names.get(listing.category, listing.category),
        category_tag=listing.category, photo_urls=photo_urls,
        description_html=render_markdown(listing.description),
        instance_name=settings.instance_name, pledged=counts.pledged, needs=counts.needs,
        booked=counts.booked, tz=settings.tz,
    )  # fmt: skip


def _group(settings: Settings) -> str:
    return f"{settings.base_url}/users/{settings.neighbourhood_handle}"


async def publish_created(conn: asyncpg.Connection, settings: Settings, uid: str) -> None:
    listing = await q.get_listing(conn, uid)
    note = await listing_note(conn, settings, listing)
    await outbox.publish(conn, settings, ap_listings.create_to_ap(note, new_activity_id(settings)))
    if await moderation_q.is_limited(conn, listing.author_id):
        return  # the moderators limited the author: their followers get it, the Group is silent
    group = _group(settings)
    announce = ap_listings.announce_to_ap(
        group, note, new_activity_id(settings), group + "/followers")
    await outbox.publish(conn, settings, announce)


async def publish_deleted(conn: asyncpg.Connection, settings: Settings, listing: Listing) -> None:
    """A Delete with a Tombstone, to everyone the Create and the Updates went to. Call before
    the row goes: the remote respondents are read from its conversations."""
    author = f"{settings.base_url}/users/{listing.author_username}"
    delete = ap_listings.delete_to_ap(
        listing_url(settings, listing.uid), author, author + "/followers",
        new_activity_id(settings), deleted=datetime.now(UTC),
    )
    delete["cc"] = [*delete["cc"], _group(settings) + "/followers"]
    respondents = await answers_q.remote_respondents(conn, listing.id)
    if respondents:
        delete["bcc"] = respondents
    await outbox.publish(conn, settings, delete)


def tombstone(settings: Settings, removed: asyncpg.Record) -> dict:
    """What a removed listing's id answers (with 410 Gone)."""
    return {
        "@context": OUR_CONTEXT,
        "id": listing_url(settings, removed["uid"]),
        "type": "Tombstone",
        "formerType": "Note",
        "deleted": removed["removed_at"].isoformat().replace("+00:00", "Z"),
    }


async def publish_updated(conn: asyncpg.Connection, settings: Settings, uid: str) -> None:
    """An Update from the author to its followers and to the neighbourhood's followers, who
    learnt of the listing through the Group's Announce."""
    listing = await q.get_listing(conn, uid)
    note = await listing_note(conn, settings, listing)
    update = ap_listings.update_to_ap(note, new_activity_id(settings), updated=datetime.now(UTC))
    update["cc"] = [*update["cc"], _group(settings) + "/followers"]
    # remote respondents follow neither, perhaps; blind copies keep who answered private
    respondents = await answers_q.remote_respondents(conn, listing.id)
    if respondents:
        update["bcc"] = respondents
    await outbox.publish(conn, settings, update)
