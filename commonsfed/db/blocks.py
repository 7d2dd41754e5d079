"""Queries on what residents block, mute and hide for themselves (resident_blocks,
resident_domain_hides). The Blocks this node receives from remote actors are actor_blocks,
in db.objects."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import asyncpg

from commonsfed.models import from_row

KINDS = ("block", "mute")


@dataclass(frozen=True)
class Blocked:
    """One person a resident blocks or mutes, as their settings list them."""

    id: int
    kind: str  # "block" | "mute"
    target_account_id: int | None
    target_username: str | None  # a resident's
    target_actor_uri: str | None  # a remote actor's
    target_handle: str | None  # a remote actor's user@host, when cached
    activity_uri: str | None
    created_at: datetime

    @property
    def label(self) -> str:
        if self.target_username:
            return f"@{self.target_username}"
        if self.target_handle:
            return f"@{self.target_handle}"
        return str(self.target_actor_uri)


@dataclass(frozen=True)
class Hidden:
    """What one resident does not want to see: the people they block or mute, and the
    domains they hide. Empty for most residents, whose pages are then read unfiltered."""

    accounts: tuple[int, ...] = ()
    actors: tuple[str, ...] = ()
    domains: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.accounts or self.actors or self.domains)


_BLOCKED = """
    SELECT b.id, b.kind, b.target_account_id, a.username AS target_username,
           b.target_actor_uri, ra.preferred_username || '@' || ra.domain AS target_handle,
           b.activity_uri, b.created_at
    FROM resident_blocks b
    LEFT JOIN accounts a ON a.id = b.target_account_id
    LEFT JOIN remote_actors ra ON ra.uri = b.target_actor_uri
"""


async def blocked_list(conn: asyncpg.Connection, account_id: int) -> list[Blocked]:
    rows = await conn.fetch(
        _BLOCKED + "WHERE b.account_id = $1 ORDER BY b.created_at DESC, b.id DESC", account_id
    )
    return [from_row(Blocked, row) for row in rows]


async def get_blocked(conn: asyncpg.Connection, account_id: int, row_id: int) -> Blocked | None:
    return from_row(
        Blocked,
        await conn.fetchrow(_BLOCKED + "WHERE b.account_id = $1 AND b.id = $2", account_id, row_id),
    )


async def find_blocked(
    conn: asyncpg.Connection,
    account_id: int,
    *,
    target_account_id: int | None = None,
    target_actor_uri: str | None = None,
) -> Blocked | None:
    return from_row(
        Blocked,
        await conn.fetchrow(
            _BLOCKED
            + """
            WHERE b.account_id = $1
              AND (b.target_account_id = $2 OR b.target_actor_uri = $3)
            """,
            account_id,
            target_account_id,
            target_actor_uri,
        ),
    )


async def count_people(conn: asyncpg.Connection, account_id: int) -> int:
    return await conn.fetchval(
        "SELECT count(*)::int FROM resident_blocks WHERE account_id = $1", account_id
    )


async def upsert_blocked(
    conn: asyncpg.Connection,
    account_id: int,
    kind: str,
    *,
    target_account_id: int | None = None,
    target_actor_uri: str | None = None,
) -> None:
    """Block or mute a person; a row there already takes the new kind (a mute turns into a
    block, or a block into a mute)."""
    conflict = "target_account_id" if target_account_id is not None else "target_actor_uri"
    await conn.execute(
        f"""
        INSERT INTO resident_blocks (account_id, kind, target_account_id, target_actor_uri)
        VALUES ($1, $2, $3, $4)
        ON CONFLICT (account_id, {conflict}) WHERE {conflict} IS NOT NULL
        DO UPDATE SET kind = EXCLUDED.kind
        """,
        account_id,
        kind,
        target_account_id,
        target_actor_uri,
    )


async def set_block_activity(
    conn: asyncpg.Connection, row_id: int, activity_uri: str | None
) -> None:
    await conn.execute(
        "UPDATE resident_blocks SET activity_uri = $2 WHERE id = $1", row_id, activity_uri
    )


async def delete_blocked(conn: asyncpg.Connection, account_id: int, row_id: int) -> bool:
    result = await conn.execute(
        "DELETE FROM resident_blocks WHERE account_id = $1 AND id = $2", account_id, row_id
    )
    return result != "DELETE 0"


# --- between two people ----------------------------------------------------------------------


async def blocks_account(conn: asyncpg.Connection, account_id: int, other_id: int) -> bool:
    """Whether resident `account_id` blocks resident `other_id` (a mute does not count)."""
    return await conn.fetchval(
        """
        SELECT EXISTS (SELECT 1 FROM resident_blocks WHERE account_id = $1
                       AND target_account_id = $2 AND kind = 'block')
        """,
        account_id,
        other_id,
    )


async def blocks_actor(conn: asyncpg.Connection, account_id: int, actor_uri: str) -> bool:
    """Whether resident `account_id` blocks the remote actor `actor_uri`."""
    return await conn.fetchval(
        """
        SELECT EXISTS (SELECT 1 FROM resident_blocks WHERE account_id = $1
                       AND target_actor_uri = $2 AND kind = 'block')
        """,
        account_id,
        actor_uri,
    )


async def username_blocks_actor(conn: asyncpg.Connection, username: str, actor_uri: str) -> bool:
    """As `blocks_actor`, for the resident called `username`."""
    return await conn.fetchval(
        """
        SELECT EXISTS (SELECT 1 FROM resident_blocks b JOIN accounts a ON a.id = b.account_id
                       WHERE lower(a.username) = lower($1) AND b.target_actor_uri = $2
                         AND b.kind = 'block')
        """,
        username,
        actor_uri,
    )


async def hides_actor(
    conn: asyncpg.Connection, account_ids: list[int], actor_uri: str, domain: str
) -> set[int]:
    """Those of `account_ids` who block or mute `actor_uri`, or hide its domain."""
    rows = await conn.fetch(
        """
        SELECT account_id FROM resident_blocks
        WHERE account_id = ANY($1::bigint[]) AND target_actor_uri = $2
        UNION
        SELECT account_id FROM resident_domain_hides
        WHERE account_id = ANY($1::bigint[]) AND domain = $3
        """,
        account_ids,
        actor_uri,
        domain,
    )
    return {row[0] for row in rows}


# --- domains -----------------------------------------------------------------------------------


async def hidden_domains(conn: asyncpg.Connection, account_id: int) -> list[asyncpg.Record]:
    return await conn.fetch(
        """
        SELECT domain, created_at FROM resident_domain_hides WHERE account_id = $1
        ORDER BY domain
        """,
        account_id,
    )


async def count_domains(conn: asyncpg.Connection, account_id: int) -> int:
    return await conn.fetchval(
        "SELECT count(*)::int FROM resident_domain_hides WHERE account_id = $1", account_id
    )


async def hide_domain(conn: asyncpg.Connection, account_id: int, domain: str) -> bool:
    result = await conn.execute(
        """
        INSERT INTO resident_domain_hides (account_id, domain) VALUES ($1, $2)
        ON CONFLICT DO NOTHING
        """,
        account_id,
        domain,
    )
    return result != "INSERT 0 0"


async def show_domain(conn: asyncpg.Connection, account_id: int, domain: str) -> bool:
    result = await conn.execute(
        "DELETE FROM resident_domain_hides WHERE account_id = $1 AND domain = $2",
        account_id,
        domain,
    )
    return result != "DELETE 0"


# --- what a resident's pages leave out ---------------------------------------------------------


async def hidden_for(conn: asyncpg.Connection, account_id: int) -> Hidden:
    """Everyone and every domain `account_id` blocks, mutes or hides: one round trip, two
    reads of primary-key indexes."""
    rows = await conn.fetch(
        """
        SELECT target_account_id, target_actor_uri, NULL AS domain FROM resident_blocks
        WHERE account_id = $1
        UNION ALL
        SELECT NULL, NULL, domain FROM resident_domain_hides WHERE account_id = $1
        """,
        account_id,
    )
    return Hidden(
        accounts=tuple(row[0] for row in rows if row[0] is not None),
        actors=tuple(row[1] for row in rows if row[1] is not None),
        domains=tuple(row[2] for row in rows if row[2] is not None),
    )
