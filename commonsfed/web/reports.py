"""A resident reports a listing, a message or a person: the form the Report links lead to,
and sending it (services.reports)."""

from __future__ import annotations

import aiohttp_jinja2
from aiohttp import web

from commonsfed.services import reports
from commonsfed.services.errors import RateLimited, ValidationError
from commonsfed.web.keys import POOL, SETTINGS
from commonsfed.web.middlewares import render_error
from commonsfed.web.views import require_account, shown


def _render(request: web.Request, subject, values: dict, errors: dict, status: int = 200):
    context = {"subject": subject, "categories": reports.CATEGORIES, "values": values,
               "errors": errors, "max_comment": reports.MAX_COMMENT}  # fmt: skip
    return aiohttp_jinja2.render_template("reports/new.html", request, context, status=status)


async def report_form(request: web.Request) -> web.Response:
    """GET /report?listing=<uid> (or listing_uri, message, person): the form."""
    account = require_account(request)
    try:
        subject = await reports.find_subject(
            request.app[POOL], request.app[SETTINGS], account, request.query
        )
    except ValidationError as exc:
        return render_error(request, 404, exc.errors["subject"])
    return _render(request, subject, {}, {})


async def send_report(request: web.Request) -> web.Response:
    account = require_account(request)
    form = await request.post()
    pool, settings = request.app[POOL], request.app[SETTINGS]
    try:
        await reports.file_report(pool, settings, account, form)
    except ValidationError as exc:
        if "subject" in exc.errors:
            return render_error(request, 422, exc.errors["subject"])
        subject = await reports.find_subject(pool, settings, account, form)
        values = {"category": str(form.get("category", "")),
                  "comment": str(form.get("comment", ""))}  # fmt: skip
        return _render(request, subject, values, exc.errors, status=422)
    except RateLimited as exc:
        response = render_error(request, 429, shown(exc))
        if exc.retry_after is not None:
            response.headers["Retry-After"] = str(max(1, int(exc.retry_after.total_seconds())))
        return response
    raise web.HTTPSeeOther("/report/sent")


@aiohttp_jinja2.template("reports/sent.html")
async def report_sent(request: web.Request) -> dict:
    require_account(request)
    return {}
