"""A neighbourhood project's page parts: each need's progress, the form to pledge towards a
need, the organiser's list of pledges, and the form that records the hours a pledger gave
once the project is funded (the time bank moves them)."""

from __future__ import annotations

from aiohttp import web

from commonsfed.i18n import gettext_noop as N_
from commonsfed.models import Listing
from commonsfed.services import projects
from commonsfed.services.errors import NotAllowed, ServiceError, ValidationError
from commonsfed.services.listings import ListingNotFound
from commonsfed.web.admin import message_of
from commonsfed.web.flash import flash
from commonsfed.web.keys import ACCOUNT, FEDERATION, POOL, SETTINGS
from commonsfed.web.middlewares import render_error
from commonsfed.web.views import require_account

NEED_LABELS = {
    "hours": N_("Hours of work"),
    "material": N_("Materials"),
    "money": N_("Money"),
}


async def listing_context(request: web.Request, listing: Listing) -> dict:
    """What listings/show.html needs of a project: None unless it is one."""
    if listing.kind != "project":
        return {"project": None}
    view = await projects.project_view(
        request.app[POOL], request.app[SETTINGS], listing, request.get(ACCOUNT)
    )
    return {"project": view, "need_labels": NEED_LABELS}


def _refused(request: web.Request, exc: ServiceError) -> web.Response:
    if isinstance(exc, ListingNotFound):
        return render_error(request, 404)
    status = 403 if isinstance(exc, NotAllowed) else 409
    return render_error(request, status, message_of(exc))


async def _page_with_errors(request: web.Request, errors: dict, values: dict) -> web.Response:
    # imported here: web.listings imports this module for the project's context
    from commonsfed.web.listings import render_listing

    return await render_listing(request, errors, status=422, values=values)


async def pledge(request: web.Request) -> web.Response:
    """A resident pledges towards one need (or changes or takes back a pledge)."""
    account = require_account(request)
    form = await request.post()
    uid = request.match_info["uid"]
    fields = {name: str(form.get(name, "")) for name in ("need", "quantity")}
    try:
        amount = await projects.pledge(
            request.app[POOL], request.app[SETTINGS], account, uid, fields
        )
    except ValidationError as exc:
        return await _page_with_errors(request, exc.errors, fields)
    except ServiceError as exc:
        return _refused(request, exc)
    if amount:
        await flash(request, N_("Your pledge is counted; the organiser is told."))
    else:
        await flash(request, N_("Your pledge is taken back."))
    raise web.HTTPSeeOther(f"/listings/{uid}#project")


async def record_hours(request: web.Request) -> web.Response:
    """The organiser records the hours a pledger gave; the time bank moves them."""
    account = require_account(request)
    form = await request.post()
    uid = request.match_info["uid"]
    pledge_id = int(request.match_info["id"])
    hours = str(form.get(f"hours-{pledge_id}", ""))
    try:
        done = await projects.record_hours(request.app[FEDERATION], account, uid, pledge_id, hours)
    except ValidationError as exc:
        errors = {f"hours-{pledge_id}": exc.errors.get("hours")}
        return await _page_with_errors(request, errors, {f"hours-{pledge_id}": hours})
    except ServiceError as exc:
        return _refused(request, exc)
    if done.event_id:
        await flash(
            request, N_("The hours are proposed to their node; you are told when it answers.")
        )
    else:
        await flash(request, N_("The hours are moved to their account."))
    raise web.HTTPSeeOther(f"/listings/{uid}#project")
