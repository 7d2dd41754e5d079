"""Neighbourhood projects (civic crowdfunding): residents pledge hours, materials or money
towards a project's needs; its page shows each need's progress; once the deadline has
funded it, the organiser records the hours each pledger gave, and the time bank moves them.
Pledges from other nodes and the deadline's decision are in services.project_outcomes.

Decisions (the needs themselves: services.project_needs):
- A pledge is towards one need, from 0.25 to MAX_HOURS hours (one time-bank transfer),
  a whole number of a material, or an amount of money; never beyond what the need still
  needs counting the pledger's own pledge. 0 takes a resident's pledge back.
- The organiser does not pledge to their own project; anyone else may, until the deadline
  and while the project is open.
- Money is promised, never collected: the page tells pledgers how to pay once funded.
- Hours go through the time bank once the project is funded: the organiser records what a
  pledger of hours gave, and the hours move from the organiser's account to the pledger's
  (here at once, or proposed to the pledger's node as any transfer across nodes is). A
  transfer that a limit or the other node refuses can be recorded again.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

import asyncpg

from commonsfed.ap.projects import NeedOnWire, need_fragment
from commonsfed.ap.uris import LocalUris
from commonsfed.config import Settings
from commonsfed.db import listings as listings_q
from commonsfed.db import mail as mail_q
from commonsfed.db import notifications as notes_q
from commonsfed.db import pledges as pledges_q
from commonsfed.db import projects as q
from commonsfed.db import timebank as ledger_q
from commonsfed.federation.context import Federation
from commonsfed.i18n import Text
from commonsfed.i18n import gettext_noop as N_
from commonsfed.models import Account, Listing
from commonsfed.services import project_needs, timebank, timebank_remote
from commonsfed.services.errors import NotAllowed, ValidationError
from commonsfed.services.listing_federation import publish_updated
from commonsfed.services.listing_forms import day_end, now_utc
from commonsfed.services.listings import (
    NO_MORE_ANSWERS,
    NO_SUCH_LISTING,
    InvalidTransition,
    ListingNotFound,
)
from commonsfed.services.project_needs import Need, Progress
from commonsfed.services.timebank import MAX_HOURS, Limits, Transfer

ONLY_PROJECTS = N_("Only neighbourhood projects take pledges towards needs.")
AFTER_DEADLINE = N_("The deadline for pledges has passed.")
OWN_PROJECT = N_("You cannot pledge to your own project.")
NO_SUCH_NEED = N_("Choose one of the project's needs.")
PLEDGE_FORMATS = {
    "hours": N_("Enter hours from 0.25 to 100, like 2.5."),
    "material": N_("Enter a whole number of 1 or more."),
    "money": N_("Enter an amount from 0.01 to 1000000, like 20 or 12.50."),
}
LEFT_ONLY = N_("Only %(left)s %(unit)s are still needed: pledge that much or less.")
NOT_FUNDED = N_("Hours are recorded once the project is funded.")
RECORDED = N_("The hours of this pledge are recorded already.")
NOT_HOURS = N_("Only pledges of hours go through the time bank.")


def deadline_passed(listing: Listing, settings: Settings, now: datetime) -> bool:
    deadline = listing.details.get("deadline")
    return bool(deadline) and day_end(date.fromisoformat(deadline), settings.tz) <= now


def read_pledge(need: Need, text: str) -> Decimal | None:
    """A pledge towards `need` as typed, or None when it is not one (0 is not one)."""
    text = text.strip()
    if need.kind == "material":
        return Decimal(text) if text.isdigit() and 1 <= int(text) <= 100_000 else None
    if need.kind == "hours":
        return project_needs.read_amount(text, project_needs.QUARTER_HOUR, MAX_HOURS)
    return project_needs.read_amount(text, project_needs.CENT, project_needs.MAX_MONEY)


def need_of(listing: Listing, index: int | str | None) -> Need | None:
    for need in project_needs.needs_of(listing.details):
        if str(need.index) == str(index):
            return need
    return None


def unit_label(need: Need) -> str:
    """How the need's amounts are counted, for messages: hours, a material's name, EUR."""
    return {"hours": "hours"}.get(need.kind, need.label)


async def still_needed(
    conn, listing: Listing, need: Need, *, account_id: int | None = None,
    actor_uri: str | None = None,
) -> Decimal:  # fmt: skip
    """What `need` still needs, not counting the pledger's own pledge (they may change it)."""
    pledged = (await q.pledged_per_need(conn, listing.id)).get(need.index, Decimal(0))
    own = await q.own_pledge(
        conn, listing.id, need.index, account_id=account_id, actor_uri=actor_uri
    )
    return need.quantity - (pledged - own)


def remote_pledge_asked(
    needs: list[NeedOnWire], form: Mapping[str, str]
) -> tuple[str, Decimal, str]:
    """What a resident here pledges towards a need of another node's project: (the need's
    Intent fragment, the amount, its unit) for the Offer; ValidationError otherwise. That
    node checks the rest (what is still needed, its deadline)."""
    need = next((n for n in needs if str(n.index) == str(form.get("need", ""))), None)
    if need is None:
        raise ValidationError({"need": NO_SUCH_NEED})
    amount = read_pledge(Need(need.index, need.kind, Decimal(1)), str(form.get("quantity", "")))
    if amount is None:
        raise ValidationError({"quantity": PLEDGE_FORMATS[need.kind]})
    return need_fragment(need.index), amount, need.unit


# --- a resident's pledge -------------------------------------------------------------------


async def pledge(
    pool: asyncpg.Pool, settings: Settings, account: Account, uid: str,
    form: Mapping[str, str], *, now: datetime | None = None,
) -> Decimal:  # fmt: skip
    """Set this resident's pledge towards one need (`need`, `quantity`; 0 takes it back).
    Returns the amount pledged now."""
    now = now or now_utc()
    text = str(form.get("quantity", "")).strip()
    async with pool.acquire() as conn, conn.transaction():
        listing = await _open_project(conn, settings, uid, now)
        if listing.author_id == account.id:
            raise NotAllowed(OWN_PROJECT)
        need = need_of(listing, form.get("need"))
        if need is None:
            raise ValidationError({"need": NO_SUCH_NEED})
        amount = Decimal(0) if text == "0" else read_pledge(need, text)
        if amount is None:
            raise ValidationError({"quantity": PLEDGE_FORMATS[need.kind]})
        if amount == 0:
            await q.delete_pledge(conn, listing.id, need.index, account.id)
        else:
            left = await still_needed(conn, listing, need, account_id=account.id)
            if amount > left:
                raise ValidationError({"quantity": Text(
                    LEFT_ONLY, left=project_needs.amount_text(max(left, Decimal(0))),
                    unit=unit_label(need),
                )})  # fmt: skip
            await q.set_pledge(conn, listing.id, need.index, amount, account_id=account.id)
            actor_uri = LocalUris(settings.base_url).user(account.username)
            await tell_organiser(conn, listing, actor_uri, f"@{account.username}")
        await publish_updated(conn, settings, uid)
    return amount


async def _open_project(conn, settings: Settings, uid: str, now: datetime) -> Listing:
    listing = await listings_q.get_listing(conn, uid, for_update=True)
    if listing is None:
        raise ListingNotFound(NO_SUCH_LISTING)
    if listing.kind != "project":
        raise NotAllowed(ONLY_PROJECTS)
    if listing.state != "open":
        raise InvalidTransition(NO_MORE_ANSWERS[listing.state])
    if deadline_passed(listing, settings, now):
        raise InvalidTransition(AFTER_DEADLINE)
    return listing


async def tell_organiser(conn, listing: Listing, actor_uri: str, who: str) -> None:
    await notes_q.insert_pledge_notice(
        conn, listing.author_id, listing.id, actor_uri, kind="project_pledge"
    )
    about = {"listing_title": listing.title, "other_side": who,
             "path": f"/listings/{listing.uid}"}  # fmt: skip
    await mail_q.queue_notification_mail(conn, listing.author_id, "project_pledge", about)


# --- what the page shows -------------------------------------------------------------------


@dataclass(frozen=True)
class ProjectView:
    """A project as one viewer sees it: each need's progress, their own pledges, the
    outcome once the deadline decided, and (for the organiser) every pledge."""

    progress: list[Progress]
    outcome: str | None  # None until the deadline decides; then reached or missed
    deadline_passed: bool
    mine: dict[int, Decimal] = field(default_factory=dict)
    pledges: list[q.ProjectPledge] = field(default_factory=list)
    is_organiser: bool = False

    @property
    def pledged_money(self) -> bool:
        return any(item.need.kind == "money" and item.need.index in self.mine
                   for item in self.progress)  # fmt: skip


async def project_view(
    pool: asyncpg.Pool, settings: Settings, listing: Listing, viewer: Account | None
) -> ProjectView:
    organiser = viewer is not None and viewer.id == listing.author_id
    async with pool.acquire() as conn:
        pledged = await q.pledged_per_need(conn, listing.id)
        mine = await q.my_pledges(conn, listing.id, viewer.id) if viewer else {}
        return ProjectView(
            progress=project_needs.progress(listing.details, pledged),
            outcome=await pledges_q.outcome_of(conn, listing.id),
            deadline_passed=deadline_passed(listing, settings, now_utc()),
            mine=mine,
            pledges=await q.pledges(conn, listing.id) if organiser else [],
            is_organiser=organiser,
        )


# --- hours given, through the time bank ----------------------------------------------------


async def record_hours(
    fed: Federation, organiser: Account, uid: str, pledge_id: int, text: str
) -> q.ProjectPledge:
    """The organiser records the hours a pledger gave to the funded project: they move from
    the organiser's hours account to the pledger's, here or proposed to the pledger's node.
    TransferRefused (nothing moved) when a limit would be passed."""
    hours = timebank.parse_hours(text)
    async with fed.pool.acquire() as conn:
        found = await q.get_pledge(conn, pledge_id)
    if found is None:
        raise ListingNotFound(N_("There is no such pledge."))
    other = None
    if found.actor_uri:  # fetched before the transaction, as any transfer across nodes
        other = await timebank_remote.remote_person(fed, found.actor_uri)
    async with fed.pool.acquire() as conn, conn.transaction():
        listing = await listings_q.get_listing(conn, uid, for_update=True)
        pledge = await q.get_pledge(conn, pledge_id, for_update=True)
        await _check_recordable(conn, listing, pledge, organiser)
        assert listing is not None and pledge is not None
        if pledge.delivered is not None:  # refused before: this records it anew
            await q.clear_delivered(conn, pledge.id)
        if other is None:
            await _move_here(conn, fed.settings, organiser, listing, pledge, hours)
        else:
            event_id = await timebank_remote.propose_within(
                conn, fed, organiser, other, hours, local_pays=True
            )
            await q.set_delivered(conn, pledge.id, hours, event_id=event_id)
        return await q.get_pledge(conn, pledge.id)


async def _check_recordable(conn, listing, pledge, organiser: Account) -> None:
    if listing is None or pledge is None or pledge.listing_id != listing.id:
        raise ListingNotFound(N_("There is no such pledge."))
    if listing.author_id != organiser.id:
        raise NotAllowed(N_("Only the project's organiser records the hours given."))
    need = need_of(listing, pledge.need)
    if need is None or need.kind != "hours":
        raise NotAllowed(NOT_HOURS)
    if await pledges_q.outcome_of(conn, listing.id) != "reached":
        raise InvalidTransition(NOT_FUNDED)
    if pledge.delivered is not None and pledge.remote_state not in timebank_remote.UNDONE:
        raise InvalidTransition(RECORDED)


async def _move_here(conn, settings: Settings, organiser: Account, listing: Listing,
                     pledge: q.ProjectPledge, hours: Decimal) -> None:  # fmt: skip
    assert pledge.account_id is not None
    transfer_id = await timebank.transfer(conn, Limits.of(settings), Transfer(
        from_account=await ledger_q.resident_account(conn, organiser.id),
        to_account=await ledger_q.resident_account(conn, pledge.account_id),
        hours=hours, reason="project", from_label=f"@{organiser.username}",
        to_label=pledge.who, note=listing.title[:200], created_by=organiser.id,
    ))  # fmt: skip
    await q.set_delivered(conn, pledge.id, hours, transfer_id=transfer_id)
    await notes_q.insert_notification(conn, pledge.account_id, "project_hours", listing.id)
    about = {"listing_title": listing.title, "path": f"/listings/{listing.uid}"}
    await mail_q.queue_notification_mail(conn, pledge.account_id, "project_hours", about)
