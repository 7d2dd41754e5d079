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
from datetime import datetime
from urllib.parse import urlsplit

import asyncpg

from commonsfed.db import accounts as accounts_q
from commonsfed.db import oauth as q
from commonsfed.db.oauth import AuthorisedApp, OAuthApp, TokenGrant
from commonsfed.i18n import Text
from commonsfed.i18n import gettext_noop as N_
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


# what the consent page and the settings say an app may do, in the reader's language (|t)
SCOPE_WORDS = {
    "read": N_("read everything on your account: your listings, answers, messages and "
               "notifications"),
    "write": N_("post, change and remove listings, answers and messages for you, and change "
                "your profile"),
    "follow": N_("follow and unfollow people and neighbourhoods, and block or mute for you"),
    "push": N_("send you notifications on your device"),
    "profile": N_("see your name and profile"),
}  # fmt: skip


# the granular scopes, each a whole sentence so that it translates whole
GRANULAR_WORDS = {
    "read:accounts": N_("see accounts and their profiles"),
    "read:blocks": N_("see whom you block"),
    "read:bookmarks": N_("see your bookmarks"),
    "read:favourites": N_("see your favourites"),
    "read:filters": N_("see your filters"),
    "read:follows": N_("see whom you follow"),
    "read:lists": N_("see your lists"),
    "read:mutes": N_("see whom you mute"),
    "read:notifications": N_("read your notifications"),
    "read:search": N_("search for you"),
    "read:statuses": N_("read listings, answers and posts"),
    "write:accounts": N_("change your profile"),
    "write:blocks": N_("block and unblock for you"),
    "write:bookmarks": N_("bookmark and unbookmark for you"),
    "write:conversations": N_("change and remove your conversations"),
    "write:favourites": N_("favourite and unfavourite for you"),
    "write:filters": N_("change your filters"),
    "write:follows": N_("follow and unfollow for you"),
    "write:lists": N_("change your lists"),
    "write:media": N_("upload photos for you"),
    "write:mutes": N_("mute and unmute for you"),
    "write:notifications": N_("dismiss your notifications"),
    "write:reports": N_("report to the moderators for you"),
    "write:statuses": N_("post and remove listings and posts for you"),
}  # fmt: skip


def scope_words(scope: str) -> str:
    words = SCOPE_WORDS.get(scope) or GRANULAR_WORDS.get(scope)
    if words:
        return words
    if scope.startswith("admin:"):
        return Text(N_("act as a moderator (%(scope)s)"), scope=scope)
    return scope  # not a scope the node grants: shown as asked


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


MAX_APP_NAME = 200
MAX_WEBSITE = 2000
MAX_REDIRECT_URIS = 20
OOB = "urn:ietf:wg:oauth:2.0:oob"  # "out of band": the code is shown to copy, not sent


def read_redirect_uris(value: str | list[str] | None) -> list[str]:
    """An app's redirect URIs: several in one string (one a line, or space-separated, as
    Mastodon.py and toot send them) or an array (Elk, Phanpy). Each must be absolute with
    no fragment (RFC 6749 3.1.2); custom schemes (`com.keylesspalace.tusky:/oauth`) are
    how mobile apps get their code back."""
    items = value if isinstance(value, list) else (value or "").split()
    uris = list(dict.fromkeys(item.strip() for item in items if item and item.strip()))
    if not uris:
        raise ValidationError({"redirect_uris": "can't be blank"})
    if len(uris) > MAX_REDIRECT_URIS:
        raise ValidationError({"redirect_uris": f"at most {MAX_REDIRECT_URIS}"})
    for uri in uris:
        problem = redirect_uri_problem(uri)
        if problem:
            raise ValidationError({"redirect_uris": f"{uri[:200]} {problem}"})
    return uris


def redirect_uri_problem(uri: str) -> str | None:
    if uri == OOB:
        return None
    parts = urlsplit(uri)
    if len(uri) > MAX_WEBSITE or not parts.scheme or not (parts.netloc or parts.path):
        return "must be an absolute URI"
    if parts.fragment or "#" in uri:
        return "cannot contain a fragment"
    if parts.scheme.lower() in ("javascript", "data", "vbscript", "file"):
        return "must not be a script or a file"
    return None


async def register_app(
    pool: asyncpg.Pool,
    name: str,
    redirect_uris: list[str],
    scopes: list[str],
    website: str | None = None,
) -> tuple[OAuthApp, str]:
    """A new app and its secret (shown to it once)."""
    name = (name or "").strip()
    if not 1 <= len(name) <= MAX_APP_NAME:
        raise ValidationError({"client_name": f"must be 1 to {MAX_APP_NAME} characters"})
    website = (website or "").strip() or None
    if website and (len(website) > MAX_WEBSITE or not website.startswith(("https://", "http://"))):
        raise ValidationError({"website": "must be an http(s) URL"})
    secret = new_secret()
    async with pool.acquire() as conn:
        app = await q.insert_app(
            conn, new_secret(), hash_secret(secret), name, website, redirect_uris, scopes
        )
    return app, secret


async def app_of(pool: asyncpg.Pool, client_id: str) -> OAuthApp | None:
    async with pool.acquire() as conn:
        return await q.get_app(conn, client_id) if client_id else None


async def app_by_id(pool: asyncpg.Pool, app_id: int) -> OAuthApp | None:
    async with pool.acquire() as conn:
        return await q.get_app_by_id(conn, app_id)


async def authenticate_app(
    pool: asyncpg.Pool, client_id: str | None, client_secret: str | None
) -> OAuthApp | None:
    """The app whose id and secret these are, or None."""
    if not client_id or not client_secret:
        return None
    async with pool.acquire() as conn:
        return await q.app_with_secret(conn, client_id, hash_secret(client_secret))


@dataclass(frozen=True)
class IssuedToken:
    """A token as the token endpoint hands it over: the only time it is seen."""

    access_token: str
    scopes: list[str]
    created_at: datetime
    token_id: int


async def issue_token(
    conn: asyncpg.Connection, app_id: int, account_id: int | None, scopes: list[str]
) -> str:
    """A new token for the app (and the resident); returns the token itself, which is not
    kept."""
    return (await new_token(conn, app_id, account_id, scopes)).access_token


async def new_token(
    conn: asyncpg.Connection, app_id: int, account_id: int | None, scopes: list[str]
) -> IssuedToken:
    token = new_secret()
    token_id, created_at = await q.insert_token(
        conn, hash_secret(token), app_id, account_id, scopes
    )
    return IssuedToken(token, scopes, created_at, token_id)


async def revoke_token(pool: asyncpg.Pool, app: OAuthApp, token: str) -> None:
    """End `token` if it is the app's. Another app's token, or one that is not a token,
    is left alone without saying so (RFC 7009: the answer is the same either way)."""
    async with pool.acquire() as conn:
        await q.delete_token(conn, hash_secret(token), app.id)


async def authorised_apps(pool: asyncpg.Pool, account: Account) -> list[AuthorisedApp]:
    async with pool.acquire() as conn:
        return await q.authorised_apps(conn, account.id)


async def revoke_app(pool: asyncpg.Pool, account: Account, app_id: int) -> int:
    """End every token the resident gave the app; how many there were."""
    async with pool.acquire() as conn:
        return await q.delete_tokens_of_app(conn, account.id, app_id)


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
