"""Queries on the client API's apps and tokens (oauth_apps, oauth_tokens)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import asyncpg

from commonsfed.models import from_row


@dataclass(frozen=True)
class OAuthApp:
    id: int
    client_id: str
    name: str
    website: str | None
    redirect_uris: list[str]
    scopes: list[str]
    created_at: datetime


@dataclass(frozen=True)
class TokenGrant:
    """What a bearer token grants: an account's use (or, account_id None, the app's own)
    of the scopes."""

    token_id: int
    app_id: int
    account_id: int | None
    scopes: frozenset[str]


_APP_COLUMNS = "id, client_id, name, website, redirect_uris, scopes, created_at"


async def insert_app(
    conn: asyncpg.Connection,
    client_id: str,
    secret_hash: bytes,
    name: str,
    website: str | None,
    redirect_uris: list[str],
    scopes: list[str],
) -> OAuthApp:
    row = await conn.fetchrow(
        f"""
        INSERT INTO oauth_apps (client_id, client_secret_hash, name, website, redirect_uris,
                                scopes)
        VALUES ($1, $2, $3, $4, $5, $6) RETURNING {_APP_COLUMNS}
        """,
        client_id, secret_hash, name, website, redirect_uris, scopes,
    )  # fmt: skip
    return from_row(OAuthApp, row)


async def get_app(conn: asyncpg.Connection, client_id: str) -> OAuthApp | None:
    row = await conn.fetchrow(
        f"SELECT {_APP_COLUMNS} FROM oauth_apps WHERE client_id = $1", client_id
    )
    return from_row(OAuthApp, row)


async def app_with_secret(
    conn: asyncpg.Connection, client_id: str, secret_hash: bytes
) -> OAuthApp | None:
    row = await conn.fetchrow(
        f"""
        SELECT {_APP_COLUMNS} FROM oauth_apps
        WHERE client_id = $1 AND client_secret_hash = $2
        """,
        client_id, secret_hash,
    )  # fmt: skip
    return from_row(OAuthApp, row)


async def get_app_by_id(conn: asyncpg.Connection, app_id: int) -> OAuthApp | None:
    row = await conn.fetchrow(f"SELECT {_APP_COLUMNS} FROM oauth_apps WHERE id = $1", app_id)
    return from_row(OAuthApp, row)


async def insert_token(
    conn: asyncpg.Connection,
    token_hash: bytes,
    app_id: int,
    account_id: int | None,
    scopes: list[str],
) -> tuple[int, datetime]:
    """The new token's id and when it was made (the Token entity's created_at)."""
    row = await conn.fetchrow(
        """
        INSERT INTO oauth_tokens (token_hash, app_id, account_id, scopes)
        VALUES ($1, $2, $3, $4) RETURNING id, created_at
        """,
        token_hash, app_id, account_id, scopes,
    )  # fmt: skip
    return row["id"], row["created_at"]


async def grant_of(conn: asyncpg.Connection, token_hash: bytes) -> TokenGrant | None:
    """The token's grant, and its use noted (at most once a minute, so that a busy app does
    not write a row on every request)."""
    row = await conn.fetchrow(
        """
        WITH found AS (
            SELECT id, app_id, account_id, scopes, last_used_at FROM oauth_tokens
            WHERE token_hash = $1
        ), noted AS (
            UPDATE oauth_tokens SET last_used_at = now()
            FROM found WHERE oauth_tokens.id = found.id
              AND (found.last_used_at IS NULL OR found.last_used_at < now() - interval '1 minute')
        )
        SELECT id, app_id, account_id, scopes FROM found
        """,
        token_hash,
    )
    if row is None:
        return None
    return TokenGrant(row["id"], row["app_id"], row["account_id"], frozenset(row["scopes"]))


async def delete_token(conn: asyncpg.Connection, token_hash: bytes, app_id: int) -> bool:
    status = await conn.execute(
        "DELETE FROM oauth_tokens WHERE token_hash = $1 AND app_id = $2", token_hash, app_id
    )
    return status != "DELETE 0"


# --- authorization codes --------------------------------------------------------------------


@dataclass(frozen=True)
class AuthorizationCode:
    id: int
    app_id: int
    account_id: int
    redirect_uri: str
    scopes: list[str]
    code_challenge: str | None
    expires_at: datetime
    used_at: datetime | None
    expired: bool


async def insert_code(
    conn: asyncpg.Connection,
    code_hash: bytes,
    app_id: int,
    account_id: int,
    redirect_uri: str,
    scopes: list[str],
    code_challenge: str | None,
    lifetime_seconds: int,
) -> None:
    await conn.execute(
        """
        INSERT INTO oauth_codes (code_hash, app_id, account_id, redirect_uri, scopes,
                                 code_challenge, expires_at)
        VALUES ($1, $2, $3, $4, $5, $6, now() + make_interval(secs => $7))
        """,
        code_hash, app_id, account_id, redirect_uri, scopes, code_challenge, lifetime_seconds,
    )  # fmt: skip


async def take_code(conn: asyncpg.Connection, code_hash: bytes) -> AuthorizationCode | None:
    """The code, marked used in the same statement (so that two exchanges racing for one code
    cannot both win); `used_at` is the earlier use's time when it had been used already."""
    row = await conn.fetchrow(
        """
        WITH found AS (
            SELECT * FROM oauth_codes WHERE code_hash = $1 FOR UPDATE
        ), marked AS (
            UPDATE oauth_codes SET used_at = now()
            FROM found WHERE oauth_codes.id = found.id AND found.used_at IS NULL
        )
        SELECT id, app_id, account_id, redirect_uri, scopes, code_challenge, expires_at,
               used_at, expires_at <= now() AS expired
        FROM found
        """,
        code_hash,
    )
    return from_row(AuthorizationCode, row)


async def link_token(conn: asyncpg.Connection, code_id: int, token_id: int) -> None:
    await conn.execute("UPDATE oauth_codes SET token_id = $2 WHERE id = $1", code_id, token_id)


async def delete_token_of_code(conn: asyncpg.Connection, code_id: int) -> None:
    await conn.execute(
        "DELETE FROM oauth_tokens WHERE id = (SELECT token_id FROM oauth_codes WHERE id = $1)",
        code_id,
    )


async def delete_expired_codes(conn: asyncpg.Connection) -> int:
    status = await conn.execute(
        "DELETE FROM oauth_codes WHERE expires_at < now() - interval '1 day'"
    )
    return int(status.split()[-1])


# --- a resident's authorised apps -----------------------------------------------------------


@dataclass(frozen=True)
class AuthorisedApp:
    app_id: int
    name: str
    website: str | None
    scopes: list[str]
    authorised_at: datetime
    last_used_at: datetime | None


async def holds_token_for(
    conn: asyncpg.Connection, account_id: int, app_id: int, scopes: list[str]
) -> bool:
    """Whether the resident already gave this app a token that has every one of `scopes`."""
    return await conn.fetchval(
        """
        SELECT EXISTS (
            SELECT 1 FROM oauth_tokens
            WHERE account_id = $1 AND app_id = $2 AND scopes @> $3::text[]
        )
        """,
        account_id,
        app_id,
        scopes,
    )


async def authorised_apps(conn: asyncpg.Connection, account_id: int) -> list[AuthorisedApp]:
    """The apps holding a token of the resident's: the scopes of all their tokens together,
    the first authorisation and the latest use."""
    rows = await conn.fetch(
        """
        SELECT a.id AS app_id, a.name, a.website,
               array(SELECT DISTINCT s FROM oauth_tokens t2, unnest(t2.scopes) s
                     WHERE t2.app_id = a.id AND t2.account_id = $1 ORDER BY s) AS scopes,
               min(t.created_at) AS authorised_at, max(t.last_used_at) AS last_used_at
        FROM oauth_tokens t
        JOIN oauth_apps a ON a.id = t.app_id
        WHERE t.account_id = $1
        GROUP BY a.id
        ORDER BY max(coalesce(t.last_used_at, t.created_at)) DESC, a.id
        """,
        account_id,
    )
    return [from_row(AuthorisedApp, row) for row in rows]


async def delete_tokens_of_app(conn: asyncpg.Connection, account_id: int, app_id: int) -> int:
    status = await conn.execute(
        "DELETE FROM oauth_tokens WHERE account_id = $1 AND app_id = $2", account_id, app_id
    )
    return int(status.split()[-1])
