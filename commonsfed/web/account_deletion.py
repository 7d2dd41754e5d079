"""Settings: deleting one's account, at /settings/delete (services.account_deletion)."""

from __future__ import annotations

import aiohttp_jinja2
from aiohttp import web

from commonsfed.services import account_deletion
from commonsfed.services.errors import RateLimited, ValidationError
from commonsfed.web.keys import POOL, SETTINGS
from commonsfed.web.middlewares import render_error
from commonsfed.web.sessions import log_out
from commonsfed.web.views import client_address, require_account, shown


async def delete_page(request: web.Request) -> web.Response:
    require_account(request)
    return _page(request)


def _page(request: web.Request, status: int = 200, errors: dict | None = None) -> web.Response:
    context = {"section": "delete", "errors": errors or {}}
    return aiohttp_jinja2.render_template("settings/delete.html", request, context, status=status)


async def delete_account(request: web.Request) -> web.Response:
    """Delete the account once its password is given; the visitor leaves logged out."""
    account = require_account(request)
    form = await request.post()
    try:
        await account_deletion.delete_account(
            request.app[POOL], request.app[SETTINGS], account,
            password=str(form.get("password", "")), address=client_address(request),
        )  # fmt: skip
    except ValidationError as exc:
        return _page(request, 422, exc.errors)
    except RateLimited as exc:
        return _page(request, 429, {"password": shown(exc)})
    except account_deletion.AccountGone as exc:
        await log_out(request, request.app[POOL])
        return render_error(request, 410, shown(exc), context={"account": None})
    await log_out(request, request.app[POOL])
    context = {"account": None, "username": account.username}
    return aiohttp_jinja2.render_template("settings/deleted.html", request, context)
