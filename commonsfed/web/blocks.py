"""Settings, "Blocks and mutes" (/settings/blocks): whom a resident blocks or mutes, the
domains they hide, and the forms that change them.

The "Block" links on conversations and listings of other nodes lead here with the person
filled in (`?who=`), so blocking always passes through this page, which says what it does.
"""

from __future__ import annotations

import aiohttp_jinja2
from aiohttp import web

from commonsfed.i18n import Text
from commonsfed.i18n import gettext_noop as N_
from commonsfed.services import blocks
from commonsfed.services.errors import NotAllowed, ValidationError
from commonsfed.web.flash import shown_on
from commonsfed.web.keys import FEDERATION, POOL
from commonsfed.web.views import require_account, shown

ACTIONS = {"block": blocks.block, "mute": blocks.mute}
DONE = {
    "block": N_("You have blocked %(who)s. They can no longer answer your listings or write "
                "to you."),
    "mute": N_("You have muted %(who)s. Their listings and mentions are hidden from you."),
}  # fmt: skip

PAGE = "/settings/blocks"


async def _page(request: web.Request, status: int = 200, **context) -> web.Response:
    account = require_account(request)
    view = await blocks.blocks_view(request.app[POOL], account)
    context = {"section": "blocks", "view": view, "values": {}, "errors": {}, "notice": None,
               **context}  # fmt: skip
    return aiohttp_jinja2.render_template("settings/blocks.html", request, context, status=status)


async def _form(request: web.Request, name: str) -> str:
    value = (await request.post()).get(name, "")
    return value.strip() if isinstance(value, str) else ""


async def blocks_page(request: web.Request) -> web.Response:
    who = request.query.get("who", "")[:2048]
    return await _page(request, values={"who": who})


async def change_person(request: web.Request) -> web.Response:
    """Block or mute the person the form names (`action`: block or mute)."""
    account = require_account(request)
    who, action = await _form(request, "who"), await _form(request, "action")
    if action not in ACTIONS:
        return await _page(request, 400, values={"who": who},
                           errors={"who": N_("Choose whether to block or to mute.")})  # fmt: skip
    try:
        person = await ACTIONS[action](request.app[FEDERATION], account, who)
    except ValidationError as exc:
        return await _page(request, 422, values={"who": who}, errors=exc.errors)
    return await shown_on(request, PAGE, Text(DONE[action], who=person.label))


async def undo_person(request: web.Request) -> web.Response:
    account = require_account(request)
    value = await _form(request, "id")
    if not value.isdigit() or len(value) > 18:
        return await _page(request, 400, notice=N_("Choose someone from your lists."))
    try:
        row = await blocks.undo(request.app[FEDERATION], account, int(value))
    except NotAllowed as exc:
        return await _page(request, 400, notice=shown(exc))
    done = N_("You have unblocked %(who)s.") if row.kind == "block" else N_("You have unmuted %(who)s.")
    return await shown_on(request, PAGE, Text(done, who=row.label))


async def hide_domain(request: web.Request) -> web.Response:
    account = require_account(request)
    text = await _form(request, "domain")
    try:
        domain = await blocks.hide_domain(request.app[FEDERATION], account, text)
    except ValidationError as exc:
        return await _page(request, 422, values={"domain": text}, errors=exc.errors)
    return await shown_on(
        request, PAGE, Text(N_("You no longer see people or listings from %(domain)s."), domain=domain)
    )


async def show_domain(request: web.Request) -> web.Response:
    account = require_account(request)
    domain = await _form(request, "domain")
    try:
        await blocks.show_domain(request.app[POOL], account, domain)
    except NotAllowed as exc:
        return await _page(request, 400, notice=shown(exc))
    return await shown_on(
        request, PAGE, Text(N_("You see people and listings from %(domain)s again."), domain=domain)
    )
