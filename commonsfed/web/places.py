"""The admins' list of the neighbourhood's places (/admin/places): add, rename or move,
remove (see services.places). Bad input gets the page back with its message and writes
nothing."""

from __future__ import annotations

import aiohttp_jinja2
from aiohttp import web

from commonsfed.i18n import gettext_noop as N_
from commonsfed.services import places
from commonsfed.services.errors import NotAllowed, ValidationError
from commonsfed.web.flash import flash
from commonsfed.web.keys import POOL
from commonsfed.web.views import require_admin


async def _form(request: web.Request) -> dict[str, str]:
    return {k: v for k, v in (await request.post()).items() if isinstance(v, str)}


async def _render(request: web.Request, status: int = 200, **forms) -> web.Response:
    """forms: errors/values of the add form; change_errors/change_values (by place id)."""
    context = {
        "places": await places.all_places(request.app[POOL]),
        "errors": {},
        "values": {},
        "change_errors": {},
        "change_values": {},
        "section": "places",
        **forms,
    }
    return aiohttp_jinja2.render_template("admin/places.html", request, context, status=status)


def _place_id(request: web.Request) -> int:
    return int(request.match_info["id"])


async def places_page(request: web.Request) -> web.Response:
    require_admin(request)
    return await _render(request)


async def add_place(request: web.Request) -> web.Response:
    admin = require_admin(request)
    form = await _form(request)
    try:
        await places.add_place(request.app[POOL], admin, form)
    except ValidationError as exc:
        return await _render(request, 422, errors=exc.errors, values=form)
    except NotAllowed as exc:
        raise web.HTTPForbidden(text=str(exc)) from None
    await flash(request, N_("Place added. Residents can pick it now."))
    raise web.HTTPSeeOther("/admin/places")


async def change_place(request: web.Request) -> web.Response:
    admin = require_admin(request)
    form, place_id = await _form(request), _place_id(request)
    try:
        await places.change_place(request.app[POOL], admin, place_id, form)
    except ValidationError as exc:
        # the messages go beside the row of the place being changed
        return await _render(request, 422, change_errors={place_id: exc.errors},
                             change_values={place_id: form})  # fmt: skip
    except NotAllowed as exc:
        raise web.HTTPForbidden(text=str(exc)) from None
    await flash(request, N_("Place saved."))
    raise web.HTTPSeeOther("/admin/places")


async def remove_place(request: web.Request) -> web.Response:
    admin = require_admin(request)
    try:
        await places.remove_place(request.app[POOL], admin, _place_id(request))
    except NotAllowed as exc:
        raise web.HTTPForbidden(text=str(exc)) from None
    await flash(request, N_("Place removed."))
    raise web.HTTPSeeOther("/admin/places")
