"""FEP-0837 Offers that do more than answer: on a lend listing, an Offer with `startTime`
and `endTime` books those days of its calendar (services.loans); on a group purchase or a
pay-it-forward offer, an Offer with a quantity is a pledge or a claim (services.pledges); on
a neighbourhood project, an Offer for one of its needs is a pledge (services.project_outcomes).
Every other Offer is an answer, as federation.answers has it.

The days are checked here, on the listing's node, in the transaction that books them: a
clash, days in the past or in the wrong order get a Reject whose content says why, and
nothing is kept of the Offer.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import asyncpg

from commonsfed.ap.agreements import agreement_reject_to_ap, offer_days
from commonsfed.ap.projects import need_index
from commonsfed.ap.uris import LocalUris
from commonsfed.db import blocks as blocks_q
from commonsfed.db import listings as listings_q
from commonsfed.db import loans as loans_q
from commonsfed.db import pledges as pledges_q
from commonsfed.db import projects as projects_q
from commonsfed.federation import answers as answers_in
from commonsfed.federation import outbox
from commonsfed.federation.context import Federation
from commonsfed.federation.handlers import Handler
from commonsfed.i18n import gettext_noop as N_
from commonsfed.i18n import localize
from commonsfed.services import loans, pledges, project_outcomes

# the Offers that book days or count towards something, not plain answers
COUNTING = (loans.RemoteAsk, pledges.RemotePledge, project_outcomes.RemoteProjectPledge)

NO_DAYS = N_("A booking needs both a startTime and an endTime that are dates.")
COUNTED = ("group_purchase", "pay_it_forward")  # an Offer's quantity is a pledge or claim


async def verify_offer(fed: Federation, activity: dict[str, Any]) -> Any:
    """A booking (loans.RemoteAsk) when the Offer names days of a local lend listing; else
    what federation.answers makes of it."""
    plan = await answers_in.verify_offer(fed, activity)
    async with fed.pool.acquire() as conn:
        listing = await listings_q.get_listing(conn, plan.listing_uid)
    days = offer_days(activity)
    if listing is None:
        return plan
    if listing.kind == "lend" and days is not None:
        pickup, back = days
        return loans.RemoteAsk(plan.listing_uid, plan.actor_uri, plan.offer, pickup, back)
    if listing.kind == "project" and plan.offer.quantity is not None:
        return project_outcomes.RemoteProjectPledge(
            plan.listing_uid, plan.actor_uri, plan.offer, need_index(plan.offer.intent_uri),
            plan.offer.quantity,
        )  # fmt: skip
    if listing.kind in COUNTED and plan.offer.quantity is not None:
        return pledges.RemotePledge(
            plan.listing_uid, plan.actor_uri, plan.offer, plan.offer.quantity
        )
    return plan


async def receive_offer(
    conn: asyncpg.Connection, fed: Federation, activity: dict[str, Any], plan: Any
) -> None:
    if not isinstance(plan, COUNTING):
        await answers_in.receive_answer(conn, fed, activity, plan)
        return
    if await _counted(conn, plan.offer.offer_id):
        return  # a copy of an Offer counted already
    listing = await listings_q.get_listing(conn, plan.listing_uid, for_update=True)
    if listing is None:
        return  # removed since it was verified
    now = datetime.now(UTC)
    # every refusal is found before anything is written (services.loans, services.pledges)
    if await blocks_q.blocks_actor(conn, listing.author_id, plan.actor_uri):
        reason = answers_in.BLOCKED
    elif isinstance(plan, pledges.RemotePledge):
        reason = await pledges.pledge_remote(conn, fed.settings, plan, now)
    elif isinstance(plan, project_outcomes.RemoteProjectPledge):
        reason = await project_outcomes.pledge_remote(conn, fed.settings, plan, now)
    elif plan.pickup_on is None or plan.return_on is None:
        reason = NO_DAYS
    else:
        reason = await loans.ask_remote(conn, fed.settings, plan, now)
    if reason is not None:
        reject = agreement_reject_to_ap(
            activity_id=outbox.new_activity_id(fed.settings),
            actor_uri=LocalUris(fed.settings.base_url).user(listing.author_username),
            offer=plan.offer,
            reason=localize(fed.settings.language, reason),  # the node's (services.pledges)
        )
        await outbox.publish(conn, fed.settings, reject)


async def _counted(conn, offer_id: str) -> bool:
    return (
        await loans_q.booking_by_offer(conn, offer_id) is not None
        or await pledges_q.has_offer(conn, offer_id)
        or await projects_q.has_offer(conn, offer_id)
    )


HANDLER = Handler(verify_offer, receive_offer)
