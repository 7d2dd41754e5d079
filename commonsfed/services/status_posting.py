"""Statuses written by apps: a listing (services.status_text reads it), an answer to a
listing, a message in a conversation; and deleting a listing by its status.

Each goes through the same service as on the web (services.listings, services.answers), so
blocks, suspensions and every check of the form apply alike, and a listing federates exactly
as one posted on the web.

Decisions:
- Visibility: a listing is public (an app's `unlisted` is taken as public: the listing goes
  to the neighbourhood's feed like any other); `private` is refused, for a listing is never
  for followers only. A reply must be `direct` (an answer is private); a direct status must
  reply to a listing or to a message.
- A reply's leading mentions ("@alice@north.test ", which apps prefill) are not part of the
  message: the conversation says whom it is with.
- An Idempotency-Key is honoured for an hour (Mastodon keeps them as long): the same key
  from the same resident gives back the status it made.
- Messages cannot be deleted: the other side has read them, and on another server they
  cannot be taken back (services.answers has no such action).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import asyncpg

from commonsfed.db import media as media_q
from commonsfed.db import statuses as q
from commonsfed.federation.context import Federation
from commonsfed.models import Account, Listing
from commonsfed.services import answers, listings, media, status_text
from commonsfed.services.errors import NotAllowed, ServiceError, ValidationError
from commonsfed.services.listings import StoredPhoto
from commonsfed.services.statuses import StatusView, statuses_by_id

IDEMPOTENCY_WINDOW = timedelta(hours=1)
MAX_STATUS = 5000 + 500  # a description and the lines around it
_LEADING_MENTIONS = re.compile(r"^(\s*@[\w.-]+(@[\w.-]+)?[,:]?\s*)+")

NOT_ANSWERABLE = (
    "Only a listing (to answer it) or a message of your conversation (to reply) can be "
    "replied to; this status is neither."
)
REPLY_IS_DIRECT = (
    "Answers and messages are private: send a reply to a listing or a message with "
    "visibility direct."
)
DIRECT_NEEDS_REPLY = (
    "A direct status answers a listing or replies to a message: give in_reply_to_id."
)
LISTINGS_ARE_PUBLIC = "A listing is public: post it with visibility public."
NO_PHOTOS_IN_MESSAGES = "Messages carry no photos: post the message without media."
MESSAGES_STAY = (
    "Messages cannot be deleted: the other person has them. Withdraw your answer on the "
    "conversation's page instead."
)


class StatusNotFound(Exception):
    """No status with this id that the resident may see (the API answers 404)."""


@dataclass(frozen=True)
class NewStatus:
    text: str
    media_ids: list[int] = field(default_factory=list)
    in_reply_to_id: int | None = None
    visibility: str | None = None
    idempotency_key: str | None = None


def _now() -> datetime:
    return datetime.now(UTC)


async def post(fed: Federation, account: Account, new: NewStatus) -> StatusView:
    """Post a status as `account`: a listing, an answer or a message (module docstring)."""
    pool, settings = fed.pool, fed.settings
    if new.idempotency_key:
        done = await _made_before(pool, settings, account, new.idempotency_key)
        if done is not None:
            return done
    if len(new.text) > MAX_STATUS:
        raise ValidationError({"status": f"Use at most {MAX_STATUS:,} characters."})
    if new.in_reply_to_id is not None:
        status_id = await _reply(fed, account, new)
    elif new.visibility == "direct":
        raise ValidationError({"in_reply_to_id": DIRECT_NEEDS_REPLY})
    else:
        status_id = await _listing(pool, settings, account, new)
    async with pool.acquire() as conn:
        if new.idempotency_key:
            await q.remember_idempotent(conn, account.id, new.idempotency_key, status_id)
        return (await statuses_by_id(conn, settings, [status_id], account))[status_id]


async def _made_before(pool, settings, account: Account, key: str) -> StatusView | None:
    async with pool.acquire() as conn:
        status_id = await q.idempotent_status(conn, account.id, key, _now() - IDEMPOTENCY_WINDOW)
        if status_id is None:
            return None
        return (await statuses_by_id(conn, settings, [status_id], account)).get(status_id)


# --- a listing -----------------------------------------------------------------------------


async def _listing(pool: asyncpg.Pool, settings, account: Account, new: NewStatus) -> int:
    if new.visibility not in (None, "", "public", "unlisted"):
        raise ValidationError({"visibility": LISTINGS_ARE_PUBLIC})
    slugs = [row["slug"] for row in await listings.categories(pool)]
    try:
        text = status_text.read_listing(new.text, slugs, place=settings.instance_name)
    except status_text.NotAListing as exc:
        raise ValidationError({"status": str(exc)}) from None
    async with pool.acquire() as conn:
        uploads = await media.pending(conn, account, new.media_ids)
    stored = [StoredPhoto(row["filename"], row["alt"], row["width"], row["height"])
              for row in uploads]  # fmt: skip

    async def attach(conn: asyncpg.Connection, listing_id: int) -> None:
        if await media_q.attach(conn, new.media_ids, listing_id) != len(new.media_ids):
            raise ValidationError(
                {"media_ids": "A photo was posted with another status meanwhile."}
            )

    try:
        listing = await listings.create_listing(
            pool, settings, account, text.form, [], stored=stored, within=attach
        )
    except ValidationError as exc:
        raise ValidationError({"status": status_text.refusal(text.kind, exc.errors)}) from None
    async with pool.acquire() as conn:
        return (await q.status_ids_of_listings(conn, [listing.id]))[listing.id]


# --- an answer or a message ----------------------------------------------------------------


def message_body(text: str) -> str:
    return _LEADING_MENTIONS.sub("", text, count=1)


async def _reply(fed: Federation, account: Account, new: NewStatus) -> int:
    if new.visibility != "direct":
        raise ValidationError({"visibility": REPLY_IS_DIRECT})
    if new.media_ids:
        raise ValidationError({"media_ids": NO_PHOTOS_IN_MESSAGES})
    target = await _visible(fed.pool, fed.settings, account, new.in_reply_to_id)
    body = message_body(new.text)
    if target.conversation_id is not None:
        conv = await answers.reply(fed.pool, fed.settings, account, target.conversation_id, body)
    elif target.listing_uid is not None:
        conv = await answers.answer(fed.pool, fed.settings, account, target.listing_uid, body)
    elif target.title:  # a listing from another node
        conv = await answers.answer_remote(fed, account, target.uri, body)
    else:
        raise ValidationError({"in_reply_to_id": NOT_ANSWERABLE})
    async with fed.pool.acquire() as conn:
        return await q.last_message_of(conn, conv.id, account.id)


async def _visible(pool, settings, account: Account, status_id: int) -> StatusView:
    async with pool.acquire() as conn:
        view = (await statuses_by_id(conn, settings, [status_id], account)).get(status_id)
    if view is None:
        raise StatusNotFound(status_id)
    return view


# --- deleting ------------------------------------------------------------------------------


async def delete(
    pool: asyncpg.Pool, settings, account: Account, status_id: int
) -> tuple[StatusView, str]:
    """Remove the resident's listing by its status (its Delete federates); the status as it
    was and its source text, to give back for a redraft."""
    view = await _visible(pool, settings, account, status_id)
    if view.conversation_id is not None:
        raise ServiceError(MESSAGES_STAY)  # a 422: nothing here can delete a message
    async with pool.acquire() as conn:
        listing = await q.listing_by_status(conn, status_id)
    if listing is None:
        raise NotAllowed("This listing is on another node: only its author can remove it there.")
    await listings.remove_listing(pool, settings, account, listing.uid)
    return view, source_text(listing)


async def own_listing(pool: asyncpg.Pool, account: Account, status_id: int) -> Listing:
    """The resident's own listing with this status id (for its source); StatusNotFound for
    anything else, as Mastodon shows the source of one's own statuses only."""
    async with pool.acquire() as conn:
        listing = await q.listing_by_status(conn, status_id)
    if listing is None or listing.author_id != account.id:
        raise StatusNotFound(status_id)
    return listing


def source_text(listing: Listing) -> str:
    return status_text.listing_text(listing)


async def prune(pool: asyncpg.Pool, now: datetime) -> int:
    """Forget Idempotency-Keys older than their hour."""
    async with pool.acquire() as conn:
        return await q.prune_idempotency(conn, now - IDEMPOTENCY_WINDOW)
