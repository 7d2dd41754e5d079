"""Queries on residents' profiles: the profile columns of accounts, and profile_fields."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import asyncpg

from commonsfed.ap.profiles import field_link


@dataclass(frozen=True)
class ProfileField:
    label: str
    value: str  # as typed: plain text, or a URL
    verified_at: datetime | None = None  # the linked page linked back with rel="me"

    @property
    def link(self) -> str | None:
        return field_link(self.value)


@dataclass(frozen=True)
class ResidentProfile:
    account_id: int
    username: str
    display_name: str
    bio: str  # Markdown, as typed
    area: str
    avatar_filename: str | None  # under the data folder's media/
    fields: tuple[ProfileField, ...]

    @property
    def name(self) -> str:
        return self.display_name or self.username


async def get_profile(conn: asyncpg.Connection, account_id: int) -> ResidentProfile | None:
    row = await conn.fetchrow(
        """
        SELECT id, username, display_name, summary, area, avatar_filename
        FROM accounts WHERE id = $1
        """,
        account_id,
    )
    if row is None:
        return None
    return ResidentProfile(
        account_id=row["id"],
        username=row["username"],
        display_name=row["display_name"],
        bio=row["summary"],
        area=row["area"],
        avatar_filename=row["avatar_filename"],
        fields=tuple(await get_fields(conn, account_id)),
    )


async def get_fields(conn: asyncpg.Connection, account_id: int) -> list[ProfileField]:
    rows = await conn.fetch(
        """
        SELECT label, value, verified_at FROM profile_fields
        WHERE account_id = $1 ORDER BY position
        """,
        account_id,
    )
    return [ProfileField(row["label"], row["value"], row["verified_at"]) for row in rows]


async def lock_avatar(conn: asyncpg.Connection, account_id: int) -> str | None:
    """The account's avatar file name, its row locked until the transaction ends (so two
    saves at once each know which file the other replaced)."""
    return await conn.fetchval(
        "SELECT avatar_filename FROM accounts WHERE id = $1 FOR UPDATE", account_id
    )


async def save_profile(
    conn: asyncpg.Connection,
    account_id: int,
    *,
    display_name: str,
    bio: str,
    area: str,
    avatar_filename: str | None,
    fields: list[ProfileField],
) -> None:
    await conn.execute(
        """
        UPDATE accounts SET display_name = $2, summary = $3, area = $4, avatar_filename = $5
        WHERE id = $1
        """,
        account_id,
        display_name,
        bio,
        area,
        avatar_filename,
    )
    await conn.execute("DELETE FROM profile_fields WHERE account_id = $1", account_id)
    await conn.executemany(
        """
        INSERT INTO profile_fields (account_id, position, label, value, verified_at)
        VALUES ($1, $2, $3, $4, $5)
        """,
        [
            (account_id, position, field.label, field.value, field.verified_at)
            for position, field in enumerate(fields)
        ],
    )


async def account_id_of(conn: asyncpg.Connection, username: str) -> int | None:
    return await conn.fetchval(
        "SELECT id FROM accounts WHERE lower(username) = lower($1)", username
    )
