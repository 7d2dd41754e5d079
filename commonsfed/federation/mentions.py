"""Mentions and public replies from the fediverse, inbound: the part of a `Create(Note)` that
speaks to residents (handlers.py runs it beside keeping the Note).

- A Note that mentions a resident (a `Mention` tag whose href is their actor) and that they
  may read (public, or addressed to them: a direct Note is) becomes a "mention" notification
  with the Note's text made plain and a link to where it is read. A direct Note that
  answers a listing or continues a conversation never comes here: it is an answer or a
  message (federation.answers).
- A public reply (`inReplyTo`) to a local listing becomes one for the listing's author,
  naming the listing. Answers are private here, so the replier also gets one short
  automatic direct message pointing at the private ways to answer, and never a public
  answer. It comes from the neighbourhood's Group actor rather than from the author: it is
  the node speaking, not the author, and the Group is the actor that shared the listing
  (and that people who saw it there follow). A direct reply to that message is an answer to
  the listing (federation.answers, `verify_direct_note`).
- That automatic message goes at most once per replier and listing, only to a `Person`
  (never to a bot's `Service` or `Application`, nor a `Group`), only while the listing takes
  answers, and never to someone who answered it already or whom its author blocks. It is
  direct, and only public replies get one, so two automatic repliers cannot loop.
- A resident who blocks or mutes the Note's author, or hides their domain, is not told.
- At most MAX_NOTIFIED residents are told about one Note, from the first MAX_TAGS_READ tags.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import asyncpg

from commonsfed.ap.activities import host_of
from commonsfed.ap.actors import RemoteActor
from commonsfed.ap.notes import IncomingNote, note_from_ap
from commonsfed.db import actors as actors_q
from commonsfed.db import answers as answers_q
from commonsfed.db import blocks as blocks_q
from commonsfed.db import listings as listings_q
from commonsfed.db import mail as mail_q
from commonsfed.db import mentions as q
from commonsfed.db import notifications as notes_q
from commonsfed.federation import known
from commonsfed.federation.answers import send_message
from commonsfed.federation.context import Federation
from commonsfed.models import Listing

MAX_NOTIFIED = 20
NOTICE = (
    "Hello! Answers to “{title}” are private, so a public reply does not count as one. "
    "To answer, reply to this message (only @{author} will read it) or write directly to "
    "@{author}@{domain}.\n\nOr answer on the listing's page: {url}\n\n"
    "This is an automatic message from {instance}."
)


@dataclass(frozen=True)
class Told:
    account_id: int
    listing_id: int | None  # the listing a public reply answers, for its author


@dataclass(frozen=True)
class ReplyNotice:
    listing: Listing
    replier: RemoteActor


@dataclass(frozen=True)
class MentionPlan:
    note: IncomingNote
    told: tuple[Told, ...]
    notice: ReplyNotice | None


async def verify_mentions(fed: Federation, activity: dict[str, Any]) -> MentionPlan | None:
    """Whom a Note (already checked to be its actor's own) tells, and whether it gets the
    automatic message; None when it speaks to no one here. Reads only."""
    note = note_from_ap(activity.get("object"))
    if note is None:
        return None
    names = _mentioned_residents(fed, note)
    uid = fed.uris.listing_uid(note.in_reply_to) if note.public and note.in_reply_to else None
    if not names and uid is None:
        return None
    if await known.tombstoned(fed, note.uri, note.author):
        return None  # its author's Delete came first
    async with fed.pool.acquire() as conn:
        listing = await listings_q.get_listing(conn, uid) if uid else None
        told = await _told(conn, fed, note, names, listing)
        notice = await _notice(conn, note, listing)
    if not told and notice is None:
        return None
    return MentionPlan(note, told, notice)


def _mentioned_residents(fed: Federation, note: IncomingNote) -> list[str]:
    """The usernames of the local Persons the Note mentions (the Group is no one's inbox)."""
    names: dict[str, None] = {}
    for href in note.mentioned:
        name = fed.uris.local_username(href) if fed.uris.is_local(href) else None
        if name and name.lower() != fed.settings.neighbourhood_handle:
            names[name.lower()] = None
    return list(names)[:MAX_NOTIFIED]


async def _told(
    conn: asyncpg.Connection,
    fed: Federation,
    note: IncomingNote,
    names: list[str],
    listing: Listing | None,
) -> tuple[Told, ...]:
    addressed = {
        (fed.uris.local_username(uri) or "").lower()
        for uri in note.addressees
        if fed.uris.is_local(uri)
    }
    residents = await q.active_residents(conn, names) if names else []
    told = [Told(listing.author_id, listing.id)] if listing else []
    told += [
        Told(row["id"], None)
        for row in residents
        if (note.public or row["username"].lower() in addressed)
        and not (listing and row["id"] == listing.author_id)
    ]
    hiding = await blocks_q.hides_actor(
        conn, [t.account_id for t in told], note.author, host_of(note.author)
    )
    return tuple(t for t in told if t.account_id not in hiding)


async def _notice(
    conn: asyncpg.Connection, note: IncomingNote, listing: Listing | None
) -> ReplyNotice | None:
    if listing is None or not listing.is_open:
        return None
    if await blocks_q.blocks_actor(conn, listing.author_id, note.author):
        return None
    if await q.had_notice(conn, listing.id, note.author):
        return None
    if await answers_q.find_remote_respondent(conn, listing.id, note.author):
        return None  # they answered it privately already
    replier = await actors_q.get_remote_actor(conn, note.author)  # cached by the inbox
    if replier is None or replier.type != "Person":
        return None
    return ReplyNotice(listing, replier)


async def receive_mentions(conn: asyncpg.Connection, fed: Federation, plan: MentionPlan) -> None:
    note = plan.note
    for told in plan.told:
        new = await notes_q.insert_mention(
            conn,
            told.account_id,
            listing_id=told.listing_id,
            actor_uri=note.author,
            object_uri=note.uri,
            object_url=note.url,
            body=note.text,
        )
        if new:  # mailed too, when the resident chose mail about mentions
            about = {"other_side": await _who(conn, note.author), "excerpt": note.text[:500],
                     "url": note.url}  # fmt: skip
            await mail_q.queue_notification_mail(conn, told.account_id, "mention", about)
    if plan.notice is not None:
        await _send_notice(conn, fed, note, plan.notice)


async def _who(conn: asyncpg.Connection, actor_uri: str) -> str:
    """@name@host of a cached actor, else its URI."""
    actor = await actors_q.get_remote_actor(conn, actor_uri)
    return actor.handle if actor is not None and actor.preferred_username else actor_uri


async def _send_notice(
    conn: asyncpg.Connection, fed: Federation, note: IncomingNote, notice: ReplyNotice
) -> None:
    settings, listing = fed.settings, notice.listing
    note_id = fed.uris.message(str(uuid.uuid4()))
    if not await q.insert_notice(conn, listing.id, notice.replier.uri, note_id):
        return  # another copy of the reply got there first
    body = NOTICE.format(
        title=listing.title,
        author=listing.author_username,
        domain=settings.domain,
        url=fed.uris.listing(listing.uid),
        instance=settings.instance_name,
    )
    await send_message(
        conn,
        settings,
        sender_uri=fed.uris.user(settings.neighbourhood_handle),
        recipient_uri=notice.replier.uri,
        body=body,
        in_reply_to=note.uri,
        listing_uri=fed.uris.listing(listing.uid),
        note_id=note_id,
    )
