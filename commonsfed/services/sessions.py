"""Where residents are logged in: a session per login, which its resident can see and end.

The session cookie (encrypted, see web.sessions) carries a random token; the database keeps
only the token's SHA-256 with the account, the device and when it was last used. Ending a
session deletes its row, so the cookie stops working at once on every request, wherever it
is; a session unused for `MAX_IDLE` ends by itself.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import timedelta

import asyncpg

from commonsfed.db import sessions as q
from commonsfed.i18n import Text
from commonsfed.i18n import gettext_noop as N_
from commonsfed.models import Account, AccountSession
from commonsfed.services.errors import NotAllowed

MAX_IDLE = timedelta(days=30)  # as long as the cookie lives
TOUCH_AFTER = timedelta(minutes=5)  # "last seen" moves at most this often
_MAX_USER_AGENT = 500


def _hash(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


async def start(pool: asyncpg.Pool, account_id: int, user_agent: str, address: str) -> str:
    """A new session for `account_id`; returns the token for its cookie."""
    token = secrets.token_urlsafe(32)
    async with pool.acquire() as conn:
        await q.insert_session(
            conn, _hash(token), account_id, user_agent[:_MAX_USER_AGENT], address[:100]
        )
    return token


async def resume(pool: asyncpg.Pool, token: str) -> tuple[Account, int] | None:
    """The account and session id of a live session token, else None (ended, or idle for
    longer than MAX_IDLE)."""
    async with pool.acquire() as conn:
        return await q.session_account(conn, _hash(token), MAX_IDLE, TOUCH_AFTER)


async def end(pool: asyncpg.Pool, token: str) -> None:
    async with pool.acquire() as conn:
        await q.delete_session_by_token(conn, _hash(token))


async def list_for(pool: asyncpg.Pool, account: Account) -> list[AccountSession]:
    async with pool.acquire() as conn:
        return await q.list_sessions(conn, account.id, MAX_IDLE)


async def end_one(pool: asyncpg.Pool, account: Account, session_id: int) -> None:
    async with pool.acquire() as conn:
        if not await q.delete_session(conn, account.id, session_id):
            raise NotAllowed(N_("That session has ended already."))


async def end_others(pool: asyncpg.Pool, account: Account, current_id: int | None) -> int:
    """End every session of `account` but `current_id`; how many ended."""
    async with pool.acquire() as conn:
        return await q.delete_other_sessions(conn, account.id, current_id)


async def prune(pool: asyncpg.Pool) -> int:
    async with pool.acquire() as conn:
        return await q.prune_sessions(conn, MAX_IDLE)


# Browsers name several engines in their User-Agent for old sites' sake: the first match wins
# (Edge says Chrome and Safari too; Chrome says Safari).
_BROWSERS = (
    ("Edg/", "Edge"), ("OPR/", "Opera"), ("Firefox/", "Firefox"), ("Chrome/", "Chrome"),
    ("Chromium/", "Chromium"), ("Safari/", "Safari"), ("curl/", "curl"),
)  # fmt: skip
_SYSTEMS = (
    ("Android", "Android"), ("iPhone", "iPhone"), ("iPad", "iPad"), ("Windows", "Windows"),
    ("Mac OS X", "macOS"), ("CrOS", "ChromeOS"), ("Linux", "Linux"),
)  # fmt: skip
_APP = re.compile(r"^([A-Za-z][\w.-]{0,40})/")


def describe_device(user_agent: str) -> str:
    """"Firefox on Linux", as a resident recognises their devices; the app's own name for
    a client that is not a browser, "an unknown device" for none."""
    browser = next((name for mark, name in _BROWSERS if mark in user_agent), None)
    system = next((name for mark, name in _SYSTEMS if mark in user_agent), None)
    if browser and system:
        return Text(N_("%(browser)s on %(system)s"), browser=browser, system=system)
    if browser or system:
        return browser or system
    app = _APP.match(user_agent)
    return app.group(1) if app else N_("an unknown device")
