"""Middlewares: error pages, the logged-in account, CSRF, and security headers."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

import aiohttp_jinja2
from aiohttp import web

from commonsfed.db.pool import UNAVAILABLE_ERRORS
from commonsfed.i18n import gettext_noop as N_
from commonsfed.services import sessions
from commonsfed.web.keys import ACCOUNT, POOL, SESSION_ID, SETTINGS
from commonsfed.web.language import reader_language
from commonsfed.web.sessions import (
    CSRF_FIELD,
    csrf_valid,
    has_session_cookie,
    log_out,
    session_token,
)

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

_UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_TITLES = {
    400: N_("Bad request"),
    403: N_("Not allowed"),
    404: N_("Page not found"),
    405: N_("Method not allowed"),
    410: N_("Gone"),
    413: N_("Too large"),
    429: N_("Too many requests"),
    500: N_("Something went wrong"),
    503: N_("Unavailable"),
}
_MESSAGES = {
    404: N_("There is nothing at this address. It may have been removed, or the link is wrong."),
    500: N_("The node failed to answer this request. It has been logged; try again in a moment."),
    503: N_("The node cannot reach its database just now. Try again in a minute."),
}
RETRY_AFTER = 30  # seconds, for a 503 while the database is away
# nginx's status for a request whose client closed the connection first; never sent, as
# nobody is left to read it, but the access log shows it
CLIENT_CLOSED = 499
# The context processors' part of a page's context, for a page rendered when they failed
# (they read the database): an anonymous visitor's.
_BARE_CONTEXT = {"account": None, "csrf_token": "", "unread_notifications": 0}

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' https: data:; "
    "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), interest-cohort=()",
    "Cross-Origin-Opener-Policy": "same-origin",
}


def csrf_exempt(handler: Handler) -> Handler:
    """Mark a handler that is not a form (an inbox, an API with tokens)."""
    handler.csrf_exempt = True  # type: ignore[attr-defined]
    return handler


def for_peers(handler: Handler) -> Handler:
    """Mark a handler only other servers call (an inbox): no session, account, language
    or page context is made for it (`people_only`), it is no form, and its errors are
    JSON. Making them was a third of what an inbox POST cost before its own work."""
    handler.for_peers = True  # type: ignore[attr-defined]
    return csrf_exempt(handler)


def is_for_peers(request: web.BaseRequest) -> bool:
    match_info = getattr(request, "match_info", None)
    return getattr(getattr(match_info, "handler", None), "for_peers", False)


def people_only(middleware: Callable) -> Callable:
    """`middleware`, passed by for the handlers marked `for_peers`."""

    @web.middleware
    async def wrapped(request: web.Request, handler: Handler) -> web.StreamResponse:
        if is_for_peers(request):
            return await handler(request)
        return await middleware(request, handler)

    return wrapped


def wants_html(request: web.Request) -> bool:
    accept = request.headers.get("Accept", "")
    return "text/html" in accept or "json" not in accept


def _for_apps(request: web.Request) -> bool:
    """The client API answers JSON whatever the app asked for (see commonsfed.api)."""
    return request.path.startswith("/api/")


def render_error(
    request: web.Request,
    status: int,
    message: str | None = None,
    *,
    context: dict | None = None,
) -> web.Response:
    """The error page for people, `{"error": message}` for peers: those that ask for
    JSON, and those that post it (an inbox's senders often ask for nothing). `context`
    adds to (or stands in for) what the context processors gave the template."""
    title = _TITLES.get(status, "Error")
    message = message or _MESSAGES.get(status) or title
    if (
        not wants_html(request)
        or request.content_type.endswith("json")
        or _for_apps(request)
        or is_for_peers(request)
    ):
        return web.json_response({"error": message}, status=status)
    context = {**(context or {}), "title": title, "status": status, "message": message}
    return aiohttp_jinja2.render_template("error.html", request, context, status=status)


@web.middleware
async def unavailable_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """The outermost: a database that is down, restarting or full answers 503 with
    Retry-After, from wherever it failed (the account and context processor middlewares
    read it too). Peers retry a 503 later, as they would not a 500; people get a page.

    The page is rendered with an anonymous visitor's context, since the context processors
    that make the usual one read the database."""
    try:
        return await handler(request)
    except UNAVAILABLE_ERRORS as exc:
        log.warning(
            "%s %s: the database is unavailable (%s: %s)",
            request.method,
            request.path,
            type(exc).__name__,
            str(exc).partition("\n")[0],
        )
        bare = {**_BARE_CONTEXT, "request": request, "locale": reader_language(request)}
        response = render_error(request, 503, context=bare)
        response.headers["Retry-After"] = str(RETRY_AFTER)
        return response


@web.middleware
async def settings_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """The settings an admin changed on the web, in this process or another, hold from the
    next request on (see commonsfed.live_settings; nearly always free).

    With the database away, the request goes on with the settings last read (nobody can
    change them meanwhile), so that what needs no database still answers and what does
    meets the outage itself: /healthz, for one, says so in its own JSON."""
    try:
        await request.app[SETTINGS].refresh(request.app[POOL])
    except UNAVAILABLE_ERRORS as exc:
        log.debug("settings not refreshed, the database is unavailable: %s", exc)
    return await handler(request)


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except web.HTTPException as exc:
        if exc.status < 400 or exc.content_type != "text/plain":
            raise  # redirects, and errors that carry their own body (JSON for peers)
        custom = exc.text if exc.text and exc.text != f"{exc.status}: {exc.reason}" else None
        return render_error(request, exc.status, custom)
    except Exception as exc:
        if client_gone(request, exc):
            log.info("%s %s: the client hung up before the answer", request.method, request.path)
            return web.Response(status=CLIENT_CLOSED, reason="Client Closed Request")
        if isinstance(exc, UNAVAILABLE_ERRORS):
            raise  # answered 503 by unavailable_middleware
        log.exception("unhandled error on %s %s", request.method, request.path)
        return render_error(request, 500)


def client_gone(request: web.Request, exc: Exception) -> bool:
    """`exc` is the connection's end, not a fault: aiohttp fails the body's reads with
    ConnectionResetError once the client closed the connection (or was cut off for being
    too slow, see commonsfed.connections)."""
    transport = request.transport
    return isinstance(exc, ConnectionError) and (transport is None or transport.is_closing())


@web.middleware
async def account_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    request[ACCOUNT] = request[SESSION_ID] = None
    if not has_session_cookie(request):  # a peer, or a visitor who never logged in
        return await handler(request)
    token = await session_token(request)
    if token is not None:
        found = await sessions.resume(request.app[POOL], token)
        if found is None or not found[0].is_active:
            # ended (here or on another device), idle too long, or suspended since
            await log_out(request, request.app[POOL])
        else:
            request[ACCOUNT], request[SESSION_ID] = found
    return await handler(request)


@web.middleware
async def csrf_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    route_handler = request.match_info.handler
    exempt = getattr(route_handler, "csrf_exempt", False) or _for_apps(request)
    if request.method in _UNSAFE and not exempt:
        form = await request.post()
        submitted = form.get(CSRF_FIELD)
        if not await csrf_valid(request, submitted if isinstance(submitted, str) else None):
            return render_error(
                request,
                403,
                "This form has expired or did not come from this site. "
                "Go back, reload the page and try again.",
            )
    return await handler(request)


async def add_security_headers(request: web.Request, response: web.StreamResponse) -> None:
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
