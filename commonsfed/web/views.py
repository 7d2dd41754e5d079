"""HTML pages for people: home, register, log in, log out."""

from __future__ import annotations

import ipaddress

import aiohttp_jinja2
from aiohttp import web

from commonsfed.i18n import Text
from commonsfed.i18n import gettext_noop as N_
from commonsfed.services import accounts
from commonsfed.services import home as home_service
from commonsfed.services.errors import NotAllowed, RateLimited, ValidationError
from commonsfed.web.flash import flash
from commonsfed.web.keys import ACCOUNT, POOL, SETTINGS
from commonsfed.web.middlewares import render_error
from commonsfed.web.sessions import log_in, log_out


def client_address(request: web.Request) -> str:
    """The visitor's address; behind a reverse proxy on this machine, the one it forwards."""
    remote = request.remote or "unknown"
    forwarded = request.headers.get("X-Forwarded-For")
    try:
        from_loopback = ipaddress.ip_address(remote).is_loopback
    except ValueError:
        from_loopback = False
    if forwarded and from_loopback:
        # the proxy appends the address it saw last; earlier entries are the client's word
        return forwarded.split(",")[-1].strip()
    return remote


def safe_next(value: str | None) -> str:
    """Only same-site paths, so a crafted link cannot send people elsewhere after login.
    Browsers drop tabs and line breaks from a URL and read a backslash as a slash, so
    "/<tab>/evil.example" would be "//evil.example", another site: any of them is refused."""
    if (
        value
        and value.startswith("/")
        and not value.startswith("//")
        and "\\" not in value
        and not any(ord(ch) < 32 or ord(ch) == 127 for ch in value)
    ):
        return value
    return "/"


def shown(exc: Exception) -> str:
    """A service error's message as it was made, for a page to show with `|t` in its reader's
    language: `str(exc)` would turn a Text (commonsfed.i18n) into plain English."""
    message = exc.args[0] if exc.args else ""
    return message if isinstance(message, str) else str(exc)


@aiohttp_jinja2.template("home.html")
async def home(request: web.Request) -> dict:
    return {}


async def register_form(request: web.Request) -> web.Response:
    if request.app[SETTINGS].registration == "closed":
        return render_error(request, 403, N_("Registration is closed on this node. Ask the "
                                             "people who run it for an invitation."))
    return aiohttp_jinja2.render_template("register.html", request, {"values": {}, "errors": {}})


async def register_submit(request: web.Request) -> web.Response:
    form = await request.post()
    values = {name: str(form.get(name, "")) for name in ("username", "email")}
    try:
        account = await accounts.register(
            request.app[POOL], request.app[SETTINGS],
            username=values["username"], email=values["email"],
            password=str(form.get("password", "")),
        )
    except NotAllowed as exc:
        return render_error(request, 403, shown(exc))
    except ValidationError as exc:
        context = {"values": values, "errors": exc.errors}
        return aiohttp_jinja2.render_template("register.html", request, context, status=422)
    if account.is_pending:
        return aiohttp_jinja2.render_template("pending.html", request, {"pending": account})
    await log_in(request, request.app[POOL], account.id, client_address(request))
    # after log_in, which starts a new session: the message goes into the one kept
    name = request.app[SETTINGS].instance_name
    await flash(request, Text(N_("Welcome to %(name)s! Your account is ready."), name=name))
    raise web.HTTPSeeOther("/welcome")


async def login_form(request: web.Request) -> web.Response:
    context = {"values": {}, "error": None, "next": safe_next(request.query.get("next"))}
    return aiohttp_jinja2.render_template("login.html", request, context)


async def login_submit(request: web.Request) -> web.Response:
    form = await request.post()
    values = {"username": str(form.get("username", ""))}
    next_url = safe_next(str(form.get("next", "")))
    first = await home_service.is_first_visit(request.app[POOL], values["username"])
    try:
        account = await accounts.authenticate(
            request.app[POOL], values["username"], str(form.get("password", "")),
            client_address(request),
        )
    except (NotAllowed, RateLimited) as exc:
        status = 429 if isinstance(exc, RateLimited) else 401
        context = {"values": values, "error": shown(exc), "next": next_url}
        response = aiohttp_jinja2.render_template("login.html", request, context, status=status)
        if isinstance(exc, RateLimited) and exc.retry_after is not None:
            response.headers["Retry-After"] = str(max(1, int(exc.retry_after.total_seconds())))
        return response
    await log_in(request, request.app[POOL], account.id, client_address(request))
    if first:  # approved since they registered, or made by an admin: welcomed now
        await flash(request, N_("Welcome! You are logged in for the first time."))
        # a login on the way somewhere (an app's authorisation, say) still goes there
        raise web.HTTPSeeOther("/welcome" if next_url == "/" else next_url)
    await flash(
        request, Text(N_("You are logged in as @%(name)s."), name=account.username), "info"
    )
    raise web.HTTPSeeOther(next_url)


async def logout(request: web.Request) -> web.Response:
    await log_out(request, request.app[POOL])
    await flash(request, N_("You are logged out. See you soon!"), "info")
    raise web.HTTPSeeOther("/")


def require_account(request: web.Request):
    """The logged-in account, or a redirect to the login page."""
    account = request[ACCOUNT]
    if account is None:
        raise web.HTTPSeeOther(f"/login?next={request.path_qs}")
    return account


def require_moderator(request: web.Request):
    """The logged-in moderator or admin: they act on reports and accounts."""
    account = require_account(request)
    if not account.is_moderator:
        raise web.HTTPForbidden(text="Only the node's moderators and admins can see this page.")
    return account


def require_admin(request: web.Request):
    """The logged-in admin: only admins change the node's settings and federation."""
    account = require_account(request)
    if not account.is_admin:
        raise web.HTTPForbidden(text="Only the node's admins can see this page.")
    return account
