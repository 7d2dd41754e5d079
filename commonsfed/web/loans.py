"""The loan calendar's pages: the calendar on a lend listing's page, the form to ask for
days, and the buttons that confirm, decline, mark returned or cancel a booking."""

from __future__ import annotations

from aiohttp import web

from commonsfed.i18n import gettext_noop as N_
from commonsfed.models import Listing
from commonsfed.services import loans
from commonsfed.services.errors import NotAllowed, ServiceError, ValidationError
from commonsfed.services.listings import ListingNotFound
from commonsfed.web.admin import message_of
from commonsfed.web.flash import flash
from commonsfed.web.keys import ACCOUNT, POOL, SETTINGS
from commonsfed.web.middlewares import render_error
from commonsfed.web.views import require_account

DONE = {
    "confirm": N_("The days are confirmed; the borrower is told."),
    "decline": N_("The days are declined; the borrower is told."),
    "returned": N_("Marked returned. Thank you for lending!"),
    "cancel": N_("Your booking is cancelled; the lender is told."),
}


async def listing_context(request: web.Request, listing: Listing) -> dict:
    """What listings/show.html needs of the calendar: None unless a lend offer."""
    if listing.kind != "lend" or listing.purpose != "offer":
        return {"loans": None}
    found = await loans.calendar(
        request.app[POOL], request.app[SETTINGS], listing, request.get(ACCOUNT)
    )
    return {"loans": found}


def _refused(request: web.Request, exc: ServiceError) -> web.Response:
    if isinstance(exc, (ListingNotFound, loans.BookingNotFound)):
        return render_error(request, 404)
    status = 403 if isinstance(exc, NotAllowed) else 409
    return render_error(request, status, message_of(exc))


async def ask(request: web.Request) -> web.Response:
    """A resident asks for a pickup day and a return day; a bad or clashing choice gives
    the listing's page back with the form and the reason."""
    account = require_account(request)
    form = await request.post()
    uid = request.match_info["uid"]
    fields = {name: str(form.get(name, "")) for name in ("pickup_on", "return_on", "note")}
    try:
        await loans.ask(request.app[POOL], request.app[SETTINGS], account, uid, fields)
    except ValidationError as exc:
        # imported here: web.listings imports this module for the calendar's context
        from commonsfed.web.listings import render_listing

        return await render_listing(request, exc.errors, status=422, values=fields)
    except ServiceError as exc:
        return _refused(request, exc)
    await flash(request, N_("Your days are asked for; the lender is told and will confirm."))
    raise web.HTTPSeeOther(f"/listings/{uid}#calendar")


async def decide(request: web.Request) -> web.Response:
    account = require_account(request)
    action = request.match_info["action"]
    try:
        booking = await loans.decide(
            request.app[POOL], request.app[SETTINGS], account, int(request.match_info["id"]),
            action,
        )  # fmt: skip
    except ServiceError as exc:
        return _refused(request, exc)
    await flash(request, DONE[action])
    raise web.HTTPSeeOther(f"/listings/{booking.listing_uid}#calendar")
