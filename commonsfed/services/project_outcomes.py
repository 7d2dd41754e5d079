"""A neighbourhood project across nodes and at its deadline: a remote resident's FEP-0837
Offer that satisfies one of its needs (`#need-<n>`) with a quantity is a pledge, as a
resident's is (services.projects); the deadline decides once for everyone.

Decisions:
- A remote pledge is checked as a resident's: the project open, the deadline not passed, a
  need it has, an amount of the need's kind in the need's unit, no more than it still needs.
  A later Offer from the same actor for the same need changes the pledge; its first Offer
  stays the one the deadline answers. Refusals go back as a Reject that says why, in the
  node's language (services.pledges).
- The deadline decides once (db.pledges.decide_outcome, as a group purchase): funded when
  every need is met. Funded: the organiser and each pledger here are told; each remote
  pledge gets an Accept of its Offer, and each remote pledger one message in the
  organiser's name with what they pledged and what to do next (the project's next steps,
  and how to pay when they pledged money). Missed: everyone is released, remote pledges
  with a Reject that says why.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from commonsfed.ap import agreements
from commonsfed.ap.projects import need_fragment
from commonsfed.ap.uris import LocalUris
from commonsfed.config import Settings
from commonsfed.db import listings as listings_q
from commonsfed.db import mail as mail_q
from commonsfed.db import notifications as notes_q
from commonsfed.db import pledges as pledges_q
from commonsfed.db import projects as q
from commonsfed.federation.answers import send_message
from commonsfed.i18n import Text, localize
from commonsfed.i18n import gettext_noop as N_
from commonsfed.models import Listing
from commonsfed.services import pledges, project_needs
from commonsfed.services.listing_federation import publish_updated
from commonsfed.services.listings import NO_MORE_ANSWERS
from commonsfed.services.projects import (
    PLEDGE_FORMATS,
    deadline_passed,
    need_of,
    read_pledge,
    still_needed,
    tell_organiser,
    unit_label,
)

# what a remote pledger is told, in the node's language (see the module docstring)
NO_NEED = N_("Pledge towards one of the project's needs: its Intent #need-0, #need-1 ...")
WRONG_UNIT = N_("This need is counted in %(unit)s.")
LEFT_ONLY = N_("Only %(left)s %(unit)s are still needed: pledge that much or less.")
MISSED = N_("“%(title)s” did not get all it needed by its deadline: every pledge is released.")
# written in the organiser's name to a remote pledger of a funded project (node's language)
FUNDED = N_("“%(title)s” is funded: your pledge of %(pledged)s holds. Thank you!")
NEXT_STEPS = N_("What happens next: %(steps)s")
HOW_TO_PAY = N_("How to pay: %(how)s")


@dataclass(frozen=True)
class RemoteProjectPledge:
    """A remote resident's Offer with a quantity towards one need of a project here."""

    listing_uid: str
    actor_uri: str
    offer: agreements.AgreementOffer
    need: int | None  # from the Intent the Offer satisfies; None when it names no need
    quantity: int | float


async def pledge_remote(
    conn, settings: Settings, plan: RemoteProjectPledge, now: datetime
) -> str | None:
    """Count the Offer as a pledge, in the caller's transaction; why it is refused, or None."""
    listing = await listings_q.get_listing(conn, plan.listing_uid, for_update=True)
    if listing is None:
        return pledges.GONE
    if listing.state != "open":
        return NO_MORE_ANSWERS[listing.state]
    if deadline_passed(listing, settings, now):
        return pledges.AFTER_DEADLINE
    need = need_of(listing, plan.need) if plan.need is not None else None
    if need is None:
        return NO_NEED
    if plan.offer.unit not in (None, need.unit):
        return Text(WRONG_UNIT, unit=need.unit)
    amount = read_pledge(need, project_needs.amount_text(Decimal(str(plan.quantity))))
    if amount is None:
        return PLEDGE_FORMATS[need.kind]
    left = await still_needed(conn, listing, need, actor_uri=plan.actor_uri)
    if amount > left:
        left_text = project_needs.amount_text(max(left, Decimal(0)))
        return Text(LEFT_ONLY, left=left_text, unit=unit_label(need))
    await q.set_pledge(conn, listing.id, need.index, amount, actor_uri=plan.actor_uri,
                       offer_ap_id=plan.offer.offer_id)  # fmt: skip
    await publish_updated(conn, settings, listing.uid)
    await tell_organiser(conn, listing, plan.actor_uri, plan.actor_uri)
    return None


# --- the deadline --------------------------------------------------------------------------


async def decide(conn, settings: Settings, listing: Listing, now: datetime) -> bool:
    """Decide the project's outcome, in the caller's transaction (the listing is locked);
    False when another worker decided it first."""
    found = await q.pledges(conn, listing.id)
    pledged: dict[int, Decimal] = {}
    for pledge in found:
        pledged[pledge.need] = pledged.get(pledge.need, Decimal(0)) + pledge.quantity
    funded = project_needs.all_met(project_needs.progress(listing.details, pledged))
    outcome = "reached" if funded else "missed"
    if not await pledges_q.decide_outcome(conn, listing.id, outcome, len(found), now):
        return False
    kind = "project_funded" if funded else "project_missed"
    local = {pledge.account_id for pledge in found if pledge.account_id}
    for account_id in {listing.author_id, *local}:
        await notes_q.insert_notification(conn, account_id, kind, listing.id)
        about = {"listing_title": listing.title, "path": f"/listings/{listing.uid}"}
        await mail_q.queue_notification_mail(conn, account_id, kind, about)
    remote = [pledge for pledge in found if pledge.actor_uri]
    for pledge in remote:
        await pledges.answer_offer(
            conn, settings, listing, str(pledge.actor_uri), pledge.offer_ap_id or "",
            accepted=funded, intent=need_fragment(pledge.need),
            reason="" if funded else Text(MISSED, title=listing.title),
        )  # fmt: skip
    if funded:
        for actor_uri in dict.fromkeys(str(pledge.actor_uri) for pledge in remote):
            mine = [pledge for pledge in remote if pledge.actor_uri == actor_uri]
            await _tell_what_next(conn, settings, listing, actor_uri, mine)
    return True


async def _tell_what_next(
    conn, settings: Settings, listing: Listing, actor_uri: str, mine: list[q.ProjectPledge]
) -> None:
    """One message to a remote pledger of a funded project: what holds, what to do next."""
    language = settings.language
    pledged = ", ".join(_described(listing, pledge) for pledge in mine)
    lines = [localize(language, Text(FUNDED, title=listing.title, pledged=pledged))]
    steps = str(listing.details.get("next_steps") or "").strip()
    if steps:
        lines.append(localize(language, Text(NEXT_STEPS, steps=steps)))
    how = str(listing.details.get("how_to_pay") or "").strip()
    gives_money = any(getattr(need_of(listing, pledge.need), "kind", "") == "money"
                      for pledge in mine)  # fmt: skip
    if how and gives_money:
        lines.append(localize(language, Text(HOW_TO_PAY, how=how)))
    uris = LocalUris(settings.base_url)
    await send_message(
        conn, settings, sender_uri=uris.user(listing.author_username), recipient_uri=actor_uri,
        body="\n\n".join(lines), in_reply_to=mine[0].offer_ap_id or "",
        listing_uri=uris.listing(listing.uid),
    )  # fmt: skip


def _described(listing: Listing, pledge: q.ProjectPledge) -> str:
    need = need_of(listing, pledge.need)
    amount = project_needs.amount_text(pledge.quantity)
    if need is None:
        return amount
    if need.kind == "hours":
        return f"{amount} h"
    return f"{amount} {need.label}"
