"""Administration pages: the accounts waiting for approval and the moderation log."""

from __future__ import annotations

import aiohttp_jinja2
from aiohttp import web

from commonsfed.services import accounts, moderation_log
from commonsfed.services.errors import NotAllowed
from commonsfed.web.keys import POOL
from commonsfed.web.views import require_moderator


async def pending_accounts(request: web.Request) -> web.Response:
    require_moderator(request)
    pending = await accounts.pending_accounts(request.app[POOL])
    return aiohttp_jinja2.render_template(
        "admin/accounts.html", request, {"pending": pending, "section": "accounts"}
    )


async def approve_account(request: web.Request) -> web.Response:
    require_moderator(request)
    form = await request.post()
    try:
        await accounts.approve(request.app[POOL], str(form.get("username", "")))
    except NotAllowed as exc:
        raise web.HTTPBadRequest(text=str(exc)) from None
    raise web.HTTPSeeOther("/admin/accounts")


async def log_page(request: web.Request) -> web.Response:
    """The moderation log, newest first, a page at a time (?before=<id> for the next)."""
    require_moderator(request)
    before = request.query.get("before", "")
    if before and not (before.isdigit() and len(before) <= 18):
        raise web.HTTPBadRequest(text="?before= is the number of a line of the log.")
    entries = await moderation_log.recent(request.app[POOL], int(before) if before else None)
    return aiohttp_jinja2.render_template(
        "admin/log.html", request, {"entries": entries, "section": "log",
                                    "more": len(entries) == moderation_log.PAGE},  # fmt: skip
    )
