"""Withdrawing a transfer of hours across nodes that the other node never answered
(services.timebank_remote proposes them; migration 0048).

Decisions:
- The proposer's node holds the hours of a proposal until the answer comes. An Offer that
  never arrives (its deliveries are given up after 48 hours), or a node that never answers,
  would hold them for ever. So the resident who proposed may withdraw it two days after it
  was sent, and the node withdraws what is still unanswered after seven days (the scheduled
  jobs), telling the resident.
- Withdrawing releases the hold and sends an Undo of the Offer, the Offer embedded whole so
  that the other node can tell what it undoes without having seen it.
- The other node, on the Undo: if it never had the Offer, it records the event as withdrawn,
  and an Offer that comes after moves nothing and is not answered; if it had accepted the
  Offer (its Accept lost or late), it sends its Accept again; a refusal stays as it was.
- An Accept that reaches the proposer after a withdrawal is applied all the same
  (timebank_remote.receive_answer): the other node moved the hours already, and the two
  ledgers must mirror each other.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg

from commonsfed.ap.hours import HoursOffer, embedded_offer, hours_undo_to_ap, node_of
from commonsfed.ap.jsonld import first_id
from commonsfed.ap.uris import LocalUris
from commonsfed.config import Settings
from commonsfed.db import accounts as accounts_q
from commonsfed.db import timebank as ledger_q
from commonsfed.db import timebank_remote as q
from commonsfed.db.timebank_remote import RemoteTransfer
from commonsfed.federation import outbox
from commonsfed.federation.context import Federation
from commonsfed.federation.errors import Refused, Retry
from commonsfed.i18n import Text
from commonsfed.i18n import gettext_noop as N_
from commonsfed.models import Account
from commonsfed.services.errors import NotAllowed, ServiceError
from commonsfed.services.timebank_remote import OfferPlan, answer, sides_of, verify_offer

# by then the Offer's deliveries have arrived or been given up (federation.delivery's
# RETRY_WINDOW), and an answer sent at once has had as long to come back
WITHDRAWABLE_AFTER = timedelta(days=2)
GIVEN_UP_AFTER = timedelta(days=7)  # the node withdraws what is still unanswered


# --- the proposer --------------------------------------------------------------------------


async def withdraw(
    fed: Federation, account: Account, event_id: str, now: datetime | None = None
) -> None:
    """The resident withdraws their proposal `event_id`, unanswered for two days."""
    now = now or datetime.now(UTC)
    async with fed.pool.acquire() as conn, conn.transaction():
        row = await q.get(conn, event_id, for_update=True)
        if row is None or row.role != "proposer" or row.local_account_id != account.id:
            raise NotAllowed(Text(N_("There is no such proposal of yours.")))
        if row.state != "proposed":
            raise ServiceError(Text(N_("This proposal is no longer waiting for an answer.")))
        if not may_withdraw(row, now):
            raise ServiceError(Text(N_(
                "Their node may still answer: a proposal can be withdrawn two days after "
                "it was sent."
            )))  # fmt: skip
        await _withdraw(conn, fed.settings, account, row)


def may_withdraw(row: RemoteTransfer, now: datetime) -> bool:
    return (row.role == "proposer" and row.state == "proposed" and row.created_at is not None
            and now - row.created_at >= WITHDRAWABLE_AFTER)  # fmt: skip


def withdrawable(rows: list[RemoteTransfer], now: datetime | None = None) -> set[str]:
    """The events of `rows` their resident may withdraw now."""
    now = now or datetime.now(UTC)
    return {row.event_id for row in rows if may_withdraw(row, now)}


async def withdraw_due(pool: asyncpg.Pool, settings: Settings, now: datetime) -> int:
    """Withdraw the proposals unanswered for seven days, each in its own transaction, and
    tell their residents; how many."""
    async with pool.acquire() as conn:
        due = await q.waiting(conn, now - GIVEN_UP_AFTER)
    done = 0
    for event_id in due:
        async with pool.acquire() as conn, conn.transaction():
            row = await q.get(conn, event_id, for_update=True)
            if row is None or row.state != "proposed":
                continue  # answered meanwhile
            account = await accounts_q.get_account(conn, row.local_account_id or 0)
            await _withdraw(conn, settings, account, row)
            await q.notify(conn, row.local_account_id, row.remote_actor)
            done += 1
    return done


async def _withdraw(
    conn: asyncpg.Connection, settings: Settings, account: Account | None, row: RemoteTransfer
) -> None:
    await q.withdraw(conn, row.event_id)
    if account is None:
        return  # the resident's account is gone: nobody signs an Undo
    sides = await sides_of(conn, account, row.node, row.local_pays)
    await ledger_q.lock_accounts(conn, [sides.from_account, sides.to_account])
    await ledger_q.release(conn, sides.from_account, sides.to_account, row.hours)
    me = LocalUris(settings.base_url).user(account.username)
    provider, receiver = (me, row.remote_actor) if row.local_pays else (row.remote_actor, me)
    offer = HoursOffer(
        offer_id=row.offer_id, actor_uri=me, event_id=row.event_id, provider=provider,
        receiver=receiver, hours=row.hours,
    )  # fmt: skip
    undo = hours_undo_to_ap(undo_id=f"{row.offer_id}/undo", offer=offer, to_uri=row.remote_actor)
    await outbox.publish(conn, settings, undo)  # to the inbox of the actor cached when proposed


# --- the other node ------------------------------------------------------------------------


async def verify_undo(fed: Federation, activity: dict[str, Any]) -> OfferPlan | None:
    """The Undo of an Offer of hours: checked as the Offer itself would be; None when the
    event was refused or withdrawn here already (nothing to do)."""
    inner = embedded_offer(activity)
    if inner is None or first_id(inner.get("actor")) != activity.get("actor"):
        raise Refused("Undo of an Offer someone else sent")
    plan = await verify_offer(fed, inner)
    if plan.earlier is not None and plan.earlier.state != "accepted":
        return None
    return plan


async def receive_undo(
    conn: asyncpg.Connection, fed: Federation, activity: dict[str, Any], plan: OfferPlan
) -> None:
    if plan.earlier is not None:  # accepted before the Undo came: say so again
        await answer(conn, fed, plan, "accepted", "")
        return
    offer = plan.offer
    inserted = await q.insert(conn, RemoteTransfer(
        event_id=offer.event_id, role="responder", state="withdrawn",
        node=node_of(offer.actor_uri), local_account_id=plan.account.id,
        local_pays=plan.local_pays, remote_actor=offer.actor_uri, hours=offer.hours,
        offer_id=offer.offer_id, answer_id=None, reason="", transfer_id=None,
    ))  # fmt: skip
    if not inserted:  # the Offer is being answered by another delivery: undo it after
        raise Retry(f"{offer.event_id} is being answered by another delivery")
