"""Queries on conversations (answers to listings) and their messages.

The row dataclasses live here rather than in models.py for now (models.py is another area's
file while listings are being written); they can move there unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import asyncpg

from commonsfed.models import from_row

CONVERSATION_STATES = ("waiting", "offered", "reserved", "declined", "completed", "withdrawn")
IN_LINE = ("waiting", "offered")


@dataclass(frozen=True)
class Conversation:
    id: int
    listing_id: int
    listing_uid: str
    listing_title: str
    listing_state: str
    author_id: int
    author_username: str
    respondent_account_id: int | None
    respondent_actor_uri: str | None  # a remote respondent (federation)
    respondent_username: str | None  # a local respondent's
    state: str
    created_at: datetime
    updated_at: datetime
    messages: int = 0
    last_message_at: datetime | None = None

    @property
    def respondent_name(self) -> str:
        return (
            f"@{self.respondent_username}"
            if self.respondent_username
            else str(self.respondent_actor_uri)
        )

    @property
    def in_line(self) -> bool:
        return self.state in IN_LINE


@dataclass(frozen=True)
class Message:
    id: int
    conversation_id: int
    sender_account_id: int | None
    sender_actor_uri: str | None
    sender_username: str | None
    body: str
    ap_id: str | None
    created_at: datetime

    @property
    def sender_name(self) -> str:
        return f"@{self.sender_username}" if self.sender_username else str(self.sender_actor_uri)


_CONVERSATION = """
    SELECT c.id, c.listing_id, l.uid AS listing_uid, l.title AS listing_title,
           l.state AS listing_state, l.author_id, au.username AS author_username,
           c.respondent_account_id, c.respondent_actor_uri, r.username AS respondent_username,
           c.state, c.created_at, c.updated_at,
           (SELECT count(*) FROM messages m WHERE m.conversation_id = c.id)::int AS messages,
           (SELECT max(m.created_at) FROM messages m WHERE m.conversation_id = c.id)
               AS last_message_at
    FROM conversations c
    JOIN listings l ON l.id = c.listing_id
    JOIN accounts au ON au.id = l.author_id
    LEFT JOIN accounts r ON r.id = c.respondent_account_id
"""


def _conversation(row: asyncpg.Record | None) -> Conversation | None:
    return from_row(Conversation, row)


async def get_conversation(conn: asyncpg.Connection, conversation_id: int) -> Conversation | None:
    row = await conn.fetchrow(_CONVERSATION + "WHERE c.id = $1", conversation_id)
    return _conversation(row)


async def find_conversation(
    conn: asyncpg.Connection, listing_id: int, account_id: int
) -> Conversation | None:
    row = await conn.fetchrow(
        _CONVERSATION + "WHERE c.listing_id = $1 AND c.respondent_account_id = $2",
        listing_id,
        account_id,
    )
    return _conversation(row)


async def insert_conversation(conn: asyncpg.Connection, listing_id: int, account_id: int) -> int:
    return await conn.fetchval(
        """
        INSERT INTO conversations (listing_id, respondent_account_id) VALUES ($1, $2)
        RETURNING id
        """,
        listing_id,
        account_id,
    )


async def listing_conversations(conn: asyncpg.Connection, listing_id: int) -> list[Conversation]:
    """A listing's conversations in line order: first come, first served."""
    rows = await conn.fetch(
        _CONVERSATION + "WHERE c.listing_id = $1 ORDER BY c.created_at, c.id", listing_id
    )
    return [_conversation(row) for row in rows]


async def respondent_conversations(conn: asyncpg.Connection, account_id: int) -> list[Conversation]:
    rows = await conn.fetch(
        _CONVERSATION + "WHERE c.respondent_account_id = $1 ORDER BY c.created_at DESC, c.id DESC",
        account_id,
    )
    return [_conversation(row) for row in rows]


async def set_state(conn: asyncpg.Connection, conversation_id: int, state: str) -> None:
    await conn.execute(
        "UPDATE conversations SET state = $2, updated_at = now() WHERE id = $1",
        conversation_id,
        state,
    )


async def in_state(conn: asyncpg.Connection, listing_id: int, state: str) -> Conversation | None:
    """The first conversation of a listing in this state (the reservation, the offer)."""
    row = await conn.fetchrow(
        _CONVERSATION + "WHERE c.listing_id = $1 AND c.state = $2 ORDER BY c.created_at, c.id",
        listing_id,
        state,
    )
    return _conversation(row)


async def withdraw_offers(conn: asyncpg.Connection, listing_id: int) -> None:
    """Whoever was offered the listing goes back to waiting (someone else got it)."""
    await conn.execute(
        """
        UPDATE conversations SET state = 'waiting', updated_at = now()
        WHERE listing_id = $1 AND state = 'offered'
        """,
        listing_id,
    )


async def next_in_line(
    conn: asyncpg.Connection, listing_id: int, passed_over: int
) -> Conversation | None:
    """The earliest waiting conversation but `passed_over` (the one just released)."""
    row = await conn.fetchrow(
        _CONVERSATION
        + """
        WHERE c.listing_id = $1 AND c.state = 'waiting' AND c.id <> $2
        ORDER BY c.created_at, c.id
        LIMIT 1
        """,
        listing_id,
        passed_over,
    )
    return _conversation(row)


async def line_position(conn: asyncpg.Connection, conversation_id: int) -> int | None:
    """1 for the front of the line; None when the conversation is not in line."""
    return await conn.fetchval(
        """
        SELECT count(*)::int FROM conversations o, conversations c
        WHERE c.id = $1 AND c.state IN ('waiting', 'offered')
          AND o.listing_id = c.listing_id AND o.state IN ('waiting', 'offered')
          AND (o.created_at, o.id) <= (c.created_at, c.id)
        HAVING count(*) > 0
        """,
        conversation_id,
    )


# --- messages ------------------------------------------------------------------------------


async def insert_message(
    conn: asyncpg.Connection, conversation_id: int, sender_account_id: int, body: str
) -> int:
    return await conn.fetchval(
        """
        INSERT INTO messages (conversation_id, sender_account_id, body) VALUES ($1, $2, $3)
        RETURNING id
        """,
        conversation_id,
        sender_account_id,
        body,
    )


async def conversation_messages(conn: asyncpg.Connection, conversation_id: int) -> list[Message]:
    rows = await conn.fetch(
        """
        SELECT m.id, m.conversation_id, m.sender_account_id, m.sender_actor_uri,
               a.username AS sender_username, m.body, m.ap_id, m.created_at
        FROM messages m LEFT JOIN accounts a ON a.id = m.sender_account_id
        WHERE m.conversation_id = $1
        ORDER BY m.created_at, m.id
        """,
        conversation_id,
    )
    return [from_row(Message, row) for row in rows]
