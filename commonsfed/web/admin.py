"""Admin pages: the queue of accounts waiting for approval."""

from __future__ import annotations

import aiohttp_jinja2
from aiohttp import web

from commonsfed.services import accounts
from commonsfed.services.errors import NotAllowed
from commonsfed.web.keys import POOL
from commonsfed.web.views import require_account


def require_admin(request: web.Request):
    account = require_account(request)
    if not account.is_admin:
        raise web.HTTPForbidden(text="Only the node's admins can see this page.")
    return account


async def pending_accounts(request: web.Request) -> web.Response:
    require_admin(request)
    pending = await accounts.pending_accounts(request.app[POOL])
    return aiohttp_jinja2.render_template(
        "admin/accounts.html", request, {"pending": pending}
    )


async def approve_account(request: web.Request) -> web.Response:
    require_admin(request)
    form = await request.post()
    try:
        await accounts.approve(request.app[POOL], str(form.get("username", "")))
    except NotAllowed as exc:
        raise web.HTTPBadRequest(text=str(exc)) from None
    raise web.HTTPSeeOther("/admin/accounts")
