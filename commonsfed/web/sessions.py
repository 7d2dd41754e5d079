"""Encrypted session cookies, the secret behind them, and CSRF tokens.

The cookie holds the session's token (services.sessions keeps the session itself) and the
CSRF token of the forms it is shown."""

from __future__ import annotations

import hmac
import os
import secrets
from pathlib import Path

import asyncpg
from aiohttp import web
from aiohttp_session import SESSION_KEY, Session, get_session, new_session
from aiohttp_session.cookie_storage import EncryptedCookieStorage
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from commonsfed.config import Settings
from commonsfed.services import sessions

COOKIE_NAME = "commonsfed_session"
SESSION_MAX_AGE = 30 * 24 * 3600
CSRF_FIELD = "csrf_token"


def load_secret(settings: Settings) -> str:
    """The node's secret: from settings, else from the data folder, made on first start."""
    if settings.secret:
        return settings.secret
    path: Path = settings.secret_file
    if path.exists():
        return path.read_text(encoding="ascii").strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_urlsafe(48)
    # O_EXCL: if two processes start at once, the second reads what the first wrote
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text(encoding="ascii").strip()
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(secret + "\n")
    return secret


def derive_key(secret: str, purpose: bytes) -> bytes:
    """A 32-byte key for one purpose, so one secret can serve several without reuse."""
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"commonsfed " + purpose)
    return hkdf.derive(secret.encode())


def session_storage(settings: Settings, secret: str) -> EncryptedCookieStorage:
    return EncryptedCookieStorage(
        derive_key(secret, b"session cookies"),
        cookie_name=COOKIE_NAME,
        httponly=True,
        samesite="Lax",
        secure=not settings.dev,
        max_age=SESSION_MAX_AGE,
        path="/",
    )


def has_session_cookie(request: web.Request) -> bool:
    """Whether the request brings a session cookie: peers and new visitors do not, and
    then there is no session to load (nor a cookie to decrypt)."""
    return COOKIE_NAME in request.cookies


def _token_in(session: Session) -> str:
    token = session.get("csrf")
    if not token:
        token = session["csrf"] = secrets.token_urlsafe(32)
    return token


async def csrf_token(request: web.Request) -> str:
    return _token_in(await get_session(request))


class LazyCsrfToken:
    """The session's CSRF token for templates, made the first time a page prints it.

    Only pages with a form print it; a response without one (an inbox's 202 to a peer, a
    JSON document, a redirect) then mints no token, changes no session and sets no cookie.
    The session is read when the page renders, not when the request came in, so a page
    rendered after `log_in` or `log_out` carries the token of the session it will save.
    """

    __slots__ = ("_request",)

    def __init__(self, request: web.Request) -> None:
        self._request = request

    def __str__(self) -> str:
        # loaded before the handler ran (see `template_session`), so always there
        return _token_in(self._request[SESSION_KEY])


async def template_session(request: web.Request) -> LazyCsrfToken:
    """Load the session (no decryption when there is no cookie) for `LazyCsrfToken`,
    which may be printed while a template renders, where nothing can be awaited."""
    await get_session(request)
    return LazyCsrfToken(request)


async def csrf_valid(request: web.Request, submitted: str | None) -> bool:
    session = await get_session(request)
    expected = session.get("csrf")
    return bool(expected and submitted) and hmac.compare_digest(expected, submitted)


async def log_in(request: web.Request, pool: asyncpg.Pool, account_id: int, address: str) -> None:
    """A new session for the account (see services.sessions), in a fresh cookie: a session
    fixed before login is worth nothing after it."""
    user_agent = request.headers.get("User-Agent", "")
    token = await sessions.start(pool, account_id, user_agent, address)
    session = await new_session(request)
    session["token"] = token
    session["csrf"] = secrets.token_urlsafe(32)


async def log_out(request: web.Request, pool: asyncpg.Pool) -> None:
    """End the session here and wherever its cookie is."""
    session = await get_session(request)
    token = session.get("token")
    if isinstance(token, str):
        await sessions.end(pool, token)
    session.invalidate()


async def session_token(request: web.Request) -> str | None:
    session = await get_session(request)
    value = session.get("token")
    return value if isinstance(value, str) else None
