"""The loan calendar of a lend listing: neighbours ask for a pickup day and a return day, the
author confirms or declines each ask and marks the thing returned; the node reminds people
the day before pickup and before return, and notices an overdue loan the day after.

Decisions:
- Booked ranges never overlap: the database says so (migration 0041's exclusion
  constraint), so two neighbours asking at the same moment over separate connections get
  one booking and one clear refusal, whatever the timing.
- An ask blocks its days as soon as it is made, as a confirmed booking does: first come,
  first served, so nobody plans on days someone else holds and the author never has to pick
  between clashing asks; a remote Offer is answered the moment it arrives. An ask nobody
  decided on by its pickup day lapses (the job), so it cannot hold the calendar for ever.
- Both days are inclusive: the thing is with the borrower from the pickup day through the
  return day. Days are the node's days (Settings.timezone).
- The booked days travel with the listing (ap.loan_days): each change to them sends its
  Update, so another node's residents see the calendar before they ask.
- A remote resident books with an FEP-0837 Offer carrying `startTime` and `endTime`
  (services.loan_inbox); the author's decision goes back as Accept or Reject, the reminders
  as direct messages replying to the Offer, so their node files them in the conversation
  it keeps. Residents here get notifications, and mail when they chose it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import asyncpg

from commonsfed.ap import agreements
from commonsfed.ap.uris import LocalUris
from commonsfed.config import Settings
from commonsfed.db import listings as listings_q
from commonsfed.db import loans as q
from commonsfed.db import mail as mail_q
from commonsfed.db.loans import Booking, Overlap
from commonsfed.federation import outbox
from commonsfed.federation.answers import send_message
from commonsfed.i18n import Text, localize
from commonsfed.i18n import gettext_noop as N_
from commonsfed.models import Account, Listing
from commonsfed.services.errors import NotAllowed, ServiceError, ValidationError
from commonsfed.services.listing_federation import publish_updated
from commonsfed.services.listing_forms import Form, Number, now_utc
from commonsfed.services.listings import NO_SUCH_LISTING, InvalidTransition, ListingNotFound

MAX_NOTE = 1000
BOOK_AHEAD = 365  # days: how far ahead a loan can be asked for
CALENDAR_WEEKS = 6  # what the listing page shows, from this week's Monday

NOT_LEND = N_("Only lend listings have a calendar.")
CLOSED = N_("This listing is closed: it takes no more bookings.")
OWN = N_("This is your own listing: you cannot borrow it.")
NO_SUCH_BOOKING = N_("There is no such booking.")
ONLY_AUTHOR = N_("Only the person who lends this can decide on its bookings.")
ONLY_BORROWER = N_("Only the person who asked for these days can cancel them.")
RETURN_BEFORE_PICKUP = N_("The return day cannot be before the pickup day.")
IN_THE_PAST = N_("Choose a pickup day from today on.")
TOO_FAR = Text(N_("Choose a pickup day within %(days)s days from today."), days=Number(BOOK_AHEAD))
TOO_LONG = N_("This can be borrowed for at most %(days)s days at a time.")
AFTER_RETURN_BY = N_("It must be back by %(day)s: choose an earlier return day.")
OVERLAP = N_("Those days overlap a booking from %(pickup)s to %(return)s. Choose other days.")
NOT_NOW = {
    "confirm": N_("Only an ask can be confirmed."),
    "decline": N_("Only an ask or a booking not yet picked up can be declined."),
    "returned": N_("Only a confirmed loan can be marked returned."),
    "cancel": N_("Only an ask or a booking not yet picked up can be cancelled."),
}
# what the node writes to a remote borrower in the author's name (the node's language)
DECLINED = N_("The days %(pickup)s to %(back)s are declined.")
LAPSED = N_("Nobody confirmed the days %(pickup)s to %(back)s in time.")
REMINDERS = {
    "loan_pickup_soon": N_("Reminder: you pick up “%(title)s” on %(day)s."),
    "loan_return_soon": N_("Reminder: “%(title)s” is due back on %(day)s."),
    "loan_overdue": N_("“%(title)s” was due back on %(day)s. Please bring it back."),
}


class BookingNotFound(ServiceError):
    """No booking has this id."""


def today_of(settings: Settings, now: datetime) -> date:
    return now.astimezone(settings.tz).date()


# --- checking days -------------------------------------------------------------------------


def days_problem(
    listing: Listing, pickup: date, back: date, today: date
) -> tuple[str, str | Text] | None:
    """What is wrong with these days for this listing, as (field, message), or None."""
    if back < pickup:
        return "return_on", RETURN_BEFORE_PICKUP
    if pickup < today:
        return "pickup_on", IN_THE_PAST
    if pickup > today + timedelta(days=BOOK_AHEAD):
        return "pickup_on", TOO_FAR
    most = listing.details.get("loan_days")
    if most and (back - pickup).days + 1 > int(most):
        return "return_on", Text(TOO_LONG, days=Number(int(most)))
    return_by = listing.details.get("return_by")
    if return_by and back > date.fromisoformat(return_by):
        return "return_on", Text(AFTER_RETURN_BY, day=return_by)
    return None


def _bookable(listing: Listing | None) -> Listing:
    if listing is None:
        raise ListingNotFound(NO_SUCH_LISTING)
    if listing.kind != "lend" or listing.purpose != "offer":
        raise NotAllowed(NOT_LEND)
    if not listing.is_open:
        raise InvalidTransition(CLOSED)
    return listing


async def _insert(conn, listing: Listing, pickup: date, back: date, **who: Any) -> int:
    """The booking, or the overlap said with the days it clashes with."""
    try:
        return await q.insert_booking(conn, listing.id, pickup, back, **who)
    except Overlap:
        clash = await q.overlapping(conn, listing.id, pickup, back)
        days = (clash.pickup_on, clash.return_on) if clash else (pickup, back)
        raise ValidationError(
            {
                "pickup_on": Text(
                    OVERLAP, pickup=days[0].isoformat(), **{"return": days[1].isoformat()}
                )
            }
        ) from None


def days_asked(form: dict[str, Any], settings: Settings, now: datetime) -> tuple[date, date]:
    """The pickup and return day of a form, in order and not in the past, or a
    ValidationError by field. What else the listing allows is judged on its own node."""
    f = Form(form, now, settings.tz)
    pickup = f.day("pickup_on", N_("Choose a pickup day."))
    back = f.day("return_on", N_("Choose a return day."))
    if pickup and back and back < pickup:
        f.fail("return_on", RETURN_BEFORE_PICKUP)
    elif pickup and pickup < f.today:
        f.fail("pickup_on", IN_THE_PAST)
    if f.errors:
        raise ValidationError(f.errors)
    return pickup, back


# --- asking --------------------------------------------------------------------------------


async def ask(
    pool: asyncpg.Pool,
    settings: Settings,
    account: Account,
    uid: str,
    form: dict[str, Any],
    *,
    now: datetime | None = None,
) -> Booking:
    """A resident asks for days: a booking, asked, that blocks them; the author is told."""
    f = Form(form, now or now_utc(), settings.tz)
    note = f.text("note", MAX_NOTE)
    if f.errors:
        raise ValidationError(f.errors)
    pickup, back = days_asked(form, settings, f.now)
    async with pool.acquire() as conn, conn.transaction():
        # the listing's row lock takes asks for its days in turn: two inserts that the
        # exclusion constraint must weigh against each other wait for each other, and
        # PostgreSQL ends one of them as a deadlock instead of refusing it as an overlap
        listing = _bookable(await listings_q.get_listing(conn, uid, for_update=True))
        if listing.author_id == account.id:
            raise NotAllowed(OWN)
        if problem := days_problem(listing, pickup, back, f.today):
            raise ValidationError(dict([problem]))
        booking_id = await _insert(conn, listing, pickup, back, account_id=account.id, note=note)
        await publish_updated(conn, settings, listing.uid)  # its booked days, to other nodes
        booking = await q.get_booking(conn, booking_id)
        await _tell(
            conn, settings, listing.author_id, "loan_asked", booking, _uri_of(settings, booking)
        )
        return booking


@dataclass(frozen=True)
class RemoteAsk:
    """A remote resident's Offer for days of a lend listing here."""

    listing_uid: str
    actor_uri: str
    offer: agreements.AgreementOffer
    pickup_on: date
    return_on: date


async def ask_remote(conn, settings: Settings, plan: RemoteAsk, now: datetime) -> str | None:
    """Book the days of a remote Offer in the caller's transaction, and tell the author.
    Returns why it is refused (for the Reject's content, in the node's language), or None
    when booked; a refused Offer leaves nothing behind."""
    listing = await listings_q.get_listing(conn, plan.listing_uid, for_update=True)  # see ask
    try:
        listing = _bookable(listing)
        if problem := days_problem(
            listing, plan.pickup_on, plan.return_on, today_of(settings, now)
        ):
            return problem[1]
        booking_id = await _insert(
            conn, listing, plan.pickup_on, plan.return_on, actor_uri=plan.actor_uri,
            note=plan.offer.message[:MAX_NOTE], offer_ap_id=plan.offer.offer_id,
        )  # fmt: skip
    except ValidationError as exc:
        return next(iter(exc.errors.values()))
    except ServiceError as exc:
        return exc.args[0] if exc.args else str(exc)
    await publish_updated(conn, settings, listing.uid)
    booking = await q.get_booking(conn, booking_id)
    await _tell(conn, settings, listing.author_id, "loan_asked", booking, plan.actor_uri)
    return None


# --- deciding ------------------------------------------------------------------------------


async def _locked(conn, booking_id: int) -> Booking:
    booking = await q.get_booking(conn, booking_id, for_update=True)
    if booking is None:
        raise BookingNotFound(NO_SUCH_BOOKING)
    return booking


def _require_author(booking: Booking, account: Account) -> None:
    if account.id != booking.author_id and not account.is_admin:
        raise NotAllowed(ONLY_AUTHOR)


async def decide(
    pool: asyncpg.Pool,
    settings: Settings,
    account: Account,
    booking_id: int,
    action: str,
    *,
    now: datetime | None = None,
) -> Booking:
    """The author confirms or declines an ask, or marks a loan returned; the borrower
    cancels theirs. Each is told the other's move."""
    now = now or now_utc()
    async with pool.acquire() as conn, conn.transaction():
        booking = await _locked(conn, booking_id)
        if action == "cancel":
            if account.id != booking.borrower_account_id:
                raise NotAllowed(ONLY_BORROWER)
        else:
            _require_author(booking, account)
        if not _may(booking, action, today_of(settings, now)):
            raise InvalidTransition(NOT_NOW[action])
        state = {"confirm": "confirmed", "decline": "declined", "returned": "returned",
                 "cancel": "cancelled"}[action]  # fmt: skip
        await q.set_state(conn, booking.id, state, now)
        if action != "confirm":  # the days it held are free again
            await publish_updated(conn, settings, booking.listing_uid)
        await _after_decision(conn, settings, booking, action)
        return await q.get_booking(conn, booking.id)


def _may(booking: Booking, action: str, today: date) -> bool:
    if action == "confirm":
        return booking.state == "asked"
    if action in ("decline", "cancel"):
        return booking.state == "asked" or (
            booking.state == "confirmed" and booking.pickup_on >= today
        )
    return booking.state == "confirmed"  # returned


async def _after_decision(conn, settings: Settings, booking: Booking, action: str) -> None:
    author = LocalUris(settings.base_url).user(booking.author_username)
    if action == "cancel":
        await _tell(
            conn, settings, booking.author_id, "loan_declined", booking, _uri_of(settings, booking)
        )
        return
    if action == "returned":
        return
    kind = "loan_confirmed" if action == "confirm" else "loan_declined"
    if booking.is_remote:
        await _answer_offer(conn, settings, booking, author, accepted=action == "confirm")
    else:
        await _tell(conn, settings, booking.borrower_account_id, kind, booking, author)


async def _answer_offer(
    conn, settings: Settings, booking: Booking, author: str, *, accepted: bool, reason: str = ""
) -> None:
    """The author's decision on a remote borrower's Offer: FEP-0837's Accept or Reject."""
    listing = LocalUris(settings.base_url).listing(booking.listing_uid)
    offer = agreements.AgreementOffer(
        offer_id=booking.offer_ap_id or "", actor_uri=booking.borrower_actor_uri or "",
        listing_uri=listing, intent_uri=listing + "#primary", quantity=1, unit="one",
        reciprocal_intent_uri=None, reciprocal_quantity=None, reciprocal_unit=None, message="",
    )  # fmt: skip
    activity_id = outbox.new_activity_id(settings)
    if accepted:
        decision = agreements.agreement_accept_to_ap(
            activity_id=activity_id, actor_uri=author, offer=offer,
            agreement_id=f"{listing}/bookings/{booking.id}",
        )  # fmt: skip
    else:
        decision = agreements.agreement_reject_to_ap(
            activity_id=activity_id, actor_uri=author, offer=offer,
            reason=localize(settings.language, reason or Text(
                DECLINED, pickup=booking.pickup_on.isoformat(), back=booking.return_on.isoformat()
            )),
        )  # fmt: skip
    await outbox.publish(conn, settings, decision)


# --- telling people ------------------------------------------------------------------------


def _uri_of(settings: Settings, booking: Booking) -> str:
    """The borrower's actor URI (a resident's here is /users/<name>)."""
    if booking.borrower_actor_uri:
        return booking.borrower_actor_uri
    return LocalUris(settings.base_url).user(booking.borrower_name.lstrip("@"))


async def _tell(
    conn, settings: Settings, account_id: int | None, kind: str, booking: Booking, other_uri: str
) -> None:
    """A notification (and its mail, if they chose mail for its kind) for a resident here."""
    if account_id is None:
        return
    await q.insert_loan_notice(conn, account_id, kind, booking.listing_id, other_uri)
    other = (
        booking.borrower_name if account_id == booking.author_id else f"@{booking.author_username}"
    )
    about = {
        "listing_title": booking.listing_title,
        "other_side": other,
        "path": f"/listings/{booking.listing_uid}#calendar",
        "excerpt": f"{booking.pickup_on.isoformat()} → {booking.return_on.isoformat()}",
    }
    await mail_q.queue_notification_mail(conn, account_id, kind, about)


# --- the scheduled job ---------------------------------------------------------------------


async def run_reminders(pool: asyncpg.Pool, settings: Settings, now: datetime) -> int:
    """The day before pickup (both sides), the day before return (the borrower), the day
    after a return day that passed (both sides); asks undecided past their pickup day lapse.
    Each booking is claimed once per reminder, so several workers may run this at once.
    Returns how many reminders went out and asks lapsed."""
    today = today_of(settings, now)
    done = 0
    async with pool.acquire() as conn:
        async with conn.transaction():
            for booking_id in await q.lapse_undecided(conn, today, now):
                await _lapsed(conn, settings, await q.get_booking(conn, booking_id))
                done += 1
        for kind, claim, both in (
            ("loan_pickup_soon", q.claim_pickup_reminders, True),
            ("loan_return_soon", q.claim_return_reminders, False),
            ("loan_overdue", q.claim_overdue, True),
        ):
            async with conn.transaction():
                for booking_id in await claim(conn, today, now):
                    await _remind(conn, settings, await q.get_booking(conn, booking_id), kind, both)
                    done += 1
    return done


async def _lapsed(conn, settings: Settings, booking: Booking) -> None:
    """An ask nobody decided on by its pickup day: the borrower hears it is off, as after a
    decline (a remote one with a Reject that says why)."""
    author = LocalUris(settings.base_url).user(booking.author_username)
    await publish_updated(conn, settings, booking.listing_uid)
    if booking.is_remote:
        reason = Text(LAPSED, pickup=booking.pickup_on.isoformat(),
                      back=booking.return_on.isoformat())  # fmt: skip
        await _answer_offer(conn, settings, booking, author, accepted=False, reason=reason)
    else:
        await _tell(conn, settings, booking.borrower_account_id, "loan_declined", booking, author)


async def _remind(conn, settings: Settings, booking: Booking, kind: str, both: bool) -> None:
    author = LocalUris(settings.base_url).user(booking.author_username)
    if both:
        await _tell(conn, settings, booking.author_id, kind, booking, _uri_of(settings, booking))
    if not booking.is_remote:
        await _tell(conn, settings, booking.borrower_account_id, kind, booking, author)
        return
    day = booking.return_on if kind != "loan_pickup_soon" else booking.pickup_on
    body = localize(
        settings.language, Text(REMINDERS[kind], title=booking.listing_title, day=day.isoformat())
    )
    await send_message(
        conn, settings, sender_uri=author, recipient_uri=booking.borrower_actor_uri or "",
        body=body, in_reply_to=booking.offer_ap_id or "",
        listing_uri=LocalUris(settings.base_url).listing(booking.listing_uid),
    )  # fmt: skip


# --- reading -------------------------------------------------------------------------------


@dataclass(frozen=True)
class CalendarDay:
    day: date
    booked: str | None  # None: free; "asked" or "confirmed"
    past: bool


@dataclass(frozen=True)
class LoanCalendar:
    """What a lend listing's page shows of its calendar, for one viewer."""

    bookings: list[Booking]  # blocking days from today on (the author sees all of them)
    weeks: list[list[CalendarDay]]
    today: date
    may_decide: bool
    mine: list[Booking] = field(default_factory=list)


async def calendar(
    pool: asyncpg.Pool, settings: Settings, listing: Listing, viewer: Account | None,
    *, now: datetime | None = None,
) -> LoanCalendar:  # fmt: skip
    today = today_of(settings, now or now_utc())
    async with pool.acquire() as conn:
        bookings = await q.listing_bookings(conn, listing.id, today)
    weeks = weeks_of([(b.pickup_on, b.return_on, b.state) for b in bookings], today)
    may_decide = viewer is not None and (viewer.id == listing.author_id or viewer.is_admin)
    mine = [b for b in bookings if viewer is not None and b.borrower_account_id == viewer.id]
    return LoanCalendar(bookings, weeks, today, may_decide, mine)


def weeks_of(taken: list[tuple[date, date, str]], today: date) -> list[list[CalendarDay]]:
    """The coming weeks from this week's Monday, each day marked with what holds it: days
    `taken` as (first, last, "asked" or "confirmed")."""
    start = today - timedelta(days=today.weekday())
    return [
        [_day(start + timedelta(days=7 * week + weekday), today, taken) for weekday in range(7)]
        for week in range(CALENDAR_WEEKS)
    ]


def _day(day: date, today: date, taken: list[tuple[date, date, str]]) -> CalendarDay:
    states = {state for first, last, state in taken if first <= day <= last}
    booked = "confirmed" if "confirmed" in states else ("asked" if states else None)
    return CalendarDay(day, booked, day < today)
