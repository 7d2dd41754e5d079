"""Hours across nodes, as the Credit Commons model moves them: each node keeps a clearing
account per sibling node, and a transfer between a resident here and one of a sibling node
moves hours between the resident's account and that node's clearing account, on each node.

Decisions:
- The node of the resident who starts the transfer proposes it: an Offer of a ValueFlows
  EconomicEvent (ap.hours), signed by that resident's actor. The proposer applies nothing
  yet: it checks its limits and holds the hours on both its accounts (they count against
  every other transfer's limits), so the Accept always fits when it comes.
- The other node checks its own limits and, in one transaction, applies the transfer and
  queues its Accept, or records the refusal and queues a Reject with the reason. The
  proposer then applies (Accept) or releases (Reject) its hold: either both nodes apply the
  transfer or neither does, and the clearing balances mirror each other.
- Exactly once on each side, by the event's id: the ledger's transfers have it UNIQUE, and a
  row per event records what was decided. An Offer delivered again (or proposed again under
  a new Offer id) gets the same answer again and changes nothing; an Accept or Reject
  delivered again changes nothing; one that answers an event this node never proposed, or
  answers it otherwise than it already was, or comes from someone else than the resident
  it was proposed to, is refused.
- A proposal the other node never answers can be withdrawn (services.timebank_withdrawal);
  an Accept that comes after the withdrawal is applied all the same.
- The inbound half follows the handler table's split: `verify_*` only read (and refuse with
  a reason), `receive_*` write in the one transaction the inbox opens.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import asyncpg

from commonsfed.ap.activities import same_host
from commonsfed.ap.actors import RemoteActor
from commonsfed.ap.hours import (
    HoursAnswer,
    HoursOffer,
    hours_answer_from_ap,
    hours_answer_to_ap,
    hours_offer_from_ap,
    hours_offer_to_ap,
    node_of,
)
from commonsfed.db import accounts as accounts_q
from commonsfed.db import timebank as ledger_q
from commonsfed.db import timebank_remote as q
from commonsfed.db.timebank import Posting
from commonsfed.db.timebank_remote import RemoteTransfer
from commonsfed.federation import outbox
from commonsfed.federation.actors import get_actor, lookup
from commonsfed.federation.context import Federation
from commonsfed.federation.errors import Refused, Retry, fetch_failure
from commonsfed.federation.fetch import FetchError
from commonsfed.i18n import Text, localize
from commonsfed.i18n import gettext_noop as N_
from commonsfed.models import Account
from commonsfed.services import timebank
from commonsfed.services.errors import NotAllowed, ServiceError, ValidationError
from commonsfed.services.timebank import CENT, MAX_HOURS, Limits, Transfer, TransferRefused

# a proposal in these states moved nothing: its hours may be recorded again
UNDONE = frozenset({"rejected", "withdrawn"})


@dataclass(frozen=True)
class Sides:
    """A transfer's two accounts on this node: from (pays) and to (gets)."""

    from_account: int
    to_account: int
    from_label: str
    to_label: str


async def sides_of(conn, account: Account, node: str, local_pays: bool) -> Sides:
    local = await ledger_q.resident_account(conn, account.id)
    clearing = await ledger_q.clearing_account(conn, node)
    name = f"@{account.username}"
    if local_pays:
        return Sides(local, clearing, name, node)
    return Sides(clearing, local, node, name)


# --- proposing -----------------------------------------------------------------------------


async def propose(
    fed: Federation, account: Account, remote: str, text: str, *, local_pays: bool = True
) -> str:
    """Propose that `account` pays (or, `local_pays` False, is paid) hours to (by) the
    resident of a sibling node `remote` (@name@host or an actor URI); the event's id.
    TransferRefused when a limit here would be passed: then nothing is held nor sent."""
    hours = timebank.parse_hours(text)
    other = await remote_person(fed, remote)
    async with fed.pool.acquire() as conn, conn.transaction():
        return await propose_within(conn, fed, account, other, hours, local_pays)


async def propose_within(
    conn: asyncpg.Connection, fed: Federation, account: Account, other: RemoteActor,
    hours: Decimal, local_pays: bool,
) -> str:  # fmt: skip
    """`propose` in the caller's transaction, to an actor fetched before it."""
    key = uuid.uuid4()
    event_id = f"{fed.settings.base_url}/hours/{key}"
    offer_id = f"{event_id}/offer"
    me = fed.uris.user(account.username)
    provider, receiver = (me, other.uri) if local_pays else (other.uri, me)
    sides = await sides_of(conn, account, other.domain, local_pays)
    await timebank.check(conn, Limits.of(fed.settings), _transfer(sides, hours, event_id))
    await ledger_q.hold(conn, sides.from_account, sides.to_account, hours)
    await q.insert(conn, RemoteTransfer(
        event_id=event_id, role="proposer", state="proposed", node=other.domain,
        local_account_id=account.id, local_pays=local_pays, remote_actor=other.uri,
        hours=hours, offer_id=offer_id, answer_id=None, reason="", transfer_id=None,
    ))  # fmt: skip
    offer = hours_offer_to_ap(
        offer_id=offer_id, event_id=event_id, actor_uri=me, to_uri=other.uri,
        provider=provider, receiver=receiver, hours=hours,
    )  # fmt: skip
    # the inbox publish() finds for the `to`, so there is one delivery, not two
    inbox = other.shared_inbox or other.inbox
    await outbox.publish(conn, fed.settings, offer, extra_inboxes=[inbox])
    return event_id


async def remote_person(fed: Federation, who: str) -> RemoteActor:
    """The actor of @name@host or of its URI, fetched (or cached)."""
    who = who.strip()
    if not re.fullmatch(r"@?[^@\s/]+@[^@\s/]+|https?://\S+", who):
        raise ValidationError({"to": Text(N_("Give their address, such as @bob@example.org."))})
    if fed.uris.is_local(who) or who.lower().endswith("@" + fed.settings.domain.lower()):
        raise NotAllowed(N_("This is a resident of this node: move hours to them here."))
    try:
        actor = await (get_actor(fed, who) if who.startswith(("https://", "http://"))
                       else lookup(fed, who))  # fmt: skip
    except FetchError as exc:
        raise ServiceError(
            Text(N_("That node cannot be reached right now (%(reason)s)."), reason=exc.message)
        ) from exc
    if actor.type != "Person":
        raise NotAllowed(N_("Hours move only between people."))
    return actor


def _transfer(sides: Sides, hours: Decimal, event_id: str) -> Transfer:
    return Transfer(
        from_account=sides.from_account, to_account=sides.to_account, hours=hours,
        reason="remote", from_label=sides.from_label, to_label=sides.to_label,
        event_id=event_id,
    )  # fmt: skip


# --- the other node's Offer ----------------------------------------------------------------


@dataclass(frozen=True)
class OfferPlan:
    offer: HoursOffer
    account: Account  # the resident here
    local_pays: bool
    inbox: str  # the proposer's resident's
    earlier: RemoteTransfer | None  # the same event, answered before: answer the same again


async def verify_offer(fed: Federation, activity: dict[str, Any]) -> OfferPlan:
    offer = hours_offer_from_ap(activity)
    if offer is None:
        raise Refused("an Offer of an EconomicEvent of hours needs an id, action transfer, "
                      "resourceQuantity in hours, a provider and a receiver")  # fmt: skip
    if not same_host(offer.event_id, offer.actor_uri):
        raise Refused("the EconomicEvent's id must be on its proposer's host")
    if offer.actor_uri not in (offer.provider, offer.receiver):
        raise Refused("only the provider or the receiver proposes a transfer")
    local_uri = offer.receiver if offer.actor_uri == offer.provider else offer.provider
    if not 0 < offer.hours <= MAX_HOURS or offer.hours != offer.hours.quantize(CENT):
        raise Refused(f"hours must be above 0 and at most {MAX_HOURS}, in hundredths")
    account = await _local_resident(fed, local_uri)
    async with fed.pool.acquire() as conn:
        earlier = await q.get(conn, offer.event_id)
    if earlier is not None and earlier.role != "responder":
        raise Refused(f"{offer.event_id} is a transfer this node proposed")
    sender = await _actor(fed, offer.actor_uri)
    return OfferPlan(offer, account, local_uri == offer.provider,
                     sender.shared_inbox or sender.inbox, earlier)  # fmt: skip


async def _local_resident(fed: Federation, uri: str) -> Account:
    name = fed.uris.local_username(uri) if fed.uris.is_local(uri) else None
    async with fed.pool.acquire() as conn:
        account = await accounts_q.get_by_username(conn, name) if name else None
    if account is None or not account.is_active:
        raise Refused(f"{uri} is not a resident of this node")
    return account


async def _actor(fed: Federation, uri: str):
    try:
        return await get_actor(fed, uri)
    except FetchError as exc:
        raise fetch_failure(exc) from exc


async def receive_offer(
    conn: asyncpg.Connection, fed: Federation, activity: dict[str, Any], plan: OfferPlan
) -> None:
    """Apply the transfer and Accept, or Reject with the reason; the same answer again for
    an event answered before."""
    offer = plan.offer
    if plan.earlier is not None:
        if plan.earlier.state != "withdrawn":  # withdrawn before it came: nothing moves
            await answer(conn, fed, plan, plan.earlier.state, plan.earlier.reason)
        return
    sides = await sides_of(conn, plan.account, node_of(offer.actor_uri), plan.local_pays)
    transfer_id, reason = None, ""
    try:
        transfer_id = await timebank.transfer(
            conn, Limits.of(fed.settings), _transfer(sides, offer.hours, offer.event_id)
        )
    except TransferRefused as exc:
        # in the node's language, as every answer to another node (services.pledges)
        reason = localize(fed.settings.language, exc.args[0] if exc.args else str(exc))
    state = "accepted" if transfer_id else "rejected"
    answer_id = await answer(conn, fed, plan, state, reason)
    inserted = await q.insert(conn, RemoteTransfer(
        event_id=offer.event_id, role="responder", state=state,
        node=node_of(offer.actor_uri), local_account_id=plan.account.id,
        local_pays=plan.local_pays, remote_actor=offer.actor_uri, hours=offer.hours,
        offer_id=offer.offer_id, answer_id=answer_id, reason=reason, transfer_id=transfer_id,
    ))  # fmt: skip
    if not inserted:  # another delivery of the event decided first: answer as it did, later
        raise Retry(f"{offer.event_id} is being answered by another delivery")
    if transfer_id:
        await q.notify(conn, plan.account.id, offer.actor_uri)


async def answer(conn, fed: Federation, plan: OfferPlan, state: str, reason: str) -> str:
    answer_id = f"{fed.settings.base_url}/hours/answers/{uuid.uuid4()}"
    answer = hours_answer_to_ap(
        "Accept" if state == "accepted" else "Reject", answer_id=answer_id,
        actor_uri=fed.uris.user(plan.account.username), offer=plan.offer, reason=reason,
    )  # fmt: skip
    await outbox.publish(conn, fed.settings, answer, extra_inboxes=[plan.inbox])
    return answer_id


# --- the answer to our Offer ---------------------------------------------------------------


async def verify_answer(fed: Federation, activity: dict[str, Any]) -> HoursAnswer | None:
    answer = hours_answer_from_ap(activity)
    if answer is None:
        raise Refused("an answer to an Offer of hours needs ids for itself, the Offer and "
                      "its EconomicEvent")  # fmt: skip
    async with fed.pool.acquire() as conn:
        row = await q.get(conn, answer.event_id)
    if row is None or row.role != "proposer":
        raise Refused(f"{answer.event_id} is not a transfer this node proposed")
    if row.remote_actor != answer.actor_uri or row.offer_id != answer.offer_id:
        raise Refused("only the resident a transfer was proposed to answers it")
    decided = {"accepted": "Accept", "rejected": "Reject"}.get(row.state)
    if decided is None:
        return answer
    if decided == answer.kind:
        return None  # answered so already: a delivery again
    raise Refused(f"{answer.event_id} was answered with {decided} already")


async def receive_answer(
    conn: asyncpg.Connection, fed: Federation, activity: dict[str, Any], answer: HoursAnswer
) -> None:
    row = await q.get(conn, answer.event_id, for_update=True)
    if row is None or row.state not in ("proposed", "withdrawn"):
        return  # another delivery of an answer got here first
    account = await accounts_q.get_account(conn, row.local_account_id or 0)
    if account is None:
        raise Refused("the resident of this transfer deleted their account")
    sides = await sides_of(conn, account, row.node, row.local_pays)
    locked = await ledger_q.lock_accounts(conn, [sides.from_account, sides.to_account])
    if row.state == "proposed":  # a withdrawal released the hold already
        await ledger_q.release(conn, sides.from_account, sides.to_account, row.hours)
    if answer.kind == "Reject":
        await q.decide(conn, row.event_id, "rejected", answer.answer_id, answer.reason)
        if row.state == "proposed":
            await q.notify(conn, row.local_account_id, row.remote_actor)
        return
    await q.notify(conn, row.local_account_id, row.remote_actor)
    payer, payee = locked[sides.from_account], locked[sides.to_account]
    # no limit is checked: the hold kept room for it; an Accept of a withdrawn proposal (the
    # other node applied it before the Undo reached it) is applied all the same, so that the
    # two ledgers mirror each other
    transfer_id = await ledger_q.post(conn, Posting(
        from_account=payer.id, to_account=payee.id, hours=row.hours, reason="remote",
        from_balance=payer.balance - row.hours, to_balance=payee.balance + row.hours,
        event_id=row.event_id,
    ))  # fmt: skip
    await q.decide(conn, row.event_id, "accepted", answer.answer_id, transfer_id=transfer_id)
