"""The authorize page (GET/POST /oauth/authorize): where a resident lets an app act for
them. A page for people, so it uses the web session and a CSRF-protected form: the node's
own login page first, then the consent page naming the app and what it asks for.

Nothing is ever sent to an address the app did not register: a bad client_id or
redirect_uri is a page saying so; other faults go back to the app as RFC 6749 errors."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import aiohttp_jinja2
from aiohttp import web

from commonsfed.i18n import gettext_noop as N_
from commonsfed.services.oauth import OOB, scope_words
from commonsfed.services.oauth_grants import (
    AuthorizationRequest,
    OAuthError,
    UnknownClient,
    check_client,
    check_request,
    create_code,
    granted_before,
)
from commonsfed.web.keys import ACCOUNT, POOL
from commonsfed.web.language import translate
from commonsfed.web.middlewares import CSP, render_error

_PASSED_ON = ("client_id", "redirect_uri", "response_type", "scope", "state", "code_challenge",
              "code_challenge_method")  # fmt: skip


async def _checked(request: web.Request, values: dict[str, str]) -> AuthorizationRequest:
    """The request, or an error page (UnknownClient), or a redirect of the error to the
    app (OAuthError)."""
    try:
        app, redirect_uri = await check_client(request.app[POOL], values)
    except UnknownClient as exc:
        raise _error_page(request, exc.args[0]) from None
    try:
        return check_request(app, redirect_uri, values)
    except OAuthError as exc:
        raise _back_to_app(request, redirect_uri, values.get("state"),
                           error=exc.error, error_description=exc.description) from None  # fmt: skip


class _Answer(Exception):
    """The answer to the request, found while checking it (an error page, a redirect)."""

    def __init__(self, response: web.StreamResponse) -> None:
        super().__init__()
        self.response = response


def _error_page(request: web.Request, message: str) -> _Answer:
    # both parts in the reader's language: the page is for the resident, not the app
    text = translate(request, N_("%(problem)s Go back to the app and try again, or tell its "
                                 "makers."), problem=translate(request, message))  # fmt: skip
    return _Answer(render_error(request, 400, text))


def _back_to_app(
    request: web.Request, redirect_uri: str, state: str | None, **params: str
) -> _Answer:
    """A redirect to the app with `params` (and its state), or for the out-of-band URI a
    page showing them."""
    if state:
        params["state"] = state
    if redirect_uri == OOB:
        page = aiohttp_jinja2.render_template("oauth/code.html", request, params)
        page.headers["Cache-Control"] = "no-store"
        return _Answer(page)
    parts = urlsplit(redirect_uri)
    query = urlencode([*parse_qsl(parts.query, keep_blank_values=True), *params.items()])
    return _Answer(_redirect(urlunsplit(parts._replace(query=query)), 302))


def _redirect(location: str, status: int = 303) -> web.Response:
    return web.Response(status=status, headers={"Location": location})


def _login_first(request: web.Request) -> web.Response:
    # `next` is quoted: the request's own query holds & and = of its own
    return _redirect("/login?" + urlencode({"next": request.raw_path}))


def _form_action(redirect_uri: str) -> str:
    """The CSP's form-action for the consent page: browsers (Chromium) apply it to the
    redirect that follows the form too, so the app's address must be allowed."""
    if redirect_uri == OOB:
        return "'self'"
    parts = urlsplit(redirect_uri)
    if parts.scheme in ("http", "https"):
        return f"'self' {parts.scheme}://{parts.netloc}"
    return f"'self' {parts.scheme}:"


async def authorize_page(request: web.Request) -> web.StreamResponse:
    try:
        return await _consent_page(request)
    except _Answer as answer:
        return answer.response


async def authorize_decision(request: web.Request) -> web.StreamResponse:
    try:
        return await _decide(request)
    except _Answer as answer:
        return answer.response


async def _consent_page(request: web.Request) -> web.Response:
    values = {name: request.query.get(name, "") for name in _PASSED_ON}
    if request.get(ACCOUNT) is None:
        await _checked(request, values)  # a bad request is told before any login
        return _login_first(request)
    asked = await _checked(request, values)
    if not _forced(request) and await granted_before(request.app[POOL], asked, request[ACCOUNT]):
        code = await create_code(request.app[POOL], asked, request[ACCOUNT])
        raise _back_to_app(request, asked.redirect_uri, asked.state, code=code)
    context = {
        "app": asked.app,
        "scopes": [(scope, scope_words(scope)) for scope in asked.scopes],
        "values": values | {"scope": " ".join(asked.scopes)},
        "oob": asked.redirect_uri == OOB,
    }
    response = aiohttp_jinja2.render_template("oauth/authorize.html", request, context)
    response.headers["Content-Security-Policy"] = CSP.replace(
        "form-action 'self'", f"form-action {_form_action(asked.redirect_uri)}"
    )
    response.headers["Cache-Control"] = "no-store"
    return response


def _forced(request: web.Request) -> bool:
    """The app asks for the consent page whatever was granted before (Mastodon's
    force_login)."""
    return request.query.get("force_login", "").lower() in ("1", "true", "yes")


async def _decide(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    values = {name: str(form.get(name, "")) for name in _PASSED_ON}
    account = request.get(ACCOUNT)
    if account is None:  # logged out in another tab meanwhile
        return _redirect("/oauth/authorize?" + urlencode(values))
    asked = await _checked(request, values)
    if form.get("decision") != "authorize":
        raise _back_to_app(request, asked.redirect_uri, asked.state, error="access_denied",
                           error_description=N_("The resident did not authorise the app."))  # fmt: skip
    code = await create_code(request.app[POOL], asked, account)
    raise _back_to_app(request, asked.redirect_uri, asked.state, code=code)
