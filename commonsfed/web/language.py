"""The reader's language, and the footer's switch that changes it.

Order of choice: the account's language (the switch, remembered per account), the
`language` cookie the switch leaves for a visitor who is not logged in, the browser's
`Accept-Language`, the node's default. See commonsfed.i18n.
"""

from __future__ import annotations

from aiohttp import web

from commonsfed import i18n
from commonsfed.services import accounts
from commonsfed.web.keys import ACCOUNT, LANGUAGE, POOL, SETTINGS

COOKIE = "language"
COOKIE_AGE = 365 * 24 * 3600


def reader_language(request: web.Request) -> str:
    language = request.get(LANGUAGE)
    if language is None:
        language = request[LANGUAGE] = _choose(request)
    return language


@web.middleware
async def language_middleware(request: web.Request, handler) -> web.StreamResponse:
    """The reader's language for everything rendered while answering, macros imported
    without their caller's context included (see i18n.CURRENT_LANGUAGE)."""
    with i18n.rendering_in(reader_language(request)):
        return await handler(request)


def _choose(request: web.Request) -> str:
    account = request.get(ACCOUNT)
    if account is not None and account.language in i18n.LANGUAGES:
        return account.language
    cookie = request.cookies.get(COOKIE)
    if cookie in i18n.LANGUAGES:
        return cookie
    settings = request.app.get(SETTINGS)  # None in a bare application (unit tests)
    default = settings.language if settings is not None else i18n.SOURCE_LANGUAGE
    return i18n.choose(request.headers.get("Accept-Language"), default)


def translate(request: web.Request, message: str, **values: object) -> str:
    """`message` in the reader's language, with `%(name)s` filled from `values` (a Text
    carries its own values)."""
    if values:
        return i18n.gettext(reader_language(request), message) % values
    return i18n.localize(reader_language(request), message)


def _back_to(request: web.Request, target: str) -> str:
    """Where to return after the switch: a path on this node, never another site."""
    if target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/"


async def change_language(request: web.Request) -> web.Response:
    """POST /language (a resident) or GET /language (a visitor): the footer's switch. A
    resident's choice is kept with their account (and follows them to other browsers and to
    their mail); a visitor's only in a cookie, so the GET changes nothing on the node."""
    form = await request.post() if request.method == "POST" else request.query
    language = str(form.get("language", ""))
    if language not in i18n.LANGUAGES:
        raise web.HTTPBadRequest(text=f"unknown language {language!r}: use one of "
                                      f"{', '.join(i18n.LANGUAGES)}")  # fmt: skip
    response = web.HTTPSeeOther(_back_to(request, str(form.get("next", "/"))))
    account = request.get(ACCOUNT)
    if account is not None and request.method == "POST":
        await accounts.set_language(request.app[POOL], account, language)
    secure = request.app[SETTINGS].scheme == "https"
    response.set_cookie(COOKIE, language, max_age=COOKIE_AGE, httponly=True, samesite="Lax",
                        secure=secure, path="/")  # fmt: skip
    raise response
