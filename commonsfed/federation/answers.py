"""Answers across nodes, inbound: the handlers the table in handlers.py points at, and the
direct messages both they and the answer services send.

On the listing's node:
- an FEP-0837 `Offer` of an `Agreement`, or a direct message replying to the listing (what a
  Mastodon user sends), becomes an answer: a conversation at the end of the line, its first
  message, and a notification for the author. Another one from the same actor is one more
  message in the conversation they have. A closed listing refuses new answers the way the
  answer came: a `Reject` of the Offer, or a direct message saying so.
On the respondent's node:
- the author's `Accept` of our Offer reserves the listing for the resident who answered,
  `Reject` declines them, `Undo` of that Accept releases the reservation;
- an `Update` of the listing carries its new state into the conversation.
Both sides: a direct message that replies to a message of a conversation (or to the Offer
that opened it) is the next message of that conversation, but only from its other party.
A resident's block stops all of it from the blocked actor: their Offer gets a Reject, their
direct message is not kept (services.blocks).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import asyncpg

from commonsfed.ap.activities import RemoteObject, same_host, valid_uri
from commonsfed.ap.actors import RemoteActor
from commonsfed.ap.agreements import (
    AgreementOffer,
    agreement_answer_from_ap,
    agreement_reject_to_ap,
    offer_agreement_from_ap,
)
from commonsfed.ap.jsonld import first_id
from commonsfed.ap.listings import CLOSED_STATES
from commonsfed.ap.messages import Recipient, direct_message_from_ap, direct_message_to_ap
from commonsfed.ap.remote_listings import listing_from_ap
from commonsfed.ap.uris import LocalUris
from commonsfed.config import Settings
from commonsfed.db import actors as actors_q
from commonsfed.db import answers as q
from commonsfed.db import blocks as blocks_q
from commonsfed.db import listings as listings_q
from commonsfed.db import mail as mail_q
from commonsfed.db import mentions as mentions_q
from commonsfed.db import notifications as notes_q
from commonsfed.db.answers import Conversation
from commonsfed.federation import outbox
from commonsfed.federation.actors import get_actor
from commonsfed.federation.context import Federation
from commonsfed.federation.errors import Refused, fetch_failure
from commonsfed.federation.fetch import FetchError
from commonsfed.i18n import gettext_noop as N_
from commonsfed.i18n import localize
from commonsfed.models import Listing

CLOSED = N_("This listing is closed to new answers.")
BLOCKED = N_("This listing's author does not take answers from you.")
NO_TEXT = "(no text)"


# --- sending -------------------------------------------------------------------------------


def recipient_of(actor: RemoteActor) -> Recipient:
    return Recipient(
        uri=actor.uri,
        handle=f"{actor.preferred_username or 'someone'}@{actor.domain}",
        url=actor.uri,
    )


async def send_message(
    conn: asyncpg.Connection,
    settings: Settings,
    *,
    sender_uri: str,
    recipient_uri: str,
    body: str,
    in_reply_to: str,
    listing_uri: str,
    note_id: str | None = None,
) -> str:
    """A direct message from a local actor to a remote one, in the caller's transaction.
    Returns the Note's id (stored with the message so replies to it find the conversation;
    made here unless given). The recipient must be cached: they answered us, or we fetched
    them before answering."""
    actor = await actors_q.get_remote_actor(conn, recipient_uri)
    if actor is None:
        raise LookupError(f"{recipient_uri} is not a cached remote actor")
    note_id = note_id or LocalUris(settings.base_url).message(str(uuid.uuid4()))
    activity = direct_message_to_ap(
        note_id=note_id,
        activity_id=note_id + "/activity",
        sender_uri=sender_uri,
        recipient=recipient_of(actor),
        body=body,
        in_reply_to=in_reply_to,
        listing_uri=listing_uri,
        published=datetime.now(UTC),
    )
    await outbox.publish(conn, settings, activity)
    return note_id


async def notify(conn, account_id: int | None, kind: str, conv: Conversation) -> None:
    """A notification about `conv` for a local account (None: a remote party, told by
    activities instead), and its mail if they chose mail for its kind."""
    if account_id is not None:
        await notes_q.insert_notification(conn, account_id, kind, conv.listing_id, conv.id)
        other_side = conv.respondent_name if account_id == conv.author_id else None
        about = {
            "listing_title": conv.listing_title,
            "other_side": other_side or f"@{conv.author_username}",
            "path": f"/conversations/{conv.id}",
        }
        await mail_q.queue_notification_mail(conn, account_id, kind, about)


# --- an answer to a local listing ----------------------------------------------------------


@dataclass(frozen=True)
class IncomingAnswer:
    listing_uid: str
    actor_uri: str
    ap_id: str  # the Offer's id, or the direct message's
    via: str  # "offer" | "note"
    text: str
    offer: AgreementOffer | None = None


async def verify_offer(fed: Federation, activity: dict[str, Any]) -> IncomingAnswer:
    offer = offer_agreement_from_ap(activity)
    if offer is None:
        raise Refused("an Offer needs an Agreement whose Commitment satisfies a listing's Intent")
    listing = await _local_listing(fed, offer.listing_uri)
    await _cache_actor(fed, offer.actor_uri)
    return IncomingAnswer(
        listing.uid, offer.actor_uri, offer.offer_id, "offer", offer.message, offer
    )


async def _local_listing(fed: Federation, uri: str) -> Listing:
    uid = fed.uris.listing_uid(uri)
    async with fed.pool.acquire() as conn:
        listing = await listings_q.get_listing(conn, uid) if uid else None
    if listing is None:
        raise Refused(f"{uri} is not a listing of this node")
    return listing


async def _cache_actor(fed: Federation, uri: str) -> None:
    """The answer's actor, cached, so the author's replies and decisions can reach them."""
    try:
        await get_actor(fed, uri)
    except FetchError as exc:
        raise fetch_failure(exc) from exc


async def receive_answer(
    conn: asyncpg.Connection, fed: Federation, activity: dict[str, Any], plan: IncomingAnswer
) -> None:
    listing = await listings_q.get_listing(conn, plan.listing_uid, for_update=True)
    if listing is None:
        return  # removed since the answer was verified: nothing left to answer
    if await blocks_q.blocks_actor(conn, listing.author_id, plan.actor_uri):
        await _refuse(conn, fed.settings, listing, plan, BLOCKED, tell_note=False)
        return
    text = plan.text or f"Answered “{listing.title}”."
    conv = await q.find_remote_respondent(conn, listing.id, plan.actor_uri)
    if conv is not None and conv.closed_at is not None:
        return  # they deleted themselves: a late copy of their answer brings nothing back
    if conv is not None:
        if await q.insert_message(
            conn, conv.id, None, text, sender_actor_uri=plan.actor_uri, ap_id=plan.ap_id
        ):
            await notify(conn, listing.author_id, "new_message", conv)
        return
    if not listing.is_open:
        await _refuse(conn, fed.settings, listing, plan, CLOSED)
        return
    conv = await q.get_conversation(
        conn,
        await q.insert_remote_respondent(conn, listing.id, plan.actor_uri, plan.ap_id, plan.via),
    )
    await q.insert_message(
        conn, conv.id, None, text, sender_actor_uri=plan.actor_uri, ap_id=plan.ap_id
    )
    await notify(conn, listing.author_id, "new_answer", conv)


async def _refuse(
    conn,
    settings: Settings,
    listing: Listing,
    plan: IncomingAnswer,
    reason: str,
    *,
    tell_note: bool = True,
) -> None:
    """An answer that cannot join the line: an Offer gets a Reject saying why; a direct
    message gets a message back (unless `tell_note` is False: nothing goes to a blocked
    person but the Reject their server needs to close the Offer)."""
    author = f"{settings.base_url}/users/{listing.author_username}"
    if plan.offer is not None:
        reject = agreement_reject_to_ap(
            activity_id=outbox.new_activity_id(settings),
            actor_uri=author,
            offer=plan.offer,
            reason=localize(settings.language, reason),  # the node's language
        )
        await outbox.publish(conn, settings, reject)
        return
    if not tell_note:
        return
    await send_message(
        conn,
        settings,
        sender_uri=author,
        recipient_uri=plan.actor_uri,
        body=localize(settings.language, reason),
        in_reply_to=plan.ap_id,
        listing_uri=f"{settings.base_url}/listings/{listing.uid}",
    )


# --- a direct message ----------------------------------------------------------------------


@dataclass(frozen=True)
class IncomingMessage:
    conversation: Conversation
    actor_uri: str
    ap_id: str
    text: str


async def verify_direct_note(
    fed: Federation, activity: dict[str, Any]
) -> IncomingAnswer | IncomingMessage | None:
    """A direct Note that answers a local listing or continues a conversation; None for any
    other Note (the caller keeps it as a remote object)."""
    note = activity.get("object")
    message = direct_message_from_ap(note) if isinstance(note, dict) else None
    if message is None or message.in_reply_to is None:
        return None
    actor = activity["actor"]
    if message.sender_uri != actor or not same_host(message.note_id, actor):
        raise Refused(f"{message.note_id} is not {actor}'s to send")
    text = message.text or NO_TEXT
    replied_to = await _listing_of_notice(fed, message.in_reply_to, actor)
    if fed.uris.listing_uid(replied_to) is not None:
        listing = await _local_listing(fed, replied_to)
        # an answer is written to the listing's author (or the neighbourhood that shared
        # it); a private reply about it to someone else is theirs, not an answer
        to = {
            fed.uris.user(listing.author_username),
            fed.uris.user(fed.settings.neighbourhood_handle),
        }
        if to.isdisjoint(message.addressees):
            return None
        await _cache_actor(fed, actor)
        return IncomingAnswer(listing.uid, actor, message.note_id, "note", message.text)
    async with fed.pool.acquire() as conn:
        conv = await q.conversation_by_ap_id(conn, message.in_reply_to)
    if conv is None:
        return None
    other_party = conv.remote_author_uri if conv.is_remote_listing else conv.respondent_actor_uri
    if actor != other_party:
        raise Refused(f"{actor} is not a party to the conversation {message.in_reply_to} is in")
    if conv.closed_at is not None:
        raise Refused(f"the conversation {message.in_reply_to} is in is closed: {actor} left")
    return IncomingMessage(conv, actor, message.note_id, text)


async def _listing_of_notice(fed: Federation, in_reply_to: str, actor: str) -> str:
    """The listing a direct reply answers when it replies to the automatic message its sender
    got for replying publicly (federation.mentions); else what it replies to."""
    if not fed.uris.is_local(in_reply_to) or fed.uris.listing_uid(in_reply_to) is not None:
        return in_reply_to
    async with fed.pool.acquire() as conn:
        uid = await mentions_q.listing_of_notice(conn, in_reply_to, actor)
    return fed.uris.listing(uid) if uid else in_reply_to


async def receive_direct_note(
    conn: asyncpg.Connection,
    fed: Federation,
    activity: dict[str, Any],
    plan: IncomingAnswer | IncomingMessage,
) -> None:
    if isinstance(plan, IncomingAnswer):
        await receive_answer(conn, fed, activity, plan)
        return
    conv = plan.conversation
    local_party = conv.respondent_account_id if conv.is_remote_listing else conv.author_id
    if await blocks_q.blocks_actor(conn, local_party, plan.actor_uri):
        return  # blocked: not kept
    if await q.insert_message(
        conn, conv.id, None, plan.text, sender_actor_uri=plan.actor_uri, ap_id=plan.ap_id
    ):
        await notify(conn, local_party, "new_message", conv)


# --- the author's decision on our Offer ----------------------------------------------------


@dataclass(frozen=True)
class Decision:
    conversation: Conversation
    state: str  # "reserved" | "declined" | "waiting" (released)
    agreement_id: str | None
    reason: str
    ap_id: str
    later: bool = False  # about a later Offer of the conversation (migration 0049)


NOTIFY = {
    "reserved": "reserved_for_you",
    "declined": "declined",
    "waiting": "reservation_released",
    "completed": "completed",
}


async def _our_offer(
    fed: Federation, offer_id: str | None, actor: str
) -> tuple[Conversation, bool]:
    """The conversation of a resident's Offer `offer_id`, and whether it is a later one."""
    async with fed.pool.acquire() as conn:
        conv = await q.conversation_by_ap_id(conn, offer_id) if offer_id else None
        later = conv is not None and offer_id is not None and conv.ap_id != offer_id and (
            await q.is_later_offer(conn, conv.id, offer_id))  # fmt: skip
    if conv is None or not conv.is_remote_listing or (conv.ap_id != offer_id and not later):
        raise Refused(f"{offer_id} is not an Offer a resident here sent")
    if conv.remote_author_uri != actor:
        raise Refused("only the listing's author may decide on an answer to it")
    return conv, later


async def verify_offer_answer(fed: Federation, activity: dict[str, Any]) -> Decision:
    answer = agreement_answer_from_ap(activity)
    if answer is None:
        raise Refused("an Accept of an Offer needs the Agreement it makes as `result`")
    conv, later = await _our_offer(fed, answer.offer_id, activity["actor"])
    state = "reserved" if answer.accepted else "declined"
    return Decision(conv, state, answer.agreement_id, answer.reason, activity["id"], later)


async def verify_undo_accept(fed: Federation, activity: dict[str, Any]) -> Decision | None:
    """The author releases the reservation their Accept made."""
    inner = activity.get("object")
    if not isinstance(inner, dict):
        raise Refused("an Undo of an Accept must embed the Accept")
    if first_id(inner.get("actor")) != activity["actor"]:
        raise Refused("Undo of an activity someone else sent")
    conv, later = await _our_offer(
        fed, valid_uri(first_id(inner.get("object"))), activity["actor"]
    )
    if conv.state != "reserved":
        return None  # nothing held: nothing to release
    return Decision(conv, "waiting", None, "", activity["id"], later)


async def receive_decision(
    conn: asyncpg.Connection, fed: Federation, activity: dict[str, Any], plan: Decision
) -> None:
    conv = plan.conversation
    if plan.later:
        await _later_decision(conn, plan)
        return
    if conv.state in ("completed", "withdrawn") or conv.closed_at is not None:
        return  # over on this side; a late decision changes nothing
    state = plan.state
    if conv.listing_state in CLOSED_STATES:
        # the listing's Update overtook this decision on the way: a reservation of a
        # listing completed since is the one it completed with; of one withdrawn, nothing
        if state != "reserved" or conv.listing_state != "completed":
            return
        state = "completed"
        # the Update told them the listing closed without them: it closed with them
        if conv.respondent_account_id is not None:
            await notes_q.retract_conversation_notice(
                conn, conv.respondent_account_id, "listing_closed", conv.id
            )
    await q.set_state(conn, conv.id, state)
    if plan.agreement_id:
        await q.set_agreement(conn, conv.id, plan.agreement_id)
    if plan.reason:
        await q.insert_message(
            conn,
            conv.id,
            None,
            plan.reason,
            sender_actor_uri=conv.remote_author_uri,
            ap_id=plan.ap_id,
        )
    await notify(conn, conv.respondent_account_id, NOTIFY[state], conv)


async def _later_decision(conn: asyncpg.Connection, plan: Decision) -> None:
    """A decision on a later Offer (days asked again, another pledge): the respondent is
    told, with the reason if any. An Accept reserves for them again (a new loan, a pledge
    that holds); a Reject or a release leaves the conversation as the earlier Offers made it."""
    conv = plan.conversation
    if conv.closed_at is not None:
        return  # they left, or the listing's author did
    if plan.state == "reserved":
        if conv.state != "reserved":
            await q.set_state(conn, conv.id, "reserved")
        if plan.agreement_id:
            await q.set_agreement(conn, conv.id, plan.agreement_id)
    if plan.reason:
        await q.insert_message(conn, conv.id, None, plan.reason,
                               sender_actor_uri=conv.remote_author_uri, ap_id=plan.ap_id)  # fmt: skip
    await notify(conn, conv.respondent_account_id, NOTIFY[plan.state], conv)


# --- a remote listing changed --------------------------------------------------------------


async def remote_listing_changed(conn: asyncpg.Connection, updated: RemoteObject) -> None:
    """Carry a remote listing's new state into its local respondents' conversations."""
    if not updated.is_listing:
        return
    listing = listing_from_ap(updated.document)
    if listing is None:
        return
    completed, closed = await q.set_remote_listing(
        conn, updated.uri, updated.attributed_to, listing.title, listing.state
    )
    await _notify_each(conn, completed, "completed")
    await _notify_each(conn, closed, "listing_closed")


async def remote_listing_deleted(conn: asyncpg.Connection, uri: str, author_uri: str) -> None:
    """Its author deleted a remote listing: it shows withdrawn, and who waited is told."""
    closed = await q.remote_listing_removed(conn, uri, author_uri)
    await _notify_each(conn, closed, "listing_closed")


async def _notify_each(conn: asyncpg.Connection, conversation_ids: list[int], kind: str) -> None:
    for conversation_id in conversation_ids:
        conv = await q.get_conversation(conn, conversation_id)
        await notify(conn, conv.respondent_account_id, kind, conv)
