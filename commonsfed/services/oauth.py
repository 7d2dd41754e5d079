"""Apps and their tokens for the client API, with Mastodon's scopes.

A token is shown once, when it is made, and stored as a SHA-256 (as sessions are): the
database holds nothing an attacker could replay. Scopes are Mastodon's: the top-level
`read`, `write`, `follow`, `push`, the granular `read:statuses` and the like, and the
admin ones; a top-level scope grants all of its granular ones, and the legacy `follow`
grants what Mastodon lets it grant (follows, blocks, mutes).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

import asyncpg

from commonsfed.db import accounts as accounts_q
from commonsfed.db import oauth as q
from commonsfed.db.oauth import OAuthApp, TokenGrant
from commonsfed.models import Account
from commonsfed.services.errors import ValidationError

TOP_LEVEL = ("read", "write", "follow", "push", "profile")
_READ = ("accounts", "blocks", "bookmarks", "favourites", "filters", "follows", "lists",
         "mutes", "notifications", "search", "statuses")  # fmt: skip
_WRITE = ("accounts", "blocks", "bookmarks", "conversations", "favourites", "filters",
          "follows", "lists", "media", "mutes", "notifications", "reports", "statuses")  # fmt: skip
_ADMIN = ("admin:read", "admin:write", "admin:read:accounts", "admin:write:accounts",
          "admin:read:reports", "admin:write:reports")  # fmt: skip
GRANULAR = frozenset(
    [f"read:{name}" for name in _READ] + [f"write:{name}" for name in _WRITE] + list(_ADMIN)
)
ALL_SCOPES = frozenset(TOP_LEVEL) | GRANULAR
# what the legacy `follow` scope grants, as in Mastodon
_FOLLOW = frozenset({"read:follows", "write:follows", "read:blocks", "write:blocks",
                     "read:mutes", "write:mutes"})  # fmt: skip
DEFAULT_SCOPES = ("read",)  # an app that names none gets `read`, as Mastodon gives it
_TOKEN_BYTES = 32


@dataclass(frozen=True)
class Client:
    """Who a request's token speaks for: the app, and the resident (None for an app's own
    token, from client credentials)."""

    app_id: int
    account: Account | None
    scopes: frozenset[str]


def hash_secret(value: str) -> bytes:
    return hashlib.sha256(value.encode()).digest()


def new_secret() -> str:
    return secrets.token_urlsafe(_TOKEN_BYTES)


def read_scopes(text: str | None, field: str = "scope") -> list[str]:
    """Scopes as apps send them: space-separated (or `+` from a form that was not
    decoded); unknown ones are refused, naming them."""
    names = [name for name in (text or "").replace("+", " ").split() if name]
    unknown = [name for name in names if name not in ALL_SCOPES]
    if unknown:
        raise ValidationError({field: f"Unknown scope: {', '.join(unknown)}."})
    return list(dict.fromkeys(names)) or list(DEFAULT_SCOPES)


def grants(scopes: frozenset[str], needed: str) -> bool:
    """Whether a token with `scopes` may do what needs `needed` (a granular scope such as
    "read:statuses", or a top-level one)."""
    if needed in scopes:
        return True
    top, _, _rest = needed.partition(":")
    if top in scopes and top != "admin":
        return True
    if needed.startswith("admin:"):  # admin:read:accounts is granted by admin:read
        return ":".join(needed.split(":")[:2]) in scopes
    return "follow" in scopes and needed in _FOLLOW


async def register_app(
    pool: asyncpg.Pool,
    name: str,
    redirect_uris: list[str],
    scopes: list[str],
    website: str | None = None,
) -> tuple[OAuthApp, str]:
    """A new app and its secret (shown to it once)."""
    secret = new_secret()
    async with pool.acquire() as conn:
        app = await q.insert_app(
            conn, new_secret(), hash_secret(secret), name, website, redirect_uris, scopes
        )
    return app, secret


async def issue_token(
    conn: asyncpg.Connection, app_id: int, account_id: int | None, scopes: list[str]
) -> str:
    """A new token for the app (and the resident); returns the token itself, which is not
    kept."""
    token = new_secret()
    await q.insert_token(conn, hash_secret(token), app_id, account_id, scopes)
    return token


async def client_of(pool: asyncpg.Pool, token: str) -> Client | None:
    """Who `token` speaks for; None when it is unknown, revoked, or its resident can no
    longer use the node (suspended, deleted, not yet approved)."""
    async with pool.acquire() as conn:
        grant: TokenGrant | None = await q.grant_of(conn, hash_secret(token))
        if grant is None:
            return None
        account = None
        if grant.account_id is not None:
            account = await accounts_q.get_account(conn, grant.account_id)
            if account is None or not account.is_active:
                return None
    return Client(grant.app_id, account, grant.scopes)
