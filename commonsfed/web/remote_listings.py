"""A listing of another node, shown like one of ours: its kind and details, its photos
(fetched and served by this node, see services.remote_media), its neighbourhood's name, its
state and the form to answer it from here; and the cached photos, at /media/remote/<name>.

An answer goes as an FEP-0837 Offer: with days for a lend offer (whose calendar of booked
days shows here, and days it shows taken are refused before anything is sent), with an
amount for a pledge or a claim, with a need and an amount for a project."""

from __future__ import annotations

from urllib.parse import urlencode

import aiohttp_jinja2
from aiohttp import web

from commonsfed.federation.policy import domain_of
from commonsfed.i18n import gettext_noop as N_
from commonsfed.services import (
    answers,
    loans,
    neighbourhoods,
    pledges,
    profiles,
    projects,
    remote_media,
)
from commonsfed.services import remote_listing_view as listing_view
from commonsfed.services.errors import ServiceError, ValidationError
from commonsfed.services.listing_forms import now_utc
from commonsfed.services.photos import CONTENT_TYPES, photo_file
from commonsfed.services.remote_listing_view import RemoteListingView
from commonsfed.web.answers import LABELS as ANSWER_LABELS
from commonsfed.web.answers import _refused
from commonsfed.web.flash import flash
from commonsfed.web.keys import ACCOUNT, FEDERATION, POOL, SETTINGS
from commonsfed.web.listings import CACHE_FOREVER, LABELS
from commonsfed.web.middlewares import render_error
from commonsfed.web.views import require_account


async def _page_context(request: web.Request, view: RemoteListingView) -> dict:
    """What the page shows beyond the listing's own text: photos, neighbourhood, author."""
    listing = view.listing
    domain = domain_of(listing.uri)
    photos = await remote_media.photos_for(request.app[FEDERATION], listing.uri, listing.photos)
    async with request.app[POOL].acquire() as conn:
        names = await neighbourhoods.names_of(conn, [domain])
    return {
        "photos": photos,
        "neighbourhood": names.get(domain, domain),
        "labels": LABELS,
        "author_card": await profiles.remote_profile(request.app[POOL], listing.author_uri),
    }


async def _render(
    request: web.Request,
    uri: str,
    errors: dict | None = None,
    message: str = "",
    status: int = 200,
    days: dict | None = None,
) -> web.Response:
    settings = request.app[SETTINGS]
    today = loans.today_of(settings, now_utc())
    view = await listing_view.remote_listing(request.app[POOL], request[ACCOUNT], uri, today)
    if view is None:
        return render_error(request, 404)
    context = {
        "view": view,
        "answer_labels": ANSWER_LABELS,
        "answer_errors": errors or {},
        "answer_message": message,
        "answer_days": days or {},
        "login_next": "/network/listing?" + urlencode({"uri": uri}),
    } | await _page_context(request, view)
    return aiohttp_jinja2.render_template(
        "answers/remote_listing.html", request, context, status=status
    )


async def remote_listing(request: web.Request) -> web.Response:
    """A listing from a federated neighbourhood, with the form to answer it from here."""
    return await _render(request, request.query.get("uri", ""))


async def answer_remote(request: web.Request) -> web.Response:
    account = require_account(request)
    form = await request.post()
    uri, message = str(form.get("uri", "")), str(form.get("message", ""))
    # a lend listing's form may ask for days too (services.loans books them on its node);
    # left empty, the answer is a message as for any listing
    days = {name: str(form.get(name, "")).strip() for name in ("pickup_on", "return_on")}
    days = days if any(days.values()) else {}
    # a group purchase's form says how many: the Offer's quantity is the pledge; a project's
    # says towards which need too
    given = {name: str(form[name]) for name in ("quantity", "need") if name in form}
    try:
        asked = loans.days_asked(days, request.app[SETTINGS], now_utc()) if days else None
        if asked:
            await listing_view.check_days_free(request.app[POOL], uri, asked)
        if "need" in given:
            conv = await _pledge_to_project(request, account, uri, message, given)
        else:
            quantity = pledges.quantity_asked(given) if given else 1
            conv = await answers.answer_remote(
                request.app[FEDERATION], account, uri, message, asked, quantity
            )
    except ValidationError as exc:
        return await _render(request, uri, exc.errors, message, status=422, days=days | given)
    except ServiceError as exc:
        return _refused(request, exc)
    await flash(
        request, N_("Answer sent to their neighbourhood. You will be told when they reply.")
    )
    raise web.HTTPSeeOther(f"/conversations/{conv.id}")


async def _pledge_to_project(request: web.Request, account, uri: str, message: str,
                             given: dict[str, str]):  # fmt: skip
    view = await listing_view.remote_listing(request.app[POOL], account, uri)
    intent, amount, unit = projects.remote_pledge_asked(view.needs if view else [], given)
    return await answers.answer_remote(
        request.app[FEDERATION], account, uri, message, None, amount, intent=intent, unit=unit
    )


async def media(request: web.Request) -> web.StreamResponse:
    """A cached photo of a remote listing. Its name is a hash of the remote URL, whose file
    Mastodon and commonsfed never change in place: browsers may keep it a year."""
    name = request.match_info["name"]
    path = await photo_file(remote_media.file_path, request.app[SETTINGS], name)
    if path is None:
        raise web.HTTPNotFound()
    return web.FileResponse(
        path,
        headers={
            "Content-Type": CONTENT_TYPES[name.rsplit(".", 1)[1]],
            "Cache-Control": CACHE_FOREVER,
            "X-Content-Type-Options": "nosniff",
        },
    )
