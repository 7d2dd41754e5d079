"""Queries on reports: filed by residents, or come in as Flags from other servers; and the
lookups that tell whether what a report names is here."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import asyncpg

from commonsfed.models import from_row


@dataclass(frozen=True)
class Report:
    id: int
    activity_uri: str | None  # the Flag it came as; None for a resident's report
    reporter_uri: str  # the resident's actor, or the Flag's actor (a server's instance actor)
    reporter_account_id: int | None
    reporter_username: str | None
    category: str
    about: str  # listing, message or person
    target_actor_uri: str | None
    target_uris: list[str]
    listing_uid: str | None
    remote_listing_uri: str | None
    message_id: int | None
    quoted: str
    content: str
    created_at: datetime
    resolved_at: datetime | None
    forwarded_at: datetime | None

    @property
    def is_open(self) -> bool:
        return self.resolved_at is None


@dataclass(frozen=True)
class NewReport:
    """What `insert_report` writes; the caller has checked that it names something."""

    reporter_uri: str
    category: str
    about: str
    target_actor_uri: str | None
    target_uris: list[str]
    content: str
    reporter_account_id: int | None = None
    activity_uri: str | None = None
    listing_uid: str | None = None
    remote_listing_uri: str | None = None
    message_id: int | None = None
    quoted: str = ""


_COLUMNS = """
    r.id, r.activity_uri, r.reporter_uri, r.reporter_account_id, a.username AS reporter_username,
    r.category, r.about, r.target_actor_uri, r.target_uris, r.listing_uid, r.remote_listing_uri,
    r.message_id, r.quoted, r.content, r.created_at, r.resolved_at, r.forwarded_at
"""
_FROM = "FROM reports r LEFT JOIN accounts a ON a.id = r.reporter_account_id"


async def insert_report(conn: asyncpg.Connection, new: NewReport) -> int | None:
    """The new report's id; None when a Flag with this activity id is here already."""
    return await conn.fetchval(
        """
        INSERT INTO reports (activity_uri, reporter_uri, reporter_account_id, category, about,
                             target_actor_uri, target_uris, listing_uid, remote_listing_uri,
                             message_id, quoted, content)
        VALUES ($1, $2, $3, $4, $5, $6, $7::text[], $8, $9, $10, $11, $12)
        ON CONFLICT (activity_uri) DO NOTHING
        RETURNING id
        """,
        new.activity_uri, new.reporter_uri, new.reporter_account_id, new.category, new.about,
        new.target_actor_uri, new.target_uris, new.listing_uid, new.remote_listing_uri,
        new.message_id, new.quoted, new.content,
    )  # fmt: skip


async def get_report(
    conn: asyncpg.Connection, report_id: int, *, for_update: bool = False
) -> Report | None:
    lock = " FOR UPDATE OF r" if for_update else ""
    row = await conn.fetchrow(f"SELECT {_COLUMNS} {_FROM} WHERE r.id = $1{lock}", report_id)
    return from_row(Report, row)


async def list_reports(
    conn: asyncpg.Connection, *, resolved: bool, limit: int, before_id: int | None = None
) -> list[Report]:
    """Open reports newest first, or resolved ones most recently resolved first."""
    order = "r.resolved_at DESC, r.id DESC" if resolved else "r.created_at DESC, r.id DESC"
    rows = await conn.fetch(
        f"""
        SELECT {_COLUMNS} {_FROM}
        WHERE (r.resolved_at IS NOT NULL) = $1 AND ($2::bigint IS NULL OR r.id < $2)
        ORDER BY {order} LIMIT $3
        """,
        resolved, before_id, limit,
    )  # fmt: skip
    return [from_row(Report, row) for row in rows]


async def count_open(conn: asyncpg.Connection) -> int:
    return await conn.fetchval("SELECT count(*)::int FROM reports WHERE resolved_at IS NULL")


async def set_resolved(conn: asyncpg.Connection, report_id: int, resolved: bool) -> None:
    await conn.execute(
        "UPDATE reports SET resolved_at = CASE WHEN $2 THEN now() END WHERE id = $1",
        report_id, resolved,
    )  # fmt: skip


async def set_forwarded(conn: asyncpg.Connection, report_id: int) -> None:
    await conn.execute("UPDATE reports SET forwarded_at = now() WHERE id = $1", report_id)


async def open_reports_about_listing(conn: asyncpg.Connection, uid: str) -> list[int]:
    rows = await conn.fetch(
        "SELECT id FROM reports WHERE listing_uid = $1 AND resolved_at IS NULL", uid
    )
    return [row["id"] for row in rows]


# --- a resident's reports ------------------------------------------------------------------


async def recent_by(
    conn: asyncpg.Connection, account_id: int, window: timedelta
) -> tuple[int, datetime | None]:
    """(how many reports the resident filed within `window`, the oldest of them)."""
    row = await conn.fetchrow(
        """
        SELECT count(*)::int AS n, min(created_at) AS oldest FROM reports
        WHERE reporter_account_id = $1 AND created_at > now() - $2::interval
        """,
        account_id, window,
    )  # fmt: skip
    return row["n"], row["oldest"]


async def lock_reporter(conn: asyncpg.Connection, account_id: int) -> None:
    await conn.execute("SELECT 1 FROM accounts WHERE id = $1 FOR UPDATE", account_id)


async def open_duplicate(
    conn: asyncpg.Connection, account_id: int, about: str, target_uris: list[str]
) -> int | None:
    """An open report by the same resident about the same thing."""
    return await conn.fetchval(
        """
        SELECT id FROM reports
        WHERE reporter_account_id = $1 AND about = $2 AND target_uris = $3::text[]
          AND resolved_at IS NULL
        LIMIT 1
        """,
        account_id, about, target_uris,
    )  # fmt: skip


# --- what a Flag may name ------------------------------------------------------------------


async def local_person(conn: asyncpg.Connection, username: str) -> asyncpg.Record | None:
    """A resident who is still here (not deleted): id and username."""
    return await conn.fetchrow(
        """
        SELECT id, username FROM accounts
        WHERE lower(username) = lower($1) AND status <> 'deleted'
        """,
        username,
    )


async def local_listing(conn: asyncpg.Connection, uid: str) -> asyncpg.Record | None:
    """uid, title, author_id and author (username) of a listing that is here."""
    return await conn.fetchrow(
        """
        SELECT l.uid, l.title, l.author_id, a.username AS author FROM listings l
        JOIN accounts a ON a.id = l.author_id WHERE l.uid = $1
        """,
        uid,
    )


async def local_message_by_ap_id(conn: asyncpg.Connection, ap_id: str) -> asyncpg.Record | None:
    """A message a resident sent, by the id it went out as: id, body and sender (username)."""
    return await conn.fetchrow(
        """
        SELECT m.id, m.body, a.username AS sender FROM messages m
        JOIN accounts a ON a.id = m.sender_account_id WHERE m.ap_id = $1
        """,
        ap_id,
    )


async def message_for_report(conn: asyncpg.Connection, message_id: int) -> asyncpg.Record | None:
    """A message with who sent it and who the two parties of its conversation are."""
    return await conn.fetchrow(
        """
        SELECT m.id, m.body, m.ap_id, m.kind, m.sender_account_id, m.sender_actor_uri,
               s.username AS sender_username, m.conversation_id,
               c.respondent_account_id, l.author_id AS listing_author_id,
               c.remote_listing_uri
        FROM messages m
        JOIN conversations c ON c.id = m.conversation_id
        LEFT JOIN listings l ON l.id = c.listing_id
        LEFT JOIN accounts s ON s.id = m.sender_account_id
        WHERE m.id = $1
        """,
        message_id,
    )
