"""Pledges and claims across nodes: a remote resident's FEP-0837 Offer with a quantity is a
pledge towards a group purchase here, or a claim of a pay-it-forward portion; and the
scheduled job that lets a group purchase's deadline decide for everyone.

Decisions:
- A remote pledge counts as a resident's does (services.listings.pledge): towards the
  target and beyond it (the target is the least the order needs, not a cap), changed by
  another Offer from the same actor, refused after the deadline or once the listing is
  closed. The listing's Update carries the new `availableQuantity` and "Pledged so far"
  to every node, as after a resident's pledge.
- A remote claim is one portion, as a resident's is: an Offer for more than one, or for a
  portion when none is left, is refused. A claim is decided at once (Accept); a pledge at
  the deadline.
- The deadline decides once, for everyone (db.pledges.decide_outcome): reached when the
  pledges together meet the target, missed otherwise. Reached: the organiser and every
  pledger here are told, every remote pledger gets an Accept of their Offer and a message
  saying it holds. Missed: the same people are told everyone is released, remote pledgers
  with a Reject that says why.
- Refusals go back as a Reject whose content says why, in the node's language (the remote
  resident's is not known here; the node writes to other nodes in its own, as its messages
  in the organiser's name do); nothing of a refused Offer is kept.
- A remote actor that deletes itself takes its pledges not yet decided with it (group
  purchases' and projects'), so a target is never reached on a departed neighbour's word.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

import asyncpg

from commonsfed.ap import agreements
from commonsfed.ap.uris import LocalUris
from commonsfed.config import Settings
from commonsfed.db import listings as listings_q
from commonsfed.db import mail as mail_q
from commonsfed.db import notifications as notes_q
from commonsfed.db import pledges as q
from commonsfed.federation import outbox
from commonsfed.federation.answers import send_message
from commonsfed.i18n import Text, localize
from commonsfed.i18n import gettext_noop as N_
from commonsfed.models import Listing
from commonsfed.services import answer_notices
from commonsfed.services.errors import ValidationError
from commonsfed.services.listing_federation import publish_updated
from commonsfed.services.listing_forms import Form, day_end, now_utc
from commonsfed.services.listings import NO_MORE_ANSWERS

MAX_PLEDGE = 100_000
DEADLINE_BATCH = 50

# what a remote pledger or claimant is told, in the node's language (answer_offer)
GONE = N_("This listing is gone.")
AFTER_DEADLINE = N_("The deadline for pledges has passed.")
NOT_A_NUMBER = N_("Say how many you want: a whole number from 1 to 100000.")
ONE_PORTION = N_("One portion per neighbour: ask for 1.")
NONE_LEFT = N_("All portions have been claimed.")
CLAIMED = N_("You have claimed a portion of this offer already.")
MISSED = N_("“%(title)s” missed its target of %(target)s by its deadline: every pledge is "
            "released.")
# written in the organiser's name to a remote pledger whose pledge holds (node's language)
REACHED = N_(
    "“%(title)s” reached its target: your pledge of %(quantity)s holds. "
    "I will write to say how to collect it."
)


@dataclass(frozen=True)
class RemotePledge:
    """A remote resident's Offer with a quantity for a group purchase or a pay-it-forward."""

    listing_uid: str
    actor_uri: str
    offer: agreements.AgreementOffer
    quantity: int | float


async def pledge_remote(conn, settings: Settings, plan: RemotePledge, now: datetime) -> str | None:
    """Count the Offer, in the caller's transaction: a pledge, or a claim (accepted at once).
    Returns why it is refused, or None when counted."""
    listing = await listings_q.get_listing(conn, plan.listing_uid, for_update=True)
    if listing is None:
        return GONE
    if listing.state != "open":
        return NO_MORE_ANSWERS[listing.state]
    if listing.kind == "pay_it_forward":
        return await _claim(conn, settings, listing, plan)
    deadline = listing.details.get("deadline")
    if deadline and day_end(date.fromisoformat(deadline), settings.tz) <= now:
        return AFTER_DEADLINE
    amount = plan.quantity
    if amount != int(amount) or not 1 <= amount <= MAX_PLEDGE:
        return NOT_A_NUMBER
    await q.set_remote_pledge(conn, listing.id, plan.actor_uri, plan.offer.offer_id, int(amount))
    total, _ = await listings_q.pledged(conn, listing.id, None)
    target = listing.quantity or 0
    await listings_q.set_available_quantity(conn, listing.id, max(target - total, 0))
    await publish_updated(conn, settings, listing.uid)
    await _tell_organiser(conn, listing, plan.actor_uri)
    return None


async def _claim(conn, settings: Settings, listing: Listing, plan: RemotePledge) -> str | None:
    if listing.purpose != "offer" or plan.quantity != 1:
        return ONE_PORTION
    if not listing.available_quantity:
        return NONE_LEFT
    if not await q.insert_remote_claim(conn, listing.id, plan.actor_uri, plan.offer.offer_id):
        return CLAIMED
    left = listing.available_quantity - 1
    await listings_q.set_available_quantity(conn, listing.id, left)
    if left == 0:
        await listings_q.set_state(conn, listing.id, "completed")
        await listings_q.insert_event(conn, listing.id, "state", "completed", None)
        await answer_notices.tell_line_closed(conn, settings, listing.id)
    await answer_offer(conn, settings, listing, plan.actor_uri, plan.offer.offer_id, accepted=True)
    await publish_updated(conn, settings, listing.uid)
    return None


async def _tell_organiser(conn, listing: Listing, actor_uri: str) -> None:
    await notes_q.insert_pledge_notice(conn, listing.author_id, listing.id, actor_uri)
    about = {"listing_title": listing.title, "other_side": actor_uri,
             "path": f"/listings/{listing.uid}"}  # fmt: skip
    await mail_q.queue_notification_mail(conn, listing.author_id, "new_pledge", about)


async def answer_offer(
    conn, settings: Settings, listing: Listing, actor_uri: str, offer_id: str, *,
    accepted: bool, reason: str = "", intent: str = "primary",
) -> None:  # fmt: skip
    """The organiser's (or giver's) Accept or Reject of a remote Offer (FEP-0837) that
    satisfies the listing's Intent `intent` (a project's need: `need-2`)."""
    uris = LocalUris(settings.base_url)
    listing_uri = uris.listing(listing.uid)
    offer = agreements.AgreementOffer(
        offer_id=offer_id, actor_uri=actor_uri, listing_uri=listing_uri,
        intent_uri=f"{listing_uri}#{intent}", quantity=None, unit=None,
        reciprocal_intent_uri=None, reciprocal_quantity=None, reciprocal_unit=None, message="",
    )  # fmt: skip
    author = uris.user(listing.author_username)
    activity_id = outbox.new_activity_id(settings)
    if accepted:
        decision = agreements.agreement_accept_to_ap(
            activity_id=activity_id, actor_uri=author, offer=offer,
            agreement_id=f"{listing_uri}/agreements/{activity_id.rsplit('/', 1)[-1]}",
        )  # fmt: skip
    else:
        decision = agreements.agreement_reject_to_ap(
            activity_id=activity_id, actor_uri=author, offer=offer,
            reason=localize(settings.language, reason),
        )  # fmt: skip
    await outbox.publish(conn, settings, decision)


async def release_of_actor(conn, settings: Settings, actor_uri: str) -> int:
    """A remote actor deleted itself: its pledges towards group purchases and projects not
    yet decided are released, each listing locked first as a pledge locks it, and their
    Updates carry the new numbers. Decided ones stay: the Accept or Reject was sent.
    Returns how many listings changed."""
    uids = await q.undecided_listings_of_actor(conn, actor_uri)
    for uid in uids:
        listing = await listings_q.get_listing(conn, uid, for_update=True)
        if listing is None:
            continue
        await q.delete_of_actor(conn, listing.id, actor_uri)
        if listing.kind == "group_purchase":
            total, _ = await listings_q.pledged(conn, listing.id, None)
            await listings_q.set_available_quantity(
                conn, listing.id, max((listing.quantity or 0) - total, 0)
            )
        await publish_updated(conn, settings, uid)
    return len(uids)


def quantity_asked(form: dict[str, str]) -> int:
    """How many a resident here pledges towards a group purchase of another node (the Offer's
    quantity), or a ValidationError for the `quantity` field."""
    f = Form(form, now_utc())
    amount = f.whole("quantity", MAX_PLEDGE, N_("Say how many you want."))
    if f.errors:
        raise ValidationError(f.errors)
    return amount


# --- the deadline --------------------------------------------------------------------------


async def decide_deadlines(pool: asyncpg.Pool, settings: Settings, now: datetime) -> int:
    """The scheduled job: group purchases whose deadline has passed are decided, each in a
    transaction of its own and once whatever the workers. Returns how many were decided."""
    today = now.astimezone(settings.tz).date()
    decided = 0
    async with pool.acquire() as conn:
        for uid in await q.due_deadlines(conn, today, DEADLINE_BATCH):
            async with conn.transaction():
                decided += await _decide(conn, settings, uid, now)
    return decided


async def _decide(conn, settings: Settings, uid: str, now: datetime) -> bool:
    listing = await listings_q.get_listing(conn, uid, for_update=True)
    if listing is None or listing.state not in ("open", "reserved"):
        return False
    if listing.kind == "project":
        # imported here: services.project_outcomes uses this module's answers
        from commonsfed.services import project_outcomes

        return await project_outcomes.decide(conn, settings, listing, now)
    total, _ = await listings_q.pledged(conn, listing.id, None)
    outcome = "reached" if total >= (listing.quantity or 0) else "missed"
    if not await q.decide_outcome(conn, listing.id, outcome, total, now):
        return False
    kind = "pledge_reached" if outcome == "reached" else "pledge_released"
    pledgers = await q.pledgers(conn, listing.id)
    for account_id in {listing.author_id, *(p.account_id for p in pledgers if p.account_id)}:
        await _notify(conn, account_id, kind, listing)
    for pledger in (p for p in pledgers if p.actor_uri):
        await _answer_pledger(conn, settings, listing, pledger, reached=outcome == "reached")
    return True


async def _notify(conn, account_id: int, kind: str, listing: Listing) -> None:
    await notes_q.insert_notification(conn, account_id, kind, listing.id)
    about = {"listing_title": listing.title, "path": f"/listings/{listing.uid}"}
    await mail_q.queue_notification_mail(conn, account_id, kind, about)


async def _answer_pledger(
    conn, settings: Settings, listing: Listing, pledger: q.Pledger, *, reached: bool
) -> None:
    offer_id = pledger.offer_ap_id or ""
    if not reached:
        reason = Text(MISSED, title=listing.title, target=listing.quantity)
        await answer_offer(conn, settings, listing, pledger.actor_uri, offer_id, accepted=False,
                      reason=reason)  # fmt: skip
        return
    await answer_offer(conn, settings, listing, pledger.actor_uri, offer_id, accepted=True)
    body = localize(
        settings.language, Text(REACHED, title=listing.title, quantity=pledger.quantity)
    )
    await send_message(
        conn, settings, sender_uri=LocalUris(settings.base_url).user(listing.author_username),
        recipient_uri=pledger.actor_uri, body=body, in_reply_to=offer_id,
        listing_uri=LocalUris(settings.base_url).listing(listing.uid),
    )  # fmt: skip
