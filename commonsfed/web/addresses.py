"""A resident's e-mail address: the settings section, the confirmation link's page, and what
an unconfirmed resident may not do yet (services.addresses)."""

from __future__ import annotations

import aiohttp_jinja2
from aiohttp import web

from commonsfed.i18n import Text
from commonsfed.i18n import gettext_noop as N_
from commonsfed.services import addresses
from commonsfed.services.errors import LinkNotValid, NotAllowed, RateLimited, ValidationError
from commonsfed.web.flash import shown_on
from commonsfed.web.keys import ACCOUNT, POOL, SETTINGS
from commonsfed.web.middlewares import Handler, render_error, wants_html
from commonsfed.web.recovery import too_many
from commonsfed.web.views import client_address, require_account, shown

# what an unconfirmed resident may still send: their own account's business
_UNCONFIRMED_MAY_POST = ("/settings/", "/email/", "/password/", "/mail/")
_UNCONFIRMED_MAY_POST_EXACTLY = ("/logout", "/login")


@web.middleware
async def confirmed_email_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Where the node requires confirmed addresses, a resident who has not confirmed theirs
    is refused every form that reaches other people (publishing, answering, messaging,
    following), with a page that sends the link again; reading is never refused."""
    account = request.get(ACCOUNT)
    if (
        request.method == "POST"
        and account is not None
        and not account.email_confirmed
        and request.app[SETTINGS].email_confirmation_required
        and not request.path.startswith(_UNCONFIRMED_MAY_POST)
        and request.path not in _UNCONFIRMED_MAY_POST_EXACTLY
    ):
        message = Text(N_("Confirm your e-mail address first: follow the link we sent to "
                          "%(email)s."), email=account.email)  # fmt: skip
        if not wants_html(request):
            return render_error(request, 403, message)
        return aiohttp_jinja2.render_template("email/unconfirmed.html", request, {}, status=403)
    return await handler(request)


# --- the settings section -------------------------------------------------------------------


async def email_page(request: web.Request) -> web.Response:
    require_account(request)
    return await _email_page(request)


async def _email_page(request: web.Request, status: int = 200, **context) -> web.Response:
    account = require_account(request)
    pending = await addresses.pending_address(request.app[POOL], account)
    context = {"section": "email", "errors": {}, "values": {}, "notice": None,
               "pending": pending, **context}  # fmt: skip
    return aiohttp_jinja2.render_template("settings/email.html", request, context, status=status)


async def change_email(request: web.Request) -> web.Response:
    account = require_account(request)
    form = await request.post()
    values = {"email": str(form.get("email", ""))}
    try:
        mailed = await addresses.change_email(
            request.app[POOL], request.app[SETTINGS], account,
            current=str(form.get("current_password", "")), new_email=values["email"],
            address=client_address(request),
        )  # fmt: skip
    except ValidationError as exc:
        return await _email_page(request, 422, errors=exc.errors, values=values)
    except RateLimited as exc:
        context = {"section": "email", "errors": {"email": shown(exc)}, "values": values,
                   "notice": None, "pending": None}  # fmt: skip
        return too_many(request, "settings/email.html", context, exc)
    if mailed:
        notice = Text(N_("We sent a link to %(email)s. Your address changes when you follow "
                         "it; until then, mail goes to the one you have."),
                      email=values["email"].strip())  # fmt: skip
    else:
        notice = N_("Your address is changed.")
    return await shown_on(request, "/settings/email", notice)


async def resend(request: web.Request) -> web.Response:
    account = require_account(request)
    try:
        await addresses.resend_confirmation(
            request.app[POOL], request.app[SETTINGS], account, client_address(request)
        )
    except NotAllowed as exc:
        return await _email_page(request, 400, errors={"resend": shown(exc)})
    except RateLimited as exc:
        context = {"section": "email", "errors": {"resend": shown(exc)}, "values": {},
                   "notice": None, "pending": None}  # fmt: skip
        return too_many(request, "settings/email.html", context, exc)
    return await shown_on(
        request, "/settings/email", Text(N_("We sent a new link to %(email)s."), email=account.email)
    )


# --- the link ---------------------------------------------------------------------------------


async def confirm_page(request: web.Request) -> web.Response:
    """What the link opens: a button, so that a mail scanner that opens every link in a
    mail (as some providers' do) does not follow it for the resident."""
    try:
        account, email = await addresses.check_link(request.app[POOL], request.match_info["token"])
    except LinkNotValid as exc:
        return render_error(request, 410, shown(exc))
    context = {"token": request.match_info["token"], "for_account": account, "email": email,
               "done": None}  # fmt: skip
    return aiohttp_jinja2.render_template("email/confirm.html", request, context)


async def confirm_submit(request: web.Request) -> web.Response:
    try:
        confirmed = await addresses.confirm(request.app[POOL], request.match_info["token"])
    except LinkNotValid as exc:
        return render_error(request, 410, shown(exc))
    except NotAllowed as exc:
        return render_error(request, 409, shown(exc))
    context = {"token": "", "for_account": confirmed.account, "email": confirmed.account.email,
               "done": confirmed}  # fmt: skip
    return aiohttp_jinja2.render_template("email/confirm.html", request, context)
