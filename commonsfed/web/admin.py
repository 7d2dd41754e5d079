"""Administration pages: the moderation log (the accounts are web/accounts_admin.py)."""

from __future__ import annotations

import aiohttp_jinja2
from aiohttp import web

from commonsfed.services import moderation_log
from commonsfed.web.keys import POOL
from commonsfed.web.views import require_moderator


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
