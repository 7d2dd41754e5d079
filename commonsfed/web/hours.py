"""Time bank pages: a resident's hours (/settings/hours, where they also pay a resident of
a sibling node), the hours of a completed service on
its conversation page (confirm, dispute), and /admin/hours (the node's totals for admins,
disputes for moderators to settle)."""

from __future__ import annotations

import aiohttp_jinja2
from aiohttp import web

from commonsfed.i18n import gettext_noop as N_
from commonsfed.services import timebank, timebank_exchanges, timebank_remote
from commonsfed.services import timebank_withdrawal as withdrawal
from commonsfed.services.errors import NotAllowed, ServiceError, ValidationError
from commonsfed.services.timebank import TransferRefused
from commonsfed.web import answers as answer_pages
from commonsfed.web.admin import message_of
from commonsfed.web.flash import flash
from commonsfed.web.keys import FEDERATION, POOL, SETTINGS
from commonsfed.web.middlewares import render_error
from commonsfed.web.views import require_account, require_moderator


def _refused(request: web.Request, exc: ServiceError) -> web.Response:
    if isinstance(exc, timebank_exchanges.ExchangeNotFound):
        return render_error(request, 404)
    return render_error(request, 403 if isinstance(exc, NotAllowed) else 409, message_of(exc))


async def _field(request: web.Request, name: str) -> str:
    value = (await request.post()).get(name, "")
    return value if isinstance(value, str) else ""


async def hours_page(request: web.Request) -> web.Response:
    return await _hours_page(request)


async def _hours_page(
    request: web.Request, errors: dict | None = None, form: dict | None = None, status: int = 200
) -> web.Response:
    account = require_account(request)
    view = await timebank.my_hours(request.app[POOL], request.app[SETTINGS], account)
    context = {
        "section": "hours", "view": view, "errors": errors or {}, "form": form or {},
        "withdrawable": withdrawal.withdrawable(view.remote),
    }  # fmt: skip
    return aiohttp_jinja2.render_template("settings/hours.html", request, context, status=status)


async def send(request: web.Request) -> web.Response:
    """Pay hours to a resident of a sibling node: proposed to their node, which answers."""
    account = require_account(request)
    form = {"to": await _field(request, "to"), "hours": await _field(request, "hours")}
    try:
        await timebank_remote.propose(request.app[FEDERATION], account, form["to"], form["hours"])
    except ValidationError as exc:
        return await _hours_page(request, exc.errors, form, status=422)
    except TransferRefused as exc:
        return await _hours_page(request, {"hours": exc.args[0]}, form, status=409)
    except ServiceError as exc:
        return await _hours_page(request, {"to": exc.args[0]}, form, status=422)
    await flash(request, N_("Proposed to their node: the hours move once it accepts."))
    raise web.HTTPSeeOther("/settings/hours#remote")


async def withdraw(request: web.Request) -> web.Response:
    """Withdraw a proposal of hours that the other node has left unanswered."""
    account = require_account(request)
    event_id = await _field(request, "event")
    try:
        await withdrawal.withdraw(request.app[FEDERATION], account, event_id)
    except ServiceError as exc:
        status = 403 if isinstance(exc, NotAllowed) else 409
        return await _hours_page(request, {"withdraw": message_of(exc)}, status=status)
    await flash(request, N_("Withdrawn: the hours held for it are free again."))
    raise web.HTTPSeeOther("/settings/hours#remote")


# --- on the conversation page --------------------------------------------------------------


async def confirm(request: web.Request) -> web.Response:
    """The author confirms the hours: a bad number or a limit shows by the field."""
    account = require_account(request)
    conversation_id, text = int(request.match_info["id"]), await _field(request, "hours")
    try:
        await timebank_exchanges.confirm(
            request.app[POOL], request.app[SETTINGS], account, conversation_id, text,
            fed=request.app[FEDERATION],
        )  # fmt: skip
    except ValidationError as exc:
        return await _again(request, exc.errors, {"hours": text})
    except TransferRefused as exc:
        return await _again(request, {"hours": exc.args[0]}, {"hours": text}, status=409)
    except ServiceError as exc:
        return _refused(request, exc)
    await flash(request, N_("The hours are recorded."))
    raise web.HTTPSeeOther(f"/conversations/{conversation_id}#hours")


async def dispute(request: web.Request) -> web.Response:
    account = require_account(request)
    conversation_id, reason = int(request.match_info["id"]), await _field(request, "reason")
    try:
        await timebank_exchanges.dispute(
            request.app[POOL], request.app[SETTINGS], account, conversation_id, reason
        )
    except ValidationError as exc:
        return await _again(request, exc.errors, {"reason": reason})
    except ServiceError as exc:
        return _refused(request, exc)
    await flash(request, N_("Your dispute is sent to the node's moderators."))
    raise web.HTTPSeeOther(f"/conversations/{conversation_id}#hours")


async def _again(request, errors: dict, form: dict, status: int = 422) -> web.Response:
    return await answer_pages.render_conversation(
        request, hours_errors=errors, hours_form=form, status=status
    )


# --- administration ------------------------------------------------------------------------


async def admin_page(request: web.Request) -> web.Response:
    return await _admin_page(request)


async def _admin_page(
    request: web.Request,
    errors: dict | None = None,
    form: dict | None = None,
    notice: str | None = None,
    status: int = 200,
) -> web.Response:
    account = require_moderator(request)
    pool, settings = request.app[POOL], request.app[SETTINGS]
    context = {
        "section": "hours",
        "totals": await timebank.node_totals(pool, settings, account) if account.is_admin else None,
        "disputes": await timebank_exchanges.disputes(pool, account),
        "settle_errors": errors or {},
        "settle_form": form or {},
        "notice": notice,
    }
    return aiohttp_jinja2.render_template("admin/hours.html", request, context, status=status)


async def settle(request: web.Request) -> web.Response:
    account = require_moderator(request)
    exchange_id = int(request.match_info["id"])
    hours, reason = await _field(request, "hours"), await _field(request, "reason")
    form = {exchange_id: {"hours": hours, "reason": reason}}
    try:
        await timebank_exchanges.settle(
            request.app[POOL], request.app[SETTINGS], account, exchange_id, hours, reason
        )
    except ValidationError as exc:
        return await _admin_page(request, {exchange_id: exc.errors}, form, status=422)
    except TransferRefused as exc:
        return await _admin_page(request, {exchange_id: {"hours": exc.args[0]}}, form, status=409)
    except ServiceError as exc:
        return _refused(request, exc)
    await flash(request, N_("The dispute is settled; both parties are told."))
    raise web.HTTPSeeOther("/admin/hours#disputes")
