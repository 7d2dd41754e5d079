"""Queries on the admin's domain decisions (block with a severity, allow), and what a
suspension takes away."""

from __future__ import annotations

import asyncpg

from commonsfed.models import DomainPolicy

_COLUMNS = ("domain, policy, severity, reject_media, reject_reports, public_comment, obfuscate, "
            "note, created_at")


def _policy(row: asyncpg.Record | None) -> DomainPolicy | None:
    return DomainPolicy(**dict(row)) if row else None


async def get_policy(conn: asyncpg.Connection, domain: str) -> str | None:
    return await conn.fetchval("SELECT policy FROM domain_policies WHERE domain = $1", domain)


async def get_domain_policy(conn: asyncpg.Connection, domain: str) -> DomainPolicy | None:
    row = await conn.fetchrow(f"SELECT {_COLUMNS} FROM domain_policies WHERE domain = $1", domain)
    return _policy(row)


async def domain_policies(
    conn: asyncpg.Connection, domains: list[str]
) -> dict[str, DomainPolicy]:
    """The policies of those of `domains` that have one, in one query (a fan-out's hosts)."""
    rows = await conn.fetch(
        f"SELECT {_COLUMNS} FROM domain_policies WHERE domain = ANY($1::text[])", domains
    )
    return {row["domain"]: _policy(row) for row in rows}


async def lock_domain_policy(conn: asyncpg.Connection, domain: str) -> DomainPolicy | None:
    row = await conn.fetchrow(
        f"SELECT {_COLUMNS} FROM domain_policies WHERE domain = $1 FOR UPDATE", domain
    )
    return _policy(row)


async def set_policy(conn: asyncpg.Connection, domain: str, policy: str, note: str = "") -> None:
    await conn.execute(
        """
        INSERT INTO domain_policies (domain, policy, note) VALUES ($1, $2, $3)
        ON CONFLICT (domain) DO UPDATE SET policy = EXCLUDED.policy, note = EXCLUDED.note
        """,
        domain, policy, note,
    )


async def put_block(conn: asyncpg.Connection, block: DomainPolicy) -> None:
    """Write a block as given, over any earlier decision about its domain."""
    await conn.execute(
        """
        INSERT INTO domain_policies (domain, policy, severity, reject_media, reject_reports,
                                     public_comment, obfuscate, note)
        VALUES ($1, 'block', $2, $3, $4, $5, $6, $7)
        ON CONFLICT (domain) DO UPDATE SET
            policy = 'block', severity = EXCLUDED.severity,
            reject_media = EXCLUDED.reject_media, reject_reports = EXCLUDED.reject_reports,
            public_comment = EXCLUDED.public_comment, obfuscate = EXCLUDED.obfuscate,
            note = EXCLUDED.note
        """,
        block.domain, block.severity, block.reject_media, block.reject_reports,
        block.public_comment, block.obfuscate, block.note,
    )  # fmt: skip


async def remove_policy(conn: asyncpg.Connection, domain: str, policy: str) -> bool:
    result = await conn.execute(
        "DELETE FROM domain_policies WHERE domain = $1 AND policy = $2", domain, policy
    )
    return result != "DELETE 0"


async def list_policies(conn: asyncpg.Connection, policy: str | None = None) -> list[DomainPolicy]:
    rows = await conn.fetch(
        f"""
        SELECT {_COLUMNS} FROM domain_policies WHERE $1::text IS NULL OR policy = $1
        ORDER BY domain
        """,
        policy,
    )
    return [DomainPolicy(**dict(row)) for row in rows]


async def domain_flag(conn: asyncpg.Connection, domain: str, flag: str) -> bool:
    """Whether a block of `domain` sets `flag` (reject_media or reject_reports)."""
    assert flag in ("reject_media", "reject_reports")
    return bool(await conn.fetchval(
        f"SELECT {flag} FROM domain_policies WHERE domain = $1 AND policy = 'block'", domain
    ))  # fmt: skip


async def sever_follows_with_domains(conn: asyncpg.Connection, domains: list[str]) -> int:
    """A suspension ends every follow between this node and those domains, as Mastodon's
    does. One statement for many domains (an import suspends thousands at once)."""
    result = await conn.execute(
        """
        DELETE FROM follows
        WHERE split_part(split_part(follower_uri, '://', 2), '/', 1) = ANY($1::text[])
           OR split_part(split_part(followed_uri, '://', 2), '/', 1) = ANY($1::text[])
        """,
        domains,
    )
    return int(result.split()[-1])


async def drop_domain_content(conn: asyncpg.Connection, domains: list[str]) -> int:
    """A suspension drops what the domains sent that the node shows: their notes and
    listings (with the reactions to them and the mentions they made), their reactions, and
    what waits in the inbox from them. Returns the notes and listings dropped."""
    await conn.execute(
        """
        DELETE FROM reactions
        WHERE split_part(split_part(actor_uri, '://', 2), '/', 1) = ANY($1::text[])
           OR object_uri IN (SELECT uri FROM remote_objects WHERE domain = ANY($1::text[]))
        """,
        domains,
    )
    await conn.execute(
        """
        DELETE FROM notifications WHERE object_uri IS NOT NULL
            AND split_part(split_part(object_uri, '://', 2), '/', 1) = ANY($1::text[])
        """,
        domains,
    )
    await conn.execute(
        """
        UPDATE inbox_items SET state = 'failed', error = 'dropped: the domain is suspended',
            handled_at = now(), locked_until = NULL, claim = NULL
        WHERE state = 'pending'
          AND split_part(split_part(actor_uri, '://', 2), '/', 1) = ANY($1::text[])
        """,
        domains,
    )
    result = await conn.execute(
        "DELETE FROM remote_objects WHERE domain = ANY($1::text[])", domains
    )
    return int(result.split()[-1])
