"""Thanks: after a completed exchange, each side may leave one short public thanks to the
other, which the thanked person's profile shows (with who wrote it and for which listing).

Rules:
- only the two parties of a conversation, and only once it is `completed` (services.answers
  `complete`, or on the respondent's node the listing's Update that completes it), not once
  the other party deleted their account, and not when a block stands between them;
- one thanks per conversation and writer: writing again is refused (edit it instead); its
  writer may edit or remove it;
- plain text, 1 to MAX_THANKS characters.
A thanks to someone on another node travels as a public Note (ap/thanks.py shows the shape):
Create when written, Update when edited, Delete when removed, through the outbox like every
activity. Thanks that arrive from other nodes are federation/thanks.py's.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import UTC, datetime

import asyncpg

from commonsfed.ap.jsonld import OUR_CONTEXT
from commonsfed.ap.thanks import MAX_THANKS, ThanksNote, thanks_activity, thanks_note_to_ap
from commonsfed.ap.uris import LocalUris
from commonsfed.config import Settings
from commonsfed.db import accounts as accounts_q
from commonsfed.db import actors as actors_q
from commonsfed.db import answers as answers_q
from commonsfed.db import listings as listings_q
from commonsfed.db import thanks as q
from commonsfed.db.answers import Conversation
from commonsfed.db.thanks import Thanks
from commonsfed.federation import outbox
from commonsfed.federation.answers import notify
from commonsfed.i18n import Text
from commonsfed.i18n import gettext_noop as N_
from commonsfed.models import Account, Listing
from commonsfed.services import block_rules
from commonsfed.services.errors import NotAllowed, ServiceError, ValidationError
from commonsfed.services.listing_federation import listing_url
from commonsfed.services.listing_forms import Number

PROFILE_THANKS = 50  # the newest ones a profile shows
# marked: the pages show them in the reader's language
NOT_A_PARTY = N_("Only the two people of an exchange can thank each other for it.")
NOT_COMPLETED = N_("You can say thanks once the exchange is marked completed.")
ALREADY = N_("You have already thanked them for this exchange: you can edit your thanks instead.")
CLOSED = N_("This conversation is closed: the other person deleted their account.")
NONE_YET = N_("You have not written a thanks for this exchange.")


class ConversationNotFound(ServiceError):
    """No conversation has this id."""


class ThanksRefused(ServiceError):
    """A thanks that cannot be written now (the message says why)."""


def check_text(text: str) -> str:
    body = text.replace("\r\n", "\n").strip()
    if not body:
        raise ValidationError({"thanks": N_("Write a few words of thanks first.")})
    if len(body) > MAX_THANKS:
        raise ValidationError(
            {"thanks": Text(N_("Use at most %(limit)s characters; this thanks has %(length)s."),
                            limit=Number(MAX_THANKS), length=Number(len(body)))}  # fmt: skip
        )
    return body


@dataclass(frozen=True)
class Other:
    """The thanked side of a conversation for one of its parties."""

    account_id: int | None
    actor_uri: str | None
    handle: str  # user@host for the mention (remote), or the username (local)


def _other(conv: Conversation, account: Account) -> Other:
    if account.id == conv.author_id:
        return Other(
            conv.respondent_account_id,
            conv.respondent_actor_uri,
            conv.respondent_handle or conv.respondent_username or "",
        )
    return Other(conv.author_id, conv.remote_author_uri, conv.author_username)


def _is_party(conv: Conversation, account: Account) -> bool:
    return account.id in (conv.author_id, conv.respondent_account_id)


async def _party_conversation(conn, account: Account, conversation_id: int) -> Conversation:
    conv = await answers_q.get_conversation(conn, conversation_id)
    if conv is None:
        raise ConversationNotFound(f"conversation {conversation_id} not found")
    if not _is_party(conv, account):
        raise NotAllowed(NOT_A_PARTY)
    return conv


async def _mine(conn, account: Account, conv: Conversation) -> Thanks | None:
    return next(
        (t for t in await q.in_conversation(conn, conv.id) if t.writer_account_id == account.id),
        None,
    )


# --- writing ---------------------------------------------------------------------------------


async def leave(
    pool: asyncpg.Pool, settings: Settings, account: Account, conversation_id: int, text: str
) -> int:
    """`account` thanks the other party of a completed conversation; the new thanks' id."""
    async with pool.acquire() as conn, conn.transaction():
        conv = await _party_conversation(conn, account, conversation_id)
        if conv.state != "completed":
            raise ThanksRefused(NOT_COMPLETED)
        if conv.closed_at is not None:
            raise ThanksRefused(CLOSED)
        await block_rules.check_conversation(conn, settings, account, conv)
        body = check_text(text)
        other = _other(conv, account)
        thanks_id = await q.insert_thanks(
            conn, conv.id, body=body,
            ap_id=LocalUris(settings.base_url).base + f"/thanks/{uuid.uuid4()}",
            writer_account_id=account.id,
            subject_account_id=other.account_id, subject_actor_uri=other.actor_uri,
        )  # fmt: skip
        if thanks_id is None:
            raise ThanksRefused(ALREADY)
        await _federate(conn, settings, "Create", conv, await q.get_thanks(conn, thanks_id))
        await notify(conn, other.account_id, "thanks", conv)  # a resident here: told
        return thanks_id


async def edit(
    pool: asyncpg.Pool, settings: Settings, account: Account, conversation_id: int, text: str
) -> None:
    async with pool.acquire() as conn, conn.transaction():
        conv = await _party_conversation(conn, account, conversation_id)
        mine = await _mine(conn, account, conv)
        if mine is None:
            raise ThanksRefused(NONE_YET)
        await q.set_body(conn, mine.id, check_text(text))
        await _federate(conn, settings, "Update", conv, await q.get_thanks(conn, mine.id))


async def remove(
    pool: asyncpg.Pool, settings: Settings, account: Account, conversation_id: int
) -> None:
    async with pool.acquire() as conn, conn.transaction():
        conv = await _party_conversation(conn, account, conversation_id)
        mine = await _mine(conn, account, conv)
        if mine is None:
            raise ThanksRefused(NONE_YET)
        await q.delete_thanks(conn, mine.id)
        await _federate(conn, settings, "Delete", conv, mine)


async def _federate(
    conn, settings: Settings, kind: str, conv: Conversation, thanks: Thanks | None
) -> None:
    """A thanks to someone on another node goes there (to a local one, nowhere)."""
    if thanks is None or thanks.subject_actor_uri is None or thanks.writer_username is None:
        return
    note = await _note(conn, settings, conv, thanks)
    if kind == "Update":
        note = replace(note, updated=datetime.now(UTC))
    activity_id = f"{thanks.ap_id}/{kind.lower()}/{uuid.uuid4()}"
    await outbox.publish(conn, settings, thanks_activity(kind, note, activity_id))


async def _note(conn, settings: Settings, conv: Conversation, thanks: Thanks) -> ThanksNote:
    """A local writer's thanks as it travels (ap/thanks.py)."""
    uris = LocalUris(settings.base_url)
    if thanks.subject_actor_uri is not None:
        actor = await actors_q.get_remote_actor(conn, thanks.subject_actor_uri)
        subject_uri = thanks.subject_actor_uri
        handle = (
            f"{actor.preferred_username}@{actor.domain}"
            if actor is not None and actor.preferred_username
            else conv.respondent_handle or conv.author_username or "someone"
        )
    else:
        subject = await accounts_q.get_account(conn, thanks.subject_account_id or 0)
        name = subject.username if subject else "someone"
        subject_uri, handle = uris.user(name), f"{name}@{settings.domain}"
    return ThanksNote(
        note_id=thanks.ap_id,
        writer_uri=uris.user(thanks.writer_username or ""),
        subject_uri=subject_uri,
        subject_handle=handle,
        listing_uri=conv.remote_listing_uri or listing_url(settings, conv.listing_uid or ""),
        body=thanks.body,
        published=thanks.created_at,
        updated=thanks.updated_at,
    )


async def served_note(pool: asyncpg.Pool, settings: Settings, ap_id: str) -> dict | None:
    """A local writer's thanks Note, as its id serves it to peers; None when there is none."""
    async with pool.acquire() as conn:
        thanks = await q.thanks_by_ap_id(conn, ap_id)
        if thanks is None or thanks.writer_username is None:
            return None
        conv = await answers_q.get_conversation(conn, thanks.conversation_id)
        note = await _note(conn, settings, conv, thanks)
    return {"@context": OUR_CONTEXT, **thanks_note_to_ap(note)}


# --- reading ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ConversationThanks:
    """What the conversation page shows a party: their own thanks, the other's, and whether
    the form to write one is offered."""

    mine: Thanks | None
    theirs: Thanks | None
    may_thank: bool
    limit: int = MAX_THANKS


async def for_conversation(
    pool: asyncpg.Pool, account: Account, conv: Conversation
) -> ConversationThanks | None:
    """None for someone who is not a party (an admin reading)."""
    if not _is_party(conv, account):
        return None
    async with pool.acquire() as conn:
        written = await q.in_conversation(conn, conv.id)
    mine = next((t for t in written if t.writer_account_id == account.id), None)
    theirs = next((t for t in written if t.writer_account_id != account.id), None)
    may_thank = conv.state == "completed" and conv.closed_at is None and mine is None
    return ConversationThanks(mine, theirs, may_thank)


@dataclass(frozen=True)
class ProfileExtras:
    """What a resident's profile shows besides the profile itself."""

    member_since: datetime
    thanks: list[Thanks]
    open_listings: list[Listing]
    # the resident's hours balance, for the time-banking kinds, once the node keeps one;
    # until then None, and the profile shows no line for it
    hours_balance: int | None = None


async def profile_extras(pool: asyncpg.Pool, username: str) -> ProfileExtras | None:
    async with pool.acquire() as conn:
        account = await accounts_q.get_by_username(conn, username)
        if account is None:
            return None
        received = await q.received_by(conn, account.id, PROFILE_THANKS)
        listings = await listings_q.listings_by_author(conn, account.id)
    return ProfileExtras(
        member_since=account.created_at,
        thanks=received,
        open_listings=[listing for listing in listings if listing.state in ("open", "reserved")],
    )
