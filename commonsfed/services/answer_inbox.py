"""Inbound handlers that need the answers' line (services.answers), which the federation
layer may not import: the entry points give the node this table (`node_handlers`) through
open_federation, and the federation code looks handlers up there.

- Undo of an Offer that answered a local listing: the remote respondent leaves the line, as a
  local one who withdraws does (a reservation they held is released and passes on).
- Delete of an actor by itself (a deleted account): besides what federation forgets of it
  (its cached actor, objects, follows), its answers and messages here go and its
  conversations close with a line that says so; where it was in a listing's line, the line
  moves on as after a withdrawal; the thanks it wrote go; its loan bookings are cancelled.
- Thanks from other nodes (federation.thanks) go in front of the Create, Update and Delete
  of Notes.
- Hours across nodes (services.timebank_remote): the Offer of an EconomicEvent, and its
  Accept, Reject and Undo (services.timebank_withdrawal) in front of those of a listing's
  Offer: an activity of the time bank embeds its Offer with the EconomicEvent.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import asyncpg

from commonsfed.ap.actors import ACTOR_TYPES
from commonsfed.ap.hours import EVENT, embeds_hours_offer
from commonsfed.ap.jsonld import first_id
from commonsfed.db import actors as actors_q
from commonsfed.db import answers as q
from commonsfed.db import loans as loans_q
from commonsfed.db import thanks as thanks_q
from commonsfed.federation.context import Federation
from commonsfed.federation.errors import Refused
from commonsfed.federation.handlers import (
    HANDLERS,
    Handler,
    receive_delete_actor,
    verify_delete_actor,
)
from commonsfed.federation.thanks import with_thanks
from commonsfed.services import answers, offer_inbox, pledges, timebank_remote
from commonsfed.services import timebank_withdrawal as withdrawal
from commonsfed.services.listing_federation import publish_updated


def node_handlers() -> dict[tuple[str, str | None], Handler]:
    """The node's inbound handler table: federation's own, and these."""
    departure = Handler(verify_delete_actor, receive_departure)
    return with_timebank(with_thanks({
        **HANDLERS,
        ("Undo", "Offer"): Handler(verify_undo_offer, receive_undo_offer),
        ("Offer", "Agreement"): offer_inbox.HANDLER,  # loans book days; else an answer
        **{("Delete", kind): departure for kind in ACTOR_TYPES},
    }))  # fmt: skip


async def verify_undo_offer(fed: Federation, activity: dict[str, Any]) -> int | None:
    actor = activity["actor"]
    inner = activity["object"]
    if isinstance(inner, dict) and first_id(inner.get("actor")) != actor:
        raise Refused("Undo of an activity someone else sent")
    offer_id = first_id(inner)
    async with fed.pool.acquire() as conn:
        conv = await q.conversation_by_ap_id(conn, offer_id) if offer_id else None
    if conv is None or conv.is_remote_listing or conv.ap_id != offer_id:
        raise Refused(f"{offer_id} is not an Offer that answered a listing here")
    if conv.respondent_actor_uri != actor:
        raise Refused("only the actor who sent an Offer may take it back")
    return None if conv.state in answers.FINAL else conv.id


async def receive_undo_offer(
    conn: asyncpg.Connection, fed: Federation, activity: dict[str, Any], conversation_id: int
) -> None:
    await answers.withdrawn_remotely(conn, fed.settings, conversation_id)


async def receive_departure(
    conn: asyncpg.Connection, fed: Federation, activity: dict[str, Any], uri: str
) -> None:
    """A remote actor deleted itself (`verify_delete_actor` checked it is its own Delete)."""
    cached = await actors_q.get_remote_actor(conn, uri)  # named before it is forgotten
    name = cached.handle if cached is not None and cached.preferred_username else uri
    for conv in await q.conversations_of_actor(conn, uri):
        if conv.is_remote_listing:
            await answers.author_left(conn, fed.settings, conv, name)
        else:
            await answers.respondent_left(conn, fed.settings, conv.id, name)
    await thanks_q.delete_by_writer(conn, uri)
    # its bookings free the lenders' calendars, whose Updates say so
    for uid in await loans_q.cancel_of_actor(conn, uri):
        await publish_updated(conn, fed.settings, uid)
    await pledges.release_of_actor(conn, fed.settings, uri)  # and its pledges, their counts
    await receive_delete_actor(conn, fed, activity, uri)


# --- the time bank's pairs -----------------------------------------------------------------


@dataclass(frozen=True)
class _Hours:
    """The plan of the time bank's handler, in front of another."""

    plan: Any


def _hours_first(mine: Handler, theirs: Handler) -> Handler:
    """`mine` for an activity that embeds an Offer of hours, `theirs` for the others (the
    same pair of types about a listing's Offer)."""

    async def verify(fed: Federation, activity: dict[str, Any]) -> Any:
        if embeds_hours_offer(activity):
            plan = await mine.verify(fed, activity)
            return None if plan is None else _Hours(plan)
        return await theirs.verify(fed, activity)

    async def receive(conn, fed: Federation, activity: dict[str, Any], plan: Any) -> None:
        if isinstance(plan, _Hours):
            await mine.receive(conn, fed, activity, plan.plan)
        else:
            await theirs.receive(conn, fed, activity, plan)

    return Handler(verify, receive)


def with_timebank(table: dict[tuple[str, str | None], Handler]) -> dict:
    """`table` with the time bank's pairs."""
    answer = Handler(timebank_remote.verify_answer, timebank_remote.receive_answer)
    undo = Handler(withdrawal.verify_undo, withdrawal.receive_undo)
    return {
        **table,
        ("Offer", EVENT): Handler(timebank_remote.verify_offer, timebank_remote.receive_offer),
        ("Accept", "Offer"): _hours_first(answer, table[("Accept", "Offer")]),
        ("Reject", "Offer"): _hours_first(answer, table[("Reject", "Offer")]),
        ("Undo", "Offer"): _hours_first(undo, table[("Undo", "Offer")]),
    }
