"""Answers to listings: private conversations between a listing's author and each resident who
answered, the line they wait in, reservations, and the notifications each change writes.

Decisions:
- The listing's row lock orders every change of a conversation's state: each such change
  locks the listing first (FOR UPDATE), then reads its conversations. One lock order, so no
  deadlocks, and the line cannot change under a decision.
- The line is the listing's `waiting` and `offered` conversations, oldest answer first. When a
  reservation ends without completion, the next one waiting (never the one just released) is
  `offered` the listing and told; the author then reserves it for them, or passes them over.
  Someone else being reserved for puts an outstanding offer back to `waiting`.
- Answering a listing you answered before adds a message to that conversation, whatever its
  state and even once the listing is closed (so people can still arrange the handover); a
  closed listing refuses only new answers.
- Completing a listing with one respondent leaves the others' answers as they were, and
  tells them it closed (services.answer_notices); the pages show them closed.
- Replies: the author and the respondent write; an admin may read (and manage the listing),
  but not write in other people's conversation.
- Notifications go to local accounts only (services.answer_notices). A remote respondent hears of the same changes
  the way they answered: one who sent an FEP-0837 Offer gets the author's Accept (reserved),
  Reject (declined) or Undo of that Accept (released); one who wrote a direct message (a
  Mastodon user) gets a direct message saying what happened. Every remote respondent gets
  the listing's Updates (blind-copied), so a completed or withdrawn listing shows as such.
- A resident answers a listing of another node with an Offer(Agreement) carrying their
  message; further messages on either side go as direct messages that reply to the last
  one, which is how each node finds the conversation they belong to. The author decides on
  their own node. Leaving the line of a remote listing sends an Undo of the Offer (FEP-0837
  defines no withdrawal; a commonsfed node takes the respondent out of its line, see
  services.answer_inbox) and a message saying so, for any other server's people.
- A party who deletes their account (here, or on their node: a Delete of their Person):
  their messages go, they leave the line as after a withdrawal, and a system line closes
  the conversation, which the other party keeps with their own messages; nobody writes in
  a closed conversation.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import asyncpg

from commonsfed.ap import agreements, remote_listings
from commonsfed.ap import listings as ap_listings
from commonsfed.ap.activities import undo_to_ap
from commonsfed.ap.uris import LocalUris
from commonsfed.config import Settings
from commonsfed.db import activities as activities_q
from commonsfed.db import answers as q
from commonsfed.db import listings as listings_q
from commonsfed.db import notifications as notes_q
from commonsfed.db import objects as objects_q
from commonsfed.db.answers import IN_LINE, Conversation, Message
from commonsfed.federation import outbox
from commonsfed.federation.actors import get_actor
from commonsfed.federation.answers import notify
from commonsfed.federation.context import Federation
from commonsfed.federation.fetch import FetchError
from commonsfed.i18n import Text, localize
from commonsfed.i18n import gettext_noop as N_
from commonsfed.models import Account, Listing
from commonsfed.services import answer_notices as notices
from commonsfed.services import block_rules
from commonsfed.services.errors import NotAllowed, ServiceError, ValidationError
from commonsfed.services.listing_federation import publish_updated
from commonsfed.services.listing_forms import Number
from commonsfed.services.listings import (
    NO_SUCH_LISTING,
    NO_SUCH_STATE,
    NOT_NOW,
    TRANSITIONS,
    InvalidTransition,
    ListingNotFound,
    may_manage,
)

MAX_MESSAGE = 5000
# what people are told: marked constants and Texts, shown in the reader's language; an
# answer's state is named in a whole sentence, as French agrees the word with « réponse »
CLOSED = N_("This listing is closed to new answers.")
OWN_LISTING = N_("This is your own listing: answers to it come to you.")
NOT_YOURS = N_("Only the person who posted this listing and the person who answered can see this.")
ONLY_RESPONDENT = N_("Only the person who answered can withdraw their answer.")
ALREADY = {
    "declined": N_("This answer is declined already."),
    "completed": N_("This answer is completed already."),
    "withdrawn": N_("This answer is withdrawn already."),
}
NOT_COMPLETABLE = {
    "declined": N_("This answer is declined; it cannot be completed."),
    "completed": N_("This answer is completed; it cannot be completed."),
    "withdrawn": N_("This answer is withdrawn; it cannot be completed."),
}
NOT_IN_LINE = {
    "reserved": N_("This answer is reserved; only someone waiting in line can be reserved for."),
    "declined": N_("This answer is declined; only someone waiting in line can be reserved for."),
    "completed": N_("This answer is completed; only someone waiting in line can be reserved for."),
    "withdrawn": N_("This answer is withdrawn; only someone waiting in line can be reserved for."),
}
RELEASE_TO = ("waiting", "declined")
FINAL = ("declined", "completed", "withdrawn")


class ConversationNotFound(ServiceError):
    """No conversation has this id."""


ELSEWHERE = N_("This listing is on another node: its author decides there.")
CLOSED_CONVERSATION = N_("This conversation is closed: the other person deleted their account.")
# the system lines that close a conversation (a party left, or a remote one was suspended),
# in the node's language: whoever still reads it is a resident here
LEFT = N_(
    "%(name)s deleted their account. Their messages were removed and this conversation is "
    "closed."
)
SUSPENDED = N_(
    "%(name)s was suspended by this node's moderators. Their messages were removed and this "
    "conversation is closed."
)
# written in the respondent's name to a listing's remote author: in the respondent's language
WITHDRAWN = N_(
    "I withdraw my answer to “%(title)s”: please give my place in line to someone else."
)
UNREACHABLE = N_(
    "The listing's node cannot be reached right now (%(reason)s). "
    "Your message is still here: try again later."
)


def check_message(message: str) -> str:
    """The message as stored, or a ValidationError for the `message` field."""
    body = message.replace("\r\n", "\n").strip()
    if not body:
        raise ValidationError({"message": N_("Write a message first.")})
    if len(body) > MAX_MESSAGE:
        raise ValidationError(
            {"message": Text(N_("Use at most %(limit)s characters; this message has %(length)s."),
                             limit=Number(MAX_MESSAGE), length=Number(len(body)))}  # fmt: skip
        )
    return body


# --- answering and writing -----------------------------------------------------------------


async def answer(
    pool: asyncpg.Pool, settings: Settings, account: Account, listing_uid: str, message: str
) -> Conversation:
    """A resident answers a listing privately: a new conversation at the end of the line, or
    one more message in the conversation they have already."""
    body = check_message(message)
    async with pool.acquire() as conn, conn.transaction():
        listing = await listings_q.get_listing(conn, listing_uid, for_update=True)
        if listing is None:
            raise ListingNotFound(NO_SUCH_LISTING)
        if listing.author_id == account.id:
            raise NotAllowed(OWN_LISTING)
        await block_rules.check_account(
            conn, account, listing.author_id, f"@{listing.author_username}"
        )
        conv = await q.find_conversation(conn, listing.id, account.id)
        if conv is not None:
            await _write(conn, settings, conv, account, body)
            return conv
        if not listing.is_open:
            raise InvalidTransition(CLOSED)
        conv = await q.get_conversation(
            conn, await q.insert_conversation(conn, listing.id, account.id)
        )
        await q.insert_message(conn, conv.id, account.id, body)
        await notify(conn, listing.author_id, "new_answer", conv)
        return conv


# a listing of these kinds is asked again, with a quantity, whenever it is answered again
ASKED_AGAIN = ("group_purchase", "pay_it_forward")


async def answer_remote(
    fed: Federation,
    account: Account,
    listing_uri: str,
    message: str,
    days: tuple[date, date] | None = None,
    quantity: int | float | Decimal = 1,
    *,
    intent: str = "primary",
    unit: str = "one",
) -> Conversation:
    """A resident answers a listing of another node: an FEP-0837 Offer(Agreement) to its
    author carrying the message, and a conversation here that the author's decisions and
    messages come back to. Answering again is one more message in that conversation, or,
    when it asks for something again, one more Offer in it (a later Offer, migration 0049).
    `days` (a lend listing's pickup and return day) ask for those days of its calendar
    (services.loans on the listing's node): its Accept confirms them, its Reject says why not.
    `quantity` is what the Offer commits to: on a group purchase, the pledge (services.pledges
    on the listing's node; its deadline decides with Accept or Reject); on a project, the
    pledge towards the need whose Intent is `intent` (`need-<n>`), counted in `unit`."""
    body = check_message(message)
    async with fed.pool.acquire() as conn:
        document = await objects_q.get_remote_document(conn, listing_uri)
    remote = remote_listings.listing_from_ap(document) if document else None
    if remote is None:
        raise ListingNotFound(NO_SUCH_LISTING)
    try:
        author = await get_actor(fed, remote.author_uri)
    except FetchError as exc:
        raise ValidationError({"message": Text(UNREACHABLE, reason=exc.message)}) from exc
    settings = fed.settings
    asks = days is not None or intent != "primary" or remote.kind in ASKED_AGAIN
    async with fed.pool.acquire() as conn, conn.transaction():
        await block_rules.check_actor(conn, settings, account, author.uri, author.handle)
        conv = await q.find_remote_listing_conversation(conn, remote.uri, account.id)
        if conv is not None and not (asks and conv.closed_at is None):
            await _write(conn, settings, conv, account, body)
            return conv
        if remote.state in ap_listings.CLOSED_STATES:
            raise InvalidTransition(CLOSED)
        offer_id = outbox.new_activity_id(settings)
        if conv is None:
            conversation_id = await q.insert_remote_listing_conversation(
                conn, account_id=account.id, listing_uri=remote.uri, author_uri=author.uri,
                author_handle=f"{author.preferred_username}@{author.domain}"[:300],
                title=remote.title, state=remote.state, ap_id=offer_id,
            )  # fmt: skip
        else:  # asked again: the author's node answers this Offer by its own id
            conversation_id = conv.id
            await q.insert_later_offer(conn, conversation_id, offer_id)
        await q.insert_message(conn, conversation_id, account.id, body, ap_id=offer_id)
        offer = agreements.offer_agreement_to_ap(
            activity_id=offer_id, actor_uri=LocalUris(settings.base_url).user(account.username),
            author_uri=author.uri, listing_uri=remote.uri, message=body, days=days,
            quantity=quantity, intent=intent, unit=unit,
        )  # fmt: skip
        await outbox.publish(conn, settings, offer)
        return await q.get_conversation(conn, conversation_id)


async def _write(conn, settings: Settings, conv: Conversation, sender: Account, body: str) -> None:
    """One message from a local party; it travels when the other party is remote."""
    if conv.closed_at is not None:
        raise NotAllowed(CLOSED_CONVERSATION)
    users = LocalUris(settings.base_url)
    if conv.is_remote_listing:  # the sender is the local respondent
        await notices.send(
            conn,
            settings,
            conv,
            users.user(sender.username),
            conv.remote_author_uri,
            body,
            sender_id=sender.id,
        )
    elif conv.respondent_actor_uri is not None and sender.id == conv.author_id:
        await notices.send(
            conn,
            settings,
            conv,
            users.user(sender.username),
            conv.respondent_actor_uri,
            body,
            sender_id=sender.id,
        )
    else:
        await q.insert_message(conn, conv.id, sender.id, body)
        await notices.tell_other_side(conn, settings, conv, sender, "new_message")


def _is_party(conv: Conversation, account: Account) -> bool:
    return account.id in (conv.author_id, conv.respondent_account_id)


async def reply(
    pool: asyncpg.Pool, settings: Settings, account: Account, conversation_id: int, message: str
) -> Conversation:
    """The author or the respondent writes in their conversation."""
    async with pool.acquire() as conn, conn.transaction():
        conv = await _get(conn, conversation_id)
        if not _is_party(conv, account):
            raise NotAllowed(
                N_(
                    "Only the person who posted this listing and the person who "
                    "answered can write in this conversation."
                )
            )
        await block_rules.check_conversation(conn, settings, account, conv)
        await _write(conn, settings, conv, account, check_message(message))
        return conv


async def _get(conn, conversation_id: int) -> Conversation:
    conv = await q.get_conversation(conn, conversation_id)
    if conv is None:
        raise ConversationNotFound(N_("There is no such conversation."))
    return conv


# --- the author's decisions ----------------------------------------------------------------


async def _lock(conn, conversation_id: int) -> tuple[Listing, Conversation]:
    """The listing locked, then its conversation read under that lock."""
    conv = await _get(conn, conversation_id)
    if conv.is_remote_listing:
        raise NotAllowed(ELSEWHERE)
    listing = await listings_q.get_listing(conn, conv.listing_uid, for_update=True)
    return listing, await _get(conn, conversation_id)


async def _managed(conn, account: Account, conversation_id: int) -> tuple[Listing, Conversation]:
    listing, conv = await _lock(conn, conversation_id)
    if not may_manage(listing, account):
        raise NotAllowed(N_("Only the person who posted this listing can decide on its answers."))
    return listing, conv


async def _set_listing_state(
    conn, settings: Settings, listing: Listing, state: str, account: Account | None
) -> None:
    """`account` None: the change follows a remote respondent's activity (the history says
    "by the node")."""
    if state not in TRANSITIONS[listing.state]:
        raise InvalidTransition(NOT_NOW.get(state, NO_SUCH_STATE))
    await listings_q.set_state(conn, listing.id, state)
    await listings_q.insert_event(conn, listing.id, "state", state, account.id if account else None)
    await publish_updated(conn, settings, listing.uid)


async def _reserved_for_other(conn, listing: Listing, conv: Conversation) -> None:
    holder = await q.in_state(conn, listing.id, "reserved")
    if holder is not None and holder.id != conv.id:
        raise InvalidTransition(
            Text(N_("This listing is reserved for %(name)s. Release that reservation first."),
                 name=holder.respondent_name)
        )  # fmt: skip


async def reserve(
    pool: asyncpg.Pool, settings: Settings, author: Account, conversation_id: int
) -> None:
    """Reserve the listing for this respondent; the others keep their place in line."""
    async with pool.acquire() as conn, conn.transaction():
        listing, conv = await _managed(conn, author, conversation_id)
        if conv.state not in IN_LINE:
            raise InvalidTransition(NOT_IN_LINE[conv.state])
        await _reserved_for_other(conn, listing, conv)
        if listing.state != "reserved":  # the author may have marked it reserved by hand
            await _set_listing_state(conn, settings, listing, "reserved", author)
        await q.withdraw_offers(conn, listing.id)
        await q.set_state(conn, conv.id, "reserved")
        await notices.tell_respondent(conn, settings, conv, "reserved_for_you")


async def release(
    pool: asyncpg.Pool,
    settings: Settings,
    author: Account,
    conversation_id: int,
    then: str = "waiting",
) -> None:
    """End a reservation without completion: the respondent waits in line again (`waiting`)
    or is declined; the listing opens again and the next one in line is offered it."""
    if then not in RELEASE_TO:
        raise ValidationError(
            {"then": N_("Choose whether they wait in line again or are declined.")}
        )
    async with pool.acquire() as conn, conn.transaction():
        listing, conv = await _managed(conn, author, conversation_id)
        if conv.state != "reserved":
            raise InvalidTransition(N_("This answer does not hold the reservation."))
        await _end_reservation(conn, settings, listing, conv, then, author)
        await notices.tell_respondent(
            conn, settings, conv, "reservation_released" if then == "waiting" else "declined"
        )


async def _end_reservation(
    conn,
    settings: Settings,
    listing: Listing,
    conv: Conversation,
    state: str,
    account: Account | None,
) -> None:
    await q.set_state(conn, conv.id, state)
    if listing.state == "reserved":
        await _set_listing_state(conn, settings, listing, "open", account)
        await _offer_next(conn, settings, listing.id, passed_over=conv.id)
    elif listing.state == "open":  # the author opened it again by hand meanwhile
        await _offer_next(conn, settings, listing.id, passed_over=conv.id)


async def _leave_line(
    conn,
    settings: Settings,
    listing: Listing,
    conv: Conversation,
    state: str,
    account: Account | None,
) -> None:
    """The respondent is out (declined or withdrawn): a reservation they held is released, an
    offer made to them passes on to the next one in line."""
    if conv.state == "reserved":
        await _end_reservation(conn, settings, listing, conv, state, account)
        return
    await q.set_state(conn, conv.id, state)
    if conv.state == "offered" and listing.state == "open":
        await _offer_next(conn, settings, listing.id, passed_over=conv.id)


async def _offer_next(conn, settings: Settings, listing_id: int, passed_over: int) -> None:
    if await q.in_state(conn, listing_id, "offered") is not None:
        return  # the front of the line has been offered it already
    nxt = await q.next_in_line(conn, listing_id, passed_over)
    if nxt is not None:
        await q.set_state(conn, nxt.id, "offered")
        await notices.tell_respondent(conn, settings, nxt, "offered_to_you")


async def decline(
    pool: asyncpg.Pool, settings: Settings, author: Account, conversation_id: int
) -> None:
    """Decline this respondent; a reservation they held is released, an offer passes on."""
    async with pool.acquire() as conn, conn.transaction():
        await decline_within(conn, settings, author, conversation_id)


async def decline_within(conn, settings: Settings, author: Account, conversation_id: int) -> None:
    """`decline` in the caller's transaction (blocking the respondent declines them too)."""
    listing, conv = await _managed(conn, author, conversation_id)
    if conv.state in FINAL:
        raise InvalidTransition(ALREADY[conv.state])
    await _leave_line(conn, settings, listing, conv, "declined", author)
    await notices.tell_respondent(conn, settings, conv, "declined")


async def complete(
    pool: asyncpg.Pool, settings: Settings, author: Account, conversation_id: int
) -> None:
    """The exchange with this respondent happened: the listing and the conversation complete."""
    async with pool.acquire() as conn, conn.transaction():
        listing, conv = await _managed(conn, author, conversation_id)
        if conv.state in FINAL:
            raise InvalidTransition(NOT_COMPLETABLE[conv.state])
        await _reserved_for_other(conn, listing, conv)
        await _set_listing_state(conn, settings, listing, "completed", author)
        await q.withdraw_offers(conn, listing.id)
        await q.set_state(conn, conv.id, "completed")
        await notices.tell_respondent(conn, settings, conv, "completed")
        await notices.tell_line_closed(conn, settings, listing.id, chosen_id=conv.id)


async def withdraw(
    pool: asyncpg.Pool, settings: Settings, account: Account, conversation_id: int
) -> None:
    """The respondent leaves the line (or gives up their reservation)."""
    async with pool.acquire() as conn, conn.transaction():
        await withdraw_within(conn, settings, account, conversation_id)


async def withdraw_within(conn, settings: Settings, account: Account, conversation_id: int) -> None:
    """`withdraw` in the caller's transaction (blocking the author withdraws one's answer)."""
    conv = await _get(conn, conversation_id)
    if conv.is_remote_listing:
        await _withdraw_remote(conn, settings, account, conv)
        return
    listing, conv = await _lock(conn, conversation_id)
    if account.id != conv.respondent_account_id:
        raise NotAllowed(ONLY_RESPONDENT)
    if conv.state in FINAL:
        raise InvalidTransition(ALREADY[conv.state])
    await _leave_line(conn, settings, listing, conv, "withdrawn", account)
    await notify(conn, conv.author_id, "withdrawn", conv)


async def withdrawn_remotely(conn, settings: Settings, conversation_id: int) -> None:
    """A remote respondent took back their Offer (an Undo of it): they leave the line as a
    local respondent who withdraws does. Runs in the inbound handler's transaction."""
    listing, conv = await _lock(conn, conversation_id)
    if conv.state in FINAL:
        return
    await _leave_line(conn, settings, listing, conv, "withdrawn", None)
    await notify(conn, conv.author_id, "withdrawn", conv)


async def _withdraw_remote(conn, settings: Settings, account: Account, conv: Conversation) -> None:
    """Leave the line of a listing on another node: an Undo of our Offer (which a commonsfed
    node acts on) and a message asking its author to pass the place on (for any other)."""
    if account.id != conv.respondent_account_id:
        raise NotAllowed(ONLY_RESPONDENT)
    if conv.closed_at is not None:
        raise InvalidTransition(CLOSED_CONVERSATION)
    if conv.state in FINAL:
        raise InvalidTransition(ALREADY[conv.state])
    await q.set_state(conn, conv.id, "withdrawn")
    me = LocalUris(settings.base_url).user(account.username)
    offer = await activities_q.get_activity(conn, conv.ap_id)
    if offer is not None:
        undo = undo_to_ap(me, offer, settings, new_id=outbox.new_activity_id)
        await outbox.publish(conn, settings, undo)
    await notices.send(
        conn,
        settings,
        conv,
        me,
        conv.remote_author_uri,
        localize(account.language or settings.language,
                 Text(WITHDRAWN, title=conv.listing_title)),  # fmt: skip
        sender_id=account.id,
    )


# --- a party leaves ------------------------------------------------------------------------


async def respondent_left(
    conn, settings: Settings, conversation_id: int, name: str, line: str = LEFT
) -> None:
    """The respondent of a local listing deleted their account (see the module docstring);
    a reservation they held, or an offer made to them, passes on. In the caller's
    transaction."""
    listing, conv = await _lock(conn, conversation_id)
    if conv.closed_at is not None:
        return
    await q.delete_messages_of(
        conn, conv.id, account_id=conv.respondent_account_id, actor_uri=conv.respondent_actor_uri
    )
    if conv.state not in FINAL:
        await _leave_line(conn, settings, listing, conv, "withdrawn", None)
        await notify(conn, conv.author_id, "withdrawn", conv)
    await q.close_conversation(conn, conv.id, localize(settings.language, Text(line, name=name)))


async def author_left(
    conn, settings: Settings, conv: Conversation, name: str, line: str = LEFT
) -> None:
    """The author of a listing on another node deleted their account: the listing shows
    as withdrawn (it is gone with them). In the caller's transaction."""
    if conv.closed_at is not None:
        return
    await q.delete_messages_of(conn, conv.id, actor_uri=conv.remote_author_uri)
    await q.remote_listing_removed(conn, conv.remote_listing_uri, conv.remote_author_uri)
    await q.close_conversation(conn, conv.id, localize(settings.language, Text(line, name=name)))


# --- reading -------------------------------------------------------------------------------


def author_actions(conv: Conversation, listing_state: str, reserved_id: int | None) -> list[str]:
    """The buttons the author sees next to one answer."""
    if listing_state not in ("open", "reserved") or conv.state in FINAL:
        return []
    if conv.state == "reserved":
        return ["complete", "release", "decline"]
    free = reserved_id is None
    return (["reserve", "complete"] if free else []) + ["decline"]


@dataclass(frozen=True)
class ListingAnswers:
    """The answers part of a listing's page, for one viewer."""

    listing: Listing
    may_manage: bool
    conversations: list[Conversation]  # in line order; only for who manages the listing
    reserved_id: int | None
    mine: Conversation | None  # the viewer's own answer
    position: int | None  # the viewer's place in line, 1 = the front
    may_answer: bool

    def actions(self, conv: Conversation) -> list[str]:
        return author_actions(conv, self.listing.state, self.reserved_id)


async def listing_answers(
    pool: asyncpg.Pool, listing_uid: str, viewer: Account | None
) -> ListingAnswers | None:
    async with pool.acquire() as conn:
        listing = await listings_q.get_listing(conn, listing_uid)
        if listing is None:
            return None
        manages = may_manage(listing, viewer)
        conversations = await q.listing_conversations(conn, listing.id) if manages else []
        mine = await q.find_conversation(conn, listing.id, viewer.id) if viewer else None
        return ListingAnswers(
            listing=listing,
            may_manage=manages,
            conversations=conversations,
            reserved_id=next((c.id for c in conversations if c.state == "reserved"), None),
            mine=mine,
            position=await q.line_position(conn, mine.id)
            if mine and not mine.left_behind
            else None,
            may_answer=bool(viewer and viewer.id != listing.author_id and listing.is_open),
        )


async def conversations_for_listing(
    pool: asyncpg.Pool, author: Account, listing_uid: str
) -> list[Conversation]:
    """A listing's answers in line order, for its author (or an admin)."""
    async with pool.acquire() as conn:
        listing = await listings_q.get_listing(conn, listing_uid)
        if listing is None:
            raise ListingNotFound(NO_SUCH_LISTING)
        if not may_manage(listing, author):
            raise NotAllowed(N_("Only the person who posted this listing can see its answers."))
        return await q.listing_conversations(conn, listing.id)


async def my_answers(pool: asyncpg.Pool, account: Account) -> list[Conversation]:
    """The conversations this account started by answering, newest first."""
    async with pool.acquire() as conn:
        return await q.respondent_conversations(conn, account.id)


@dataclass(frozen=True)
class ConversationView:
    conversation: Conversation
    messages: list[Message]
    may_manage: bool  # the author or an admin: the decisions
    is_respondent: bool
    may_write: bool  # the author or the respondent, unless a block stands between them
    position: int | None
    actions: list[str]
    refused: str | None = None  # why a party may not write: a block
    other_party: str | None = None  # for a party, the other one: "@bob", or a remote URI


async def conversation(
    pool: asyncpg.Pool, account: Account, conversation_id: int
) -> ConversationView:
    """One conversation with its messages, for the author, the respondent or an admin; their
    notifications about it count as read from here on."""
    async with pool.acquire() as conn:
        conv = await _get(conn, conversation_id)
        manages = not conv.is_remote_listing and (account.is_admin or account.id == conv.author_id)
        if not (manages or _is_party(conv, account)):
            raise NotAllowed(NOT_YOURS)
        await notes_q.mark_read(conn, account.id, conv.id)
        reserved = await q.in_state(conn, conv.listing_id, "reserved")
        party = _is_party(conv, account)
        refused = await block_rules.refusal(conn, account, conv) if party else None
        other = block_rules.other_party(conv, account) if party else None
        return ConversationView(
            conversation=conv,
            messages=await q.conversation_messages(conn, conv.id),
            may_manage=manages,
            is_respondent=account.id == conv.respondent_account_id,
            may_write=_is_party(conv, account) and conv.closed_at is None and refused is None,
            position=None if conv.left_behind else await q.line_position(conn, conv.id),
            actions=author_actions(conv, conv.listing_state, reserved.id if reserved else None)
            if manages
            else [],
            refused=refused,
            other_party=(other[1] or other[2]) if other else None,
        )
