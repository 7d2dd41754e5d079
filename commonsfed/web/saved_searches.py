"""Settings, "Matches and alerts" (/settings/searches): a resident's saved searches (saved
from /explore's "Save this search" form), their area, and their weekly digest."""

from __future__ import annotations

import aiohttp_jinja2
from aiohttp import web

from commonsfed.i18n import gettext_noop as N_
from commonsfed.services import places, saved_searches
from commonsfed.services.errors import ValidationError
from commonsfed.services.listings import categories
from commonsfed.web.flash import flash
from commonsfed.web.keys import POOL
from commonsfed.web.listings import LABELS
from commonsfed.web.views import require_account

PAGE = "/settings/searches"


async def _page(request: web.Request, status: int = 200, **context) -> web.Response:
    account = require_account(request)
    pool = request.app[POOL]
    prefs = await saved_searches.preferences(pool, account)
    named = await places.all_places(pool)
    area = next((str(p.id) for p in named if (p.latitude, p.longitude) == prefs.area), "")
    context = {
        "section": "searches",
        "searches": await saved_searches.searches(pool, account),
        "prefs": prefs,
        "area_place": area,
        "place_options": [(str(place.id), place.name) for place in named],
        "category_names": {row["slug"]: row["name"] for row in await categories(pool)},
        "labels": LABELS,
        "errors": {},
        **context,
    }
    return aiohttp_jinja2.render_template("settings/searches.html", request, context, status=status)


async def searches_page(request: web.Request) -> web.Response:
    return await _page(request)


async def save_search(request: web.Request) -> web.Response:
    """/explore's "Save this search": its filters, as the page had them."""
    account = require_account(request)
    form = await request.post()
    fields = {name: str(form.get(name, "")) for name in ("q", "purpose", "km", "place", "lat",
                                                        "lon")}  # fmt: skip
    kinds = [str(value) for value in form.getall("kind", [])]
    chosen = [str(value) for value in form.getall("category", [])]
    try:
        await saved_searches.save(request.app[POOL], account, fields, kinds, chosen)
    except ValidationError as exc:
        return await _page(request, 422, errors=exc.errors)
    await flash(request, N_("Search saved. You will be told when a new listing matches it."))
    raise web.HTTPSeeOther(PAGE)


async def delete_search(request: web.Request) -> web.Response:
    account = require_account(request)
    raw = request.match_info["id"]
    if not raw.isdigit() or not await saved_searches.delete(request.app[POOL], account, int(raw)):
        message = N_("This saved search is gone already.")
        return await _page(request, 404, errors={"searches": message})
    await flash(request, N_("Saved search deleted."))
    raise web.HTTPSeeOther(PAGE)


async def save_preferences(request: web.Request) -> web.Response:
    account = require_account(request)
    form = await request.post()
    fields = {name: str(form.get(name, "")) for name in ("place", "digest", "digest_km")}
    chosen = [str(value) for value in form.getall("category", [])]
    try:
        await saved_searches.save_preferences(request.app[POOL], account, fields, chosen)
    except ValidationError as exc:
        return await _page(request, 422, errors=exc.errors)
    await flash(request, N_("Saved."))
    raise web.HTTPSeeOther(PAGE)
