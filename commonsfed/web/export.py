"""/settings/export: a resident asks for an archive of their account and downloads it."""

from __future__ import annotations

import re

import aiohttp_jinja2
from aiohttp import web

from commonsfed.i18n import gettext_noop as N_
from commonsfed.services import export
from commonsfed.web.flash import shown_on
from commonsfed.web.keys import POOL, SETTINGS
from commonsfed.web.views import require_account

_ARCHIVE = re.compile(r"^[A-Za-z0-9_-]{22}\.zip$")


async def export_page(request: web.Request) -> web.Response:
    return await _page(request)


async def _page(request: web.Request, notice: str | None = None) -> web.Response:
    account = require_account(request)
    exports = await export.exports_of(request.app[POOL], account)
    context = {"section": "export", "exports": exports, "notice": notice,
               "keep_days": export.KEEP.days}  # fmt: skip
    return aiohttp_jinja2.render_template("settings/export.html", request, context)


async def request_export(request: web.Request) -> web.Response:
    account = require_account(request)
    made = await export.request_export(request.app[POOL], request.app[SETTINGS], account)
    if made.state == "done":
        notice = N_("Your archive is ready: download it below.")
    else:
        notice = N_("Your archive is being prepared. This page lists it when it is ready; "
                    "come back in a few minutes.")  # fmt: skip
    return await shown_on(request, "/settings/export", notice)


async def download(request: web.Request) -> web.StreamResponse:
    account = require_account(request)
    name = request.match_info["name"]
    path = None
    if _ARCHIVE.match(name):
        path = await export.download(request.app[POOL], request.app[SETTINGS], account, name)
    if path is None:
        raise web.HTTPNotFound(text="There is no such archive: it may be more than a week old.")
    filename = f"{account.username}-{request.app[SETTINGS].domain.split(':')[0]}.zip"
    return web.FileResponse(path, headers={
        "Content-Type": "application/zip",
        "Content-Disposition": f'attachment; filename="{filename}"',
        "Cache-Control": "private, no-store",
        "X-Content-Type-Options": "nosniff",
    })  # fmt: skip
