"""The hours of a completed service: confirmed by its listing's author, disputed by the other
party within seven days, settled by a moderator.

Decisions:
- Who gives and who receives follows the listing: an offer's author gives the service (the
  respondent receives it and pays the hours), a request's author receives it (the respondent
  gives it and is paid). Either way the author confirms the hours, once the exchange is
  completed; the hours move at once (services.timebank, within the node's limits), and the
  respondent may dispute them for DISPUTE_DAYS.
- Only service listings (the time bank's kind). With a respondent of a sibling node (who
  answered with an Offer, so their node keeps hours) the hours are proposed to their node
  (services.timebank_remote) and move when it accepts; refused there, the author may
  confirm again. That respondent disputes nothing here (their node has the say for them).
- A moderator settles a dispute by saying which hours stand (from 0, when nothing should
  have moved, to the hours confirmed or more): the difference moves as a correction, within
  the limits, and the moderation log has the line, in the same transaction. A moderator who
  is a party settles nothing of their own.
- Both parties are told at each step (notifications hours_recorded, hours_disputed,
  hours_settled, about the conversation).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

import asyncpg

from commonsfed.config import Settings
from commonsfed.db import answers as answers_q
from commonsfed.db import listings as listings_q
from commonsfed.db import notifications as notes_q
from commonsfed.db import timebank as ledger_q
from commonsfed.db import timebank_exchanges as q
from commonsfed.db.answers import Conversation
from commonsfed.db.timebank_exchanges import Exchange
from commonsfed.federation.context import Federation
from commonsfed.i18n import Text
from commonsfed.i18n import gettext_noop as N_
from commonsfed.models import Account, Listing
from commonsfed.services import moderation_log, timebank, timebank_remote
from commonsfed.services.errors import NotAllowed, ServiceError, ValidationError
from commonsfed.services.timebank import Limits, Transfer

DISPUTE_DAYS = 7
MAX_REASON = 1000
KIND = "service"  # the listings whose exchanges are counted in hours


class ExchangeNotFound(ServiceError):
    """No such conversation, or no hours recorded for it."""


@dataclass(frozen=True)
class ExchangeView:
    """The time bank's part of a conversation page."""

    exchange: Exchange | None
    may_confirm: bool  # the author, once completed, before any hours are recorded
    may_dispute: bool  # the respondent, while the hours are recorded and the window open
    author_gives: bool  # an offer: the author gives the service and gets the hours
    suggested: str  # the listing's hours, to start the form with


async def for_conversation(
    pool: asyncpg.Pool, account: Account, conv: Conversation
) -> ExchangeView | None:
    """None where the time bank has no part: not a service, another node's listing, or a
    reader who is not a party nor a moderator."""
    if conv.listing_uid is None or not (conv.respondent_account_id or _across(conv)):
        return None
    party = account.id in (conv.author_id, conv.respondent_account_id)
    if not (party or account.is_moderator):
        return None
    async with pool.acquire() as conn:
        listing = await listings_q.get_listing(conn, conv.listing_uid)
        if listing is None or listing.kind != KIND:
            return None
        exchange = await q.for_conversation(conn, conv.id)
    return ExchangeView(
        exchange=exchange,
        may_confirm=_confirmable(conv, account)
        and (exchange is None or exchange.remote_state in timebank_remote.UNDONE),
        may_dispute=exchange is not None and _disputable(exchange, conv, account),
        author_gives=listing.purpose == "offer",
        suggested=_suggested(listing),
    )


def _across(conv: Conversation) -> bool:
    """A respondent of a sibling node, whose node answered with an Offer: it keeps hours
    too (a Mastodon user's server would never answer our Offer of hours)."""
    return bool(conv.respondent_actor_uri) and conv.answered_with == "offer"


def _confirmable(conv: Conversation, account: Account) -> bool:
    return account.id == conv.author_id and conv.state == "completed" and conv.closed_at is None


def _disputable(exchange: Exchange, conv: Conversation, account: Account) -> bool:
    return (
        account.id == conv.respondent_account_id
        and exchange.state == "recorded"
        and datetime.now(UTC) < exchange.dispute_until
    )


def _suggested(listing: Listing) -> str:
    hours = listing.details.get("hours")
    return f"{hours:g}" if isinstance(hours, int | float) else ""


def _sides(listing: Listing, conv: Conversation) -> tuple[int, int]:
    """(giver, receiver) account ids: the service's giver gets the hours."""
    author, respondent = conv.author_id, conv.respondent_account_id
    assert author is not None and respondent is not None
    return (author, respondent) if listing.purpose == "offer" else (respondent, author)


async def _conversation(conn, conversation_id: int) -> tuple[Listing, Conversation]:
    """The listing locked (as services.answers orders its changes), then the conversation."""
    conv = await answers_q.get_conversation(conn, conversation_id)
    if conv is None or conv.listing_uid is None:
        raise ExchangeNotFound(N_("There is no such conversation."))
    listing = await listings_q.get_listing(conn, conv.listing_uid, for_update=True)
    return listing, conv


async def confirm(
    pool: asyncpg.Pool,
    settings: Settings,
    author: Account,
    conversation_id: int,
    text: str,
    fed: Federation | None = None,
) -> Exchange:
    """The author confirms the hours of a completed service: they move at once here, or are
    proposed to the node of a respondent of a sibling node (`fed` needed then)."""
    hours = timebank.parse_hours(text)
    other = await _remote_party(pool, fed, conversation_id)
    async with pool.acquire() as conn, conn.transaction():
        listing, conv = await _conversation(conn, conversation_id)
        _check_confirmable(listing, conv, author)
        await _clear_refused(conn, conv.id)
        if other is None:
            exchange_id = await _confirm_here(conn, settings, author, listing, conv, hours)
        else:
            assert fed is not None
            exchange_id = await _confirm_across(conn, fed, author, listing, conv, hours, other)
        if exchange_id is None:  # a second confirmation racing the first: roll it back
            raise NotAllowed(RECORDED)
        return await q.get(conn, exchange_id)


async def _remote_party(pool, fed: Federation | None, conversation_id: int):
    """The respondent's actor when they are of a sibling node (fetched before the
    transaction), else None."""
    async with pool.acquire() as conn:
        conv = await answers_q.get_conversation(conn, conversation_id)
    if conv is None or conv.respondent_account_id is not None or not _across(conv):
        return None
    if fed is None:
        raise NotAllowed(ACROSS)
    return await timebank_remote.remote_person(fed, str(conv.respondent_actor_uri))


async def _clear_refused(conn, conversation_id: int) -> None:
    """Hours already confirmed: refused, unless the other node refused them (then the
    author may confirm again, fewer hours perhaps)."""
    existing = await q.for_conversation(conn, conversation_id)
    if existing is None:
        return
    if existing.remote_state not in timebank_remote.UNDONE:
        raise NotAllowed(RECORDED)
    await q.delete(conn, existing.id)


async def _confirm_here(conn, settings, author, listing, conv, hours: Decimal) -> int | None:
    giver, receiver = _sides(listing, conv)
    transfer_id = await timebank.transfer(conn, Limits.of(settings), Transfer(
        from_account=await ledger_q.resident_account(conn, receiver),
        to_account=await ledger_q.resident_account(conn, giver),
        hours=hours, reason="exchange", from_label=_name(conv, receiver),
        to_label=_name(conv, giver), conversation_id=conv.id, created_by=author.id,
    ))  # fmt: skip
    exchange_id = await q.insert(
        conn, conv.id, giver, receiver, hours, DISPUTE_DAYS, transfer_id=transfer_id
    )
    if exchange_id is not None:
        await notes_q.insert_notification(
            conn, conv.respondent_account_id, "hours_recorded", listing.id, conv.id
        )
    return exchange_id


async def _confirm_across(conn, fed, author, listing, conv, hours, other) -> int | None:
    """The author gives (an offer: the respondent pays) or receives (a request: the author
    pays); the respondent's node answers the proposal."""
    author_gives = listing.purpose == "offer"
    event_id = await timebank_remote.propose_within(
        conn, fed, author, other, hours, local_pays=not author_gives
    )
    giver, receiver = (author.id, None) if author_gives else (None, author.id)
    return await q.insert(conn, conv.id, giver, receiver, hours, DISPUTE_DAYS, event_id=event_id)


ACROSS = N_("The hours of an exchange with someone of another node are not kept here.")
RECORDED = N_("The hours of this exchange are recorded already.")


def _check_confirmable(listing: Listing, conv: Conversation, author: Account) -> None:
    if author.id != conv.author_id:
        raise NotAllowed(N_("Only the person who posted this listing confirms its hours."))
    if listing.kind != KIND:
        raise NotAllowed(N_("Only the hours of a service are kept in the time bank."))
    if conv.respondent_account_id is None and not _across(conv):
        raise NotAllowed(ACROSS)
    if conv.state != "completed" or conv.closed_at is not None:
        raise NotAllowed(N_("Mark the exchange completed first; then confirm its hours."))


def _name(conv: Conversation, account_id: int) -> str:
    if account_id == conv.author_id:
        return f"@{conv.author_username}"
    return conv.respondent_name


async def dispute(
    pool: asyncpg.Pool, settings: Settings, account: Account, conversation_id: int, reason: str
) -> None:
    """The respondent disputes the hours recorded; a moderator settles it."""
    reason = reason.strip()
    if not 1 <= len(reason) <= MAX_REASON:
        raise ValidationError({"reason": Text(
            N_("Say in 1 to %(limit)s characters what is wrong with these hours."),
            limit=MAX_REASON)})  # fmt: skip
    async with pool.acquire() as conn, conn.transaction():
        _listing, conv = await _conversation(conn, conversation_id)
        exchange = await q.for_conversation(conn, conversation_id, for_update=True)
        if exchange is None:
            raise ExchangeNotFound(N_("No hours are recorded for this exchange."))
        if account.id != conv.respondent_account_id:
            raise NotAllowed(N_("Only the person who answered can dispute these hours."))
        if exchange.state != "recorded":
            raise NotAllowed(N_("These hours are disputed already."))
        if datetime.now(UTC) >= exchange.dispute_until:
            raise NotAllowed(
                Text(N_("Hours can be disputed for %(days)s days only."), days=DISPUTE_DAYS)
            )
        await q.set_disputed(conn, exchange.id, reason)
        await notes_q.insert_notification(
            conn, conv.author_id, "hours_disputed", exchange_listing_id(conv), conv.id
        )


def exchange_listing_id(conv: Conversation) -> int:
    assert conv.listing_id is not None
    return conv.listing_id


async def disputes(pool: asyncpg.Pool, moderator: Account) -> list[Exchange]:
    if not moderator.is_moderator:
        raise NotAllowed(N_("Only the node's moderators settle disputes."))
    async with pool.acquire() as conn:
        return await q.disputed(conn)


async def settle(
    pool: asyncpg.Pool,
    settings: Settings,
    moderator: Account,
    exchange_id: int,
    text: str,
    reason: str,
) -> Exchange:
    """A moderator says which hours stand; the difference moves back or forth."""
    if not moderator.is_moderator:
        raise NotAllowed(N_("Only the node's moderators settle disputes."))
    hours = Decimal(0) if text.strip() in ("0", "0.0", "0.00") else timebank.parse_hours(text)
    async with pool.acquire() as conn, conn.transaction():
        exchange = await _disputed(conn, exchange_id, moderator)
        conv = await answers_q.get_conversation(conn, exchange.conversation_id)
        await _correct(conn, settings, moderator, exchange, hours)
        await q.set_settled(conn, exchange.id, hours, moderator.id)
        await moderation_log.record(
            conn, moderator, "settle_hours", "listing", exchange.listing_uid or "", reason,
            details={"conversation": exchange.conversation_id,
                     "from": str(exchange.hours), "to": str(hours)},
        )  # fmt: skip
        for party in {exchange.giver_id, exchange.receiver_id} - {None}:
            await notes_q.insert_notification(
                conn, party, "hours_settled", exchange_listing_id(conv), conv.id
            )
        return await q.get(conn, exchange.id)


async def _disputed(conn, exchange_id: int, moderator: Account) -> Exchange:
    exchange = await q.get(conn, exchange_id, for_update=True)
    if exchange is None:
        raise ExchangeNotFound(N_("There is no such dispute."))
    if exchange.state != "disputed":
        raise NotAllowed(N_("This dispute is settled already."))
    if moderator.id in (exchange.giver_id, exchange.receiver_id):
        raise NotAllowed(N_("Another moderator settles a dispute of yours."))
    return exchange


async def _correct(conn, settings: Settings, moderator: Account, x: Exchange, hours: Decimal):
    """Move the difference between the hours that moved and those that stand."""
    delta = hours - x.hours
    if delta == 0 or x.giver_id is None or x.receiver_id is None:
        return
    giver = await ledger_q.resident_account(conn, x.giver_id)
    receiver = await ledger_q.resident_account(conn, x.receiver_id)
    back = delta < 0  # fewer hours stand: the giver gives some back
    await timebank.transfer(conn, Limits.of(settings), Transfer(
        from_account=giver if back else receiver, to_account=receiver if back else giver,
        hours=abs(delta), reason="correction",
        from_label=f"@{x.giver_name if back else x.receiver_name}",
        to_label=f"@{x.receiver_name if back else x.giver_name}",
        conversation_id=x.conversation_id, created_by=moderator.id,
    ))  # fmt: skip
