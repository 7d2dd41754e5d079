""" "Forgot password": asking for a link, and the page the link opens (services.recovery)."""

from __future__ import annotations

import aiohttp_jinja2
from aiohttp import web

from commonsfed.i18n import gettext_noop as N_
from commonsfed.services import recovery
from commonsfed.services.errors import LinkNotValid, NotAllowed, RateLimited, ValidationError
from commonsfed.web.keys import POOL, SETTINGS
from commonsfed.web.middlewares import render_error
from commonsfed.web.views import client_address, shown


def too_many(request: web.Request, template: str, context: dict, exc: RateLimited) -> web.Response:
    """A form's page again with a 429 and Retry-After, saying when to try again."""
    response = aiohttp_jinja2.render_template(template, request, context, status=429)
    if exc.retry_after is not None:
        response.headers["Retry-After"] = str(max(1, int(exc.retry_after.total_seconds())))
    return response


async def forgot_form(request: web.Request) -> web.Response:
    context = {"values": {}, "errors": {}, "sent": False}
    return aiohttp_jinja2.render_template("recovery/forgot.html", request, context)


async def forgot_submit(request: web.Request) -> web.Response:
    email = str((await request.post()).get("email", ""))
    context = {"values": {"email": email}, "errors": {}, "sent": False}
    try:
        await recovery.request_reset(
            request.app[POOL], request.app[SETTINGS], email, client_address(request)
        )
    except ValidationError as exc:
        context["errors"] = exc.errors
        return aiohttp_jinja2.render_template("recovery/forgot.html", request, context, status=422)
    except RateLimited as exc:
        context["errors"] = {"email": shown(exc)}
        return too_many(request, "recovery/forgot.html", context, exc)
    except NotAllowed as exc:
        return render_error(request, 403, shown(exc))
    # the same page whether an account has the address or not
    context["sent"] = True
    return aiohttp_jinja2.render_template("recovery/forgot.html", request, context)


async def reset_form(request: web.Request) -> web.Response:
    try:
        await recovery.check_link(request.app[POOL], request.match_info["token"])
    except LinkNotValid as exc:
        return render_error(request, 410, shown(exc))
    return _reset_page(request)


def _reset_page(request: web.Request, errors: dict | None = None, status: int = 200):
    context = {"token": request.match_info["token"], "errors": errors or {}}
    return aiohttp_jinja2.render_template("recovery/reset.html", request, context, status=status)


async def reset_submit(request: web.Request) -> web.Response:
    form = await request.post()
    try:
        account = await recovery.reset_password(
            request.app[POOL], request.match_info["token"],
            str(form.get("new_password", "")), str(form.get("repeated_password", "")),
        )  # fmt: skip
    except LinkNotValid as exc:
        return render_error(request, 410, shown(exc))
    except ValidationError as exc:
        return _reset_page(request, exc.errors, 422)
    notice = N_("Your new password is set, and your account was logged out everywhere. "
                "Log in with the new password.")  # fmt: skip
    context = {"values": {"username": account.username}, "error": None, "next": "/",
               "notice": notice}  # fmt: skip
    return aiohttp_jinja2.render_template("login.html", request, context)
