"""The moderators' pages for reports: the queue, one report, and what they do with it
(note, resolve, reopen, forward, remove the listing). The services check the role again."""

from __future__ import annotations

import aiohttp_jinja2
from aiohttp import web

from commonsfed.i18n import gettext_noop as N_
from commonsfed.services import moderation, report_queue
from commonsfed.services.errors import NotAllowed, ServiceError, ValidationError
from commonsfed.services.listings import ListingNotFound
from commonsfed.web.admin import LOG_NAMES, message_of
from commonsfed.web.keys import POOL, SETTINGS
from commonsfed.web.middlewares import render_error
from commonsfed.web.views import require_moderator

NOTICES = {
    "note": N_("Your note is on the report."),
    "resolved": N_("The report is resolved."),
    "reopened": N_("The report is open again."),
    "forwarded": N_(
        "The report went to the reported person's server, without the reporter's name."
    ),
    "removed": N_("The listing is removed, its author told why, and the report resolved."),
}
# a report's code names (its category, what it is about), as a moderator reads them
NAMES = {
    "category_names": report_queue.CATEGORY_NAMES,
    "about_names": report_queue.ABOUT_NAMES,
    "reported_names": report_queue.REPORTED_NAMES,
}


def _report_id(request: web.Request) -> int:
    return int(request.match_info["id"])


async def reports_page(request: web.Request) -> web.Response:
    """GET /admin/reports?status=open|resolved"""
    moderator = require_moderator(request)
    status = request.query.get("status", "open")
    if status not in ("open", "resolved"):
        raise web.HTTPBadRequest(text="?status= is open or resolved.")
    shown = await report_queue.queue(request.app[POOL], moderator, resolved=status == "resolved")
    context = {"reports": shown, "status": status, "section": "reports", **NAMES}
    return aiohttp_jinja2.render_template("admin/reports.html", request, context)


async def _render_report(
    request: web.Request, errors: dict | None = None, status: int = 200
) -> web.Response:
    moderator = require_moderator(request)
    try:
        view = await report_queue.report_view(
            request.app[POOL], request.app[SETTINGS], moderator, _report_id(request)
        )
    except report_queue.ReportNotFound:
        return render_error(request, 404, N_("There is no such report."))
    context = {"view": view, "report": view.report, "errors": errors or {}, "section": "reports",
               "notice": NOTICES.get(request.query.get("done", "")), **NAMES, **LOG_NAMES}  # fmt: skip
    return aiohttp_jinja2.render_template("admin/report.html", request, context, status=status)


async def report_page(request: web.Request) -> web.Response:
    return await _render_report(request)


async def _act(request: web.Request, done: str, action) -> web.Response:
    """Run `action(pool, settings, moderator, report_id, form)`; back to the report's page."""
    moderator = require_moderator(request)
    form = await request.post()
    report_id = _report_id(request)
    try:
        await action(request.app[POOL], request.app[SETTINGS], moderator, report_id, form)
    except ValidationError as exc:
        return await _render_report(request, exc.errors, status=422)
    except (report_queue.ReportNotFound, ListingNotFound) as exc:
        return render_error(request, 404, message_of(exc))
    except NotAllowed as exc:
        return render_error(request, 403, message_of(exc))
    except ServiceError as exc:
        return render_error(request, 409, message_of(exc))
    raise web.HTTPSeeOther(f"/admin/reports/{report_id}?done={done}")


def _text(form, name: str) -> str:
    value = form.get(name, "")
    return value if isinstance(value, str) else ""


async def add_note(request: web.Request) -> web.Response:
    return await _act(request, "note", lambda pool, _s, mod, rid, form: report_queue.add_note(
        pool, mod, rid, _text(form, "note")))  # fmt: skip


async def resolve(request: web.Request) -> web.Response:
    return await _act(request, "resolved", lambda pool, _s, mod, rid, form: report_queue.resolve(
        pool, mod, rid, _text(form, "reason")))  # fmt: skip


async def reopen(request: web.Request) -> web.Response:
    return await _act(request, "reopened", lambda pool, _s, mod, rid, form: report_queue.reopen(
        pool, mod, rid, _text(form, "reason")))  # fmt: skip


async def forward(request: web.Request) -> web.Response:
    return await _act(request, "forwarded", lambda pool, settings, mod, rid, _f: (
        report_queue.forward(pool, settings, mod, rid)))  # fmt: skip


async def remove_listing(request: web.Request) -> web.Response:
    """Remove the listing the report is about, for a reason; the report is resolved."""

    async def remove(pool, settings, moderator, report_id, form) -> None:
        await moderation.remove_listing(
            pool,
            settings,
            moderator,
            _text(form, "uid"),
            _text(form, "reason"),
            report_id=report_id,
        )

    return await _act(request, "removed", remove)
