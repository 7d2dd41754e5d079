"""Queries on thanks (migration 0031): one per conversation and writer, shown on the thanked
resident's profile."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlencode

import asyncpg

from commonsfed.models import from_row


@dataclass(frozen=True)
class Thanks:
    id: int
    conversation_id: int
    writer_account_id: int | None
    writer_actor_uri: str | None
    subject_account_id: int | None
    subject_actor_uri: str | None
    body: str
    created_at: datetime
    updated_at: datetime | None
    ap_id: str
    writer_username: str | None = None  # a local writer's name
    writer_handle: str | None = None  # a remote writer's user@host, when cached
    listing_title: str = ""
    listing_uid: str | None = None  # a listing of this node
    remote_listing_uri: str | None = None  # else the other node's listing

    @property
    def listing_href(self) -> str:
        """The listing's page here."""
        if self.listing_uid:
            return f"/listings/{self.listing_uid}"
        return "/network/listing?" + urlencode({"uri": self.remote_listing_uri or ""})

    @property
    def writer_name(self) -> str:
        if self.writer_username:
            return f"@{self.writer_username}"
        if self.writer_handle:
            return f"@{self.writer_handle}"
        return str(self.writer_actor_uri)


_COLUMNS = """
    t.id, t.conversation_id, t.writer_account_id, t.writer_actor_uri, t.subject_account_id,
    t.subject_actor_uri, t.body, t.created_at, t.updated_at, t.ap_id,
    w.username AS writer_username,
    ra.preferred_username || '@' || ra.domain AS writer_handle,
    COALESCE(l.title, c.remote_listing_title, '') AS listing_title,
    l.uid AS listing_uid, c.remote_listing_uri
"""
_FROM = """
    FROM thanks t
    JOIN conversations c ON c.id = t.conversation_id
    LEFT JOIN listings l ON l.id = c.listing_id
    LEFT JOIN accounts w ON w.id = t.writer_account_id
    LEFT JOIN remote_actors ra ON ra.uri = t.writer_actor_uri
"""


def _thanks(row: asyncpg.Record | None) -> Thanks | None:
    return from_row(Thanks, row) if row else None


async def insert_thanks(
    conn: asyncpg.Connection,
    conversation_id: int,
    *,
    body: str,
    ap_id: str,
    writer_account_id: int | None = None,
    writer_actor_uri: str | None = None,
    subject_account_id: int | None = None,
    subject_actor_uri: str | None = None,
) -> int | None:
    """The new thanks' id; None when this writer thanked in this conversation already."""
    return await conn.fetchval(
        """
        INSERT INTO thanks (conversation_id, writer_account_id, writer_actor_uri,
                            subject_account_id, subject_actor_uri, body, ap_id)
        VALUES ($1, $2, $3, $4, $5, $6, $7)
        ON CONFLICT DO NOTHING
        RETURNING id
        """,
        conversation_id,
        writer_account_id,
        writer_actor_uri,
        subject_account_id,
        subject_actor_uri,
        body,
        ap_id,
    )


async def get_thanks(conn: asyncpg.Connection, thanks_id: int) -> Thanks | None:
    return _thanks(await conn.fetchrow(f"SELECT {_COLUMNS} {_FROM} WHERE t.id = $1", thanks_id))


async def thanks_by_ap_id(conn: asyncpg.Connection, ap_id: str) -> Thanks | None:
    return _thanks(await conn.fetchrow(f"SELECT {_COLUMNS} {_FROM} WHERE t.ap_id = $1", ap_id))


async def in_conversation(conn: asyncpg.Connection, conversation_id: int) -> list[Thanks]:
    rows = await conn.fetch(
        f"SELECT {_COLUMNS} {_FROM} WHERE t.conversation_id = $1 ORDER BY t.id", conversation_id
    )
    return [from_row(Thanks, row) for row in rows]


async def received_by(conn: asyncpg.Connection, account_id: int, limit: int) -> list[Thanks]:
    """The thanks a resident received, newest first."""
    rows = await conn.fetch(
        f"""
        SELECT {_COLUMNS} {_FROM}
        WHERE t.subject_account_id = $1
        ORDER BY t.created_at DESC, t.id DESC
        LIMIT $2
        """,
        account_id,
        limit,
    )
    return [from_row(Thanks, row) for row in rows]


async def set_body(conn: asyncpg.Connection, thanks_id: int, body: str) -> None:
    await conn.execute(
        "UPDATE thanks SET body = $2, updated_at = now() WHERE id = $1", thanks_id, body
    )


async def delete_thanks(conn: asyncpg.Connection, thanks_id: int) -> None:
    await conn.execute("DELETE FROM thanks WHERE id = $1", thanks_id)


async def delete_remote(conn: asyncpg.Connection, ap_id: str, writer_uri: str) -> bool:
    """A remote writer's Delete of their thanks' Note; False when there was none of theirs."""
    status = await conn.execute(
        "DELETE FROM thanks WHERE ap_id = $1 AND writer_actor_uri = $2", ap_id, writer_uri
    )
    return status != "DELETE 0"


async def completed_exchange(
    conn: asyncpg.Connection,
    listing_uri: str,
    listing_uid: str | None,
    writer_uri: str,
    subject_id: int,
) -> int | None:
    """The completed conversation in which remote `writer_uri` and the resident `subject_id`
    exchanged what `listing_uri` offered or asked: either the resident's listing that the
    writer answered, or the writer's listing that the resident answered."""
    return await conn.fetchval(
        """
        SELECT c.id FROM conversations c LEFT JOIN listings l ON l.id = c.listing_id
        WHERE c.state = 'completed' AND (
            (l.uid = $2 AND l.author_id = $4 AND c.respondent_actor_uri = $3)
            OR (c.remote_listing_uri = $1 AND c.remote_author_uri = $3
                AND c.respondent_account_id = $4))
        ORDER BY c.id LIMIT 1
        """,
        listing_uri, listing_uid, writer_uri, subject_id,
    )  # fmt: skip


async def delete_by_writer(conn: asyncpg.Connection, writer_uri: str) -> None:
    """A remote writer deleted their account: their thanks go with it."""
    await conn.execute("DELETE FROM thanks WHERE writer_actor_uri = $1", writer_uri)
