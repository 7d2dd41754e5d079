"""Administration pages about the node as a whole: the dashboard (moderators and admins),
the hosts it federates with and what its inbox did not handle (admins)."""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import quote

import aiohttp_jinja2
from aiohttp import web

from commonsfed.i18n import gettext_noop as N_
from commonsfed.services import node_admin
from commonsfed.services.errors import NotAllowed
from commonsfed.web.keys import POOL, SETTINGS
from commonsfed.web.views import require_admin, require_moderator

QUEUE_NAMES = {
    "inbox": N_("Inbox (activities to handle)"),
    "deliveries": N_("Deliveries to other servers"),
    "mail": N_("Mail to send"),
    "exports": N_("Archives to make"),
}
STATE_NAMES = {"open": N_("Open"), "reserved": N_("Reserved"), "completed": N_("Completed"),
               "withdrawn": N_("Withdrawn"), "expired": N_("Expired")}  # fmt: skip
# an inbox item's state, as the "not handled" page says it
ITEM_STATES = {"unhandled": N_("unhandled"), "failed": N_("failed")}


async def dashboard(request: web.Request) -> web.Response:
    require_moderator(request)
    board = await node_admin.dashboard(request.app[POOL])
    context = {"board": board, "queue_names": QUEUE_NAMES, "state_names": STATE_NAMES,
               "section": "dashboard"}  # fmt: skip
    return aiohttp_jinja2.render_template("admin/dashboard.html", request, context)


async def federation_page(request: web.Request) -> web.Response:
    require_admin(request)
    hosts = await node_admin.hosts(request.app[POOL], request.app[SETTINGS])
    context = {
        "hosts": hosts,
        "now": datetime.now(UTC),
        "retried": request.query.get("retried", ""),
        "section": "federation",
    }
    return aiohttp_jinja2.render_template("admin/federation.html", request, context)


async def retry_host(request: web.Request) -> web.Response:
    """ "Retry now": the host unparked, its waiting deliveries due at once."""
    admin = require_admin(request)
    form = await request.post()
    try:
        await node_admin.retry_host(
            request.app[POOL], request.app[SETTINGS], admin, str(form.get("host", ""))
        )
    except node_admin.UnknownHost as exc:
        raise web.HTTPNotFound(text=f"{exc} Nothing was changed.") from None
    except NotAllowed as exc:
        raise web.HTTPForbidden(text=str(exc)) from None
    host = str(form.get("host", "")).strip().lower()
    raise web.HTTPSeeOther(f"/admin/federation?retried={quote(host, safe='')}")


async def unhandled_page(request: web.Request) -> web.Response:
    require_admin(request)
    items = await node_admin.not_handled(request.app[POOL])
    context = {"items": items, "shown": node_admin.NOT_HANDLED_SHOWN, "section": "unhandled",
               "item_states": ITEM_STATES}  # fmt: skip
    return aiohttp_jinja2.render_template("admin/unhandled.html", request, context)
