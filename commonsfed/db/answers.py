"""Queries on conversations (answers to listings) and their messages.

The row dataclasses live here rather than in models.py for now (models.py is another area's
file while listings are being written); they can move there unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlencode

import asyncpg

from commonsfed.models import from_row

CONVERSATION_STATES = ("waiting", "offered", "reserved", "declined", "completed", "withdrawn")
IN_LINE = ("waiting", "offered")
STILL_IN_LINE = ("waiting", "offered", "reserved")
LISTING_CLOSED = ("completed", "withdrawn", "expired")


@dataclass(frozen=True)
class Conversation:
    """A private conversation between a listing's author and one respondent. One side is
    local: a local listing's conversation may have a remote respondent; on the respondent's
    node, a remote listing's conversation has a local respondent and a remote author."""

    id: int
    listing_id: int | None  # None: a remote listing (remote_listing_uri)
    listing_uid: str | None
    listing_title: str
    listing_state: str
    author_id: int | None  # None: the remote listing's author (remote_author_uri)
    author_username: str  # a local author's name, or a remote author's user@host
    respondent_account_id: int | None
    respondent_actor_uri: str | None  # a remote respondent (federation)
    respondent_username: str | None  # a local respondent's
    state: str
    created_at: datetime
    updated_at: datetime
    messages: int = 0
    last_message_at: datetime | None = None
    remote_listing_uri: str | None = None
    remote_author_uri: str | None = None
    respondent_handle: str | None = None  # a remote respondent's user@host, when cached
    answered_with: str = "web"
    ap_id: str | None = None
    agreement_id: str | None = None
    closed_at: datetime | None = None  # set when the other party deleted their account

    @property
    def respondent_name(self) -> str:
        if self.respondent_username:
            return f"@{self.respondent_username}"
        if self.respondent_handle:
            return f"@{self.respondent_handle}"
        return str(self.respondent_actor_uri)

    @property
    def in_line(self) -> bool:
        return self.state in IN_LINE

    @property
    def left_behind(self) -> bool:
        """Still in line (or holding a reservation) for a listing that closed since:
        completed with someone else, withdrawn or expired. The pages show it closed."""
        return self.state in STILL_IN_LINE and self.listing_state in LISTING_CLOSED

    @property
    def is_remote_listing(self) -> bool:
        return self.listing_id is None

    @property
    def listing_href(self) -> str:
        """The listing's page here: its own, or the page of a listing of another node."""
        if self.remote_listing_uri:
            return "/network/listing?" + urlencode({"uri": self.remote_listing_uri})
        return f"/listings/{self.listing_uid}"


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
    sender_handle: str | None = None  # a remote sender's user@host, when cached
    kind: str = "message"  # or "system": a line by the node itself, with no sender

    @property
    def sender_name(self) -> str:
        if self.kind == "system":
            return ""  # nobody's: the node's own line, as "@bob deleted their account"
        if self.sender_username:
            return f"@{self.sender_username}"
        if self.sender_handle:
            return f"@{self.sender_handle}"
        return str(self.sender_actor_uri)


_CONVERSATION = """
    SELECT c.id, c.listing_id, l.uid AS listing_uid,
           coalesce(l.title, c.remote_listing_title, c.remote_listing_uri) AS listing_title,
           coalesce(l.state, c.remote_listing_state) AS listing_state, l.author_id,
           coalesce(au.username, c.remote_author_handle, c.remote_author_uri)
               AS author_username,
           c.respondent_account_id, c.respondent_actor_uri, r.username AS respondent_username,
           c.state, c.created_at, c.updated_at,
           (SELECT count(*) FROM messages m WHERE m.conversation_id = c.id)::int AS messages,
           (SELECT max(m.created_at) FROM messages m WHERE m.conversation_id = c.id)
               AS last_message_at,
           c.remote_listing_uri, c.remote_author_uri,
           ra.preferred_username || '@' || ra.domain AS respondent_handle,
           c.answered_with, c.ap_id, c.agreement_id, c.closed_at
    FROM conversations c
    LEFT JOIN listings l ON l.id = c.listing_id
    LEFT JOIN accounts au ON au.id = l.author_id
    LEFT JOIN accounts r ON r.id = c.respondent_account_id
    LEFT JOIN remote_actors ra ON ra.uri = c.respondent_actor_uri
"""


def _conversation(row: asyncpg.Record | None) -> Conversation | None:
    return from_row(Conversation, row)


async def _one(conn: asyncpg.Connection, where: str, *args) -> Conversation | None:
    return _conversation(await conn.fetchrow(_CONVERSATION + "WHERE " + where, *args))


async def get_conversation(conn: asyncpg.Connection, conversation_id: int) -> Conversation | None:
    return await _one(conn, "c.id = $1", conversation_id)


async def find_conversation(
    conn: asyncpg.Connection, listing_id: int, account_id: int
) -> Conversation | None:
    return await _one(
        conn, "c.listing_id = $1 AND c.respondent_account_id = $2", listing_id, account_id
    )


async def insert_conversation(conn: asyncpg.Connection, listing_id: int, account_id: int) -> int:
    return await conn.fetchval(
        """
        INSERT INTO conversations (listing_id, respondent_account_id) VALUES ($1, $2)
        RETURNING id
        """,
        listing_id,
        account_id,
    )


# --- across nodes ---------------------------------------------------------------------------


async def find_remote_respondent(
    conn: asyncpg.Connection, listing_id: int, actor_uri: str
) -> Conversation | None:
    return await _one(
        conn, "c.listing_id = $1 AND c.respondent_actor_uri = $2", listing_id, actor_uri
    )


async def insert_remote_respondent(
    conn: asyncpg.Connection, listing_id: int, actor_uri: str, ap_id: str, answered_with: str
) -> int:
    """A remote actor answers a local listing, with an Offer or a direct message `ap_id`."""
    return await conn.fetchval(
        """
        INSERT INTO conversations (listing_id, respondent_actor_uri, ap_id, answered_with)
        VALUES ($1, $2, $3, $4)
        RETURNING id
        """,
        listing_id,
        actor_uri,
        ap_id,
        answered_with,
    )


async def find_remote_listing_conversation(
    conn: asyncpg.Connection, listing_uri: str, account_id: int
) -> Conversation | None:
    return await _one(
        conn, "c.remote_listing_uri = $1 AND c.respondent_account_id = $2", listing_uri, account_id
    )


async def insert_remote_listing_conversation(
    conn: asyncpg.Connection,
    *,
    account_id: int,
    listing_uri: str,
    author_uri: str,
    author_handle: str | None,
    title: str,
    state: str,
    ap_id: str,
) -> int:
    """A local resident answers a listing of another node with the Offer `ap_id`."""
    return await conn.fetchval(
        """
        INSERT INTO conversations (respondent_account_id, remote_listing_uri, remote_author_uri,
                                   remote_author_handle, remote_listing_title,
                                   remote_listing_state, ap_id, answered_with)
        VALUES ($1, $2, $3, $4, $5, $6, $7, 'offer')
        RETURNING id
        """,
        account_id,
        listing_uri,
        author_uri,
        author_handle,
        title,
        state,
        ap_id,
    )


async def conversation_by_ap_id(conn: asyncpg.Connection, ap_id: str) -> Conversation | None:
    """The conversation that began with the activity `ap_id`, or holds a message sent or
    received as `ap_id`: where a direct message replying to `ap_id` belongs."""
    row = await conn.fetchrow(
        _CONVERSATION
        + """
        WHERE c.id = coalesce(
            (SELECT id FROM conversations WHERE ap_id = $1),
            (SELECT conversation_id FROM messages WHERE ap_id = $1))
        """,
        ap_id,
    )
    return _conversation(row)


async def insert_later_offer(conn: asyncpg.Connection, conversation_id: int, offer_id: str) -> None:
    """A later Offer of the conversation's respondent here (migration 0049)."""
    await conn.execute(
        "INSERT INTO conversation_offers (offer_id, conversation_id) VALUES ($1, $2)",
        offer_id,
        conversation_id,
    )


async def is_later_offer(conn: asyncpg.Connection, conversation_id: int, offer_id: str) -> bool:
    return bool(
        await conn.fetchval(
            "SELECT true FROM conversation_offers WHERE offer_id = $1 AND conversation_id = $2",
            offer_id,
            conversation_id,
        )
    )


async def set_agreement(conn: asyncpg.Connection, conversation_id: int, agreement_id: str) -> None:
    await conn.execute(
        "UPDATE conversations SET agreement_id = $2 WHERE id = $1", conversation_id, agreement_id
    )


async def remote_respondents(conn: asyncpg.Connection, listing_id: int) -> list[str]:
    """The remote actors who answered a local listing and have not left: they hear of its
    changes (Update) even when they follow neither its author nor the neighbourhood."""
    rows = await conn.fetch(
        """
        SELECT respondent_actor_uri FROM conversations
        WHERE listing_id = $1 AND respondent_actor_uri IS NOT NULL AND state <> 'withdrawn'
        ORDER BY created_at, id
        """,
        listing_id,
    )
    return [row[0] for row in rows]


async def remote_partners(conn: asyncpg.Connection, account_id: int) -> list[str]:
    """The remote actors who hold a conversation with a resident, whatever its state: those
    who answered the resident's listings, and the authors of remote listings the resident
    answered. Their nodes show the resident in it, so they hear of a profile change."""
    rows = await conn.fetch(
        """
        SELECT c.respondent_actor_uri FROM conversations c JOIN listings l ON l.id = c.listing_id
        WHERE l.author_id = $1 AND c.respondent_actor_uri IS NOT NULL
        UNION
        SELECT remote_author_uri FROM conversations
        WHERE respondent_account_id = $1 AND remote_author_uri IS NOT NULL
        ORDER BY 1
        """,
        account_id,
    )
    return [row[0] for row in rows]


# a listing in these states takes no more answers: a line still waiting for it is told (a
# withdrawn listing of a commonsfed node reads as expired on the wire: see ap.listings)
_CLOSED = "('completed', 'withdrawn', 'expired')"


async def set_remote_listing(
    conn: asyncpg.Connection, listing_uri: str, author_uri: str, title: str, state: str
) -> tuple[list[int], list[int]]:
    """A remote listing changed: its local respondents' conversations show the new state, and
    a reservation of a listing its author marked completed completes with it. Returns (the
    ids of the conversations completed now, the ids of those still in line for a listing
    that closed now: completed with someone else, withdrawn, expired)."""
    rows = await conn.fetch(
        f"""
        WITH before AS (
            SELECT id, state, remote_listing_state FROM conversations
            WHERE remote_listing_uri = $1 AND remote_author_uri = $2
            FOR UPDATE
        )
        UPDATE conversations c
        SET remote_listing_title = $3, remote_listing_state = $4, updated_at = now(),
            state = CASE WHEN $4 = 'completed' AND b.state = 'reserved' THEN 'completed'
                         ELSE b.state END
        FROM before b
        WHERE c.id = b.id
        RETURNING c.id, b.state = 'reserved' AND c.state = 'completed' AS completed_now,
            c.state IN ('waiting', 'offered', 'reserved') AND c.closed_at IS NULL
                AND $4 IN {_CLOSED}
                AND coalesce(b.remote_listing_state, 'open') NOT IN {_CLOSED} AS closed_now
        """,
        listing_uri,
        author_uri,
        title,
        state,
    )
    completed = [row["id"] for row in rows if row["completed_now"]]
    return completed, [row["id"] for row in rows if row["closed_now"]]


async def remote_listing_removed(
    conn: asyncpg.Connection, listing_uri: str, author_uri: str
) -> list[int]:
    """Its author deleted a remote listing: its conversations here show it withdrawn.
    Returns the ids of those that were still in line for it, open until now."""
    rows = await conn.fetch(
        f"""
        WITH before AS (
            SELECT id, remote_listing_state FROM conversations
            WHERE remote_listing_uri = $1 AND remote_author_uri = $2
            FOR UPDATE
        )
        UPDATE conversations c SET remote_listing_state = 'withdrawn', updated_at = now()
        FROM before b
        WHERE c.id = b.id
        RETURNING c.id, c.state IN ('waiting', 'offered', 'reserved') AND c.closed_at IS NULL
            AND coalesce(b.remote_listing_state, 'open') NOT IN {_CLOSED} AS closed_now
        """,
        listing_uri,
        author_uri,
    )
    return [row["id"] for row in rows if row["closed_now"]]


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


async def conversations_between(
    conn: asyncpg.Connection,
    account_id: int,
    *,
    other_account_id: int | None = None,
    other_actor_uri: str | None = None,
) -> list[Conversation]:
    """The conversations still going (not declined, completed or withdrawn) between a
    resident and another person, either answering the other's listing; by listing, so the
    listings are locked in one order."""
    rows = await conn.fetch(
        _CONVERSATION
        + """
        WHERE c.state NOT IN ('declined', 'completed', 'withdrawn') AND (
            (l.author_id = $1 AND (c.respondent_account_id = $2 OR c.respondent_actor_uri = $3))
            OR (c.respondent_account_id = $1
                AND (l.author_id = $2 OR c.remote_author_uri = $3)))
        ORDER BY c.listing_id NULLS LAST, c.id
        """,
        account_id,
        other_account_id,
        other_actor_uri,
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
    conn: asyncpg.Connection,
    conversation_id: int,
    sender_account_id: int | None,
    body: str,
    *,
    sender_actor_uri: str | None = None,
    ap_id: str | None = None,
) -> int | None:
    """A message by a local account or a remote actor; None when a message with this `ap_id`
    is there already (the same direct message delivered twice)."""
    return await conn.fetchval(
        """
        INSERT INTO messages (conversation_id, sender_account_id, sender_actor_uri, body, ap_id)
        VALUES ($1, $2, $3, $4, $5)
        ON CONFLICT (ap_id) DO NOTHING
        RETURNING id
        """,
        conversation_id,
        sender_account_id,
        sender_actor_uri,
        body,
        ap_id,
    )


async def last_message_ap_id(conn: asyncpg.Connection, conversation_id: int) -> str | None:
    """The id the latest federated message of a conversation went out or came in as: what the
    next direct message replies to, so both sides keep one thread."""
    return await conn.fetchval(
        """
        SELECT ap_id FROM messages WHERE conversation_id = $1 AND ap_id IS NOT NULL
        ORDER BY created_at DESC, id DESC LIMIT 1
        """,
        conversation_id,
    )


async def conversation_messages(conn: asyncpg.Connection, conversation_id: int) -> list[Message]:
    rows = await conn.fetch(
        """
        SELECT m.id, m.conversation_id, m.sender_account_id, m.sender_actor_uri,
               a.username AS sender_username, m.body, m.ap_id, m.created_at,
               ra.preferred_username || '@' || ra.domain AS sender_handle, m.kind
        FROM messages m
        LEFT JOIN accounts a ON a.id = m.sender_account_id
        LEFT JOIN remote_actors ra ON ra.uri = m.sender_actor_uri
        WHERE m.conversation_id = $1
        ORDER BY m.created_at, m.id
        """,
        conversation_id,
    )
    return [from_row(Message, row) for row in rows]


# --- a party leaves --------------------------------------------------------------------------


async def conversations_of_actor(conn: asyncpg.Connection, actor_uri: str) -> list[Conversation]:
    """The conversations a remote actor is a party to here (as a local listing's respondent,
    or as the author of a listing on their node), in the order their listings are locked."""
    rows = await conn.fetch(
        _CONVERSATION
        + """
        WHERE c.respondent_actor_uri = $1 OR c.remote_author_uri = $1
        ORDER BY c.listing_id NULLS LAST, c.id
        """,
        actor_uri,
    )
    return [_conversation(row) for row in rows]


async def delete_messages_of(
    conn: asyncpg.Connection,
    conversation_id: int,
    *,
    account_id: int | None = None,
    actor_uri: str | None = None,
) -> int:
    """Remove one party's messages from a conversation: a local account's or a remote
    actor's. Returns how many went."""
    result = await conn.execute(
        """
        DELETE FROM messages WHERE conversation_id = $1 AND kind = 'message'
            AND (sender_account_id = $2 OR sender_actor_uri = $3)
        """,
        conversation_id,
        account_id,
        actor_uri,
    )
    return int(result.split()[-1])


async def close_conversation(conn: asyncpg.Connection, conversation_id: int, line: str) -> None:
    """Close a conversation with a system line (no sender) that says why."""
    await conn.execute(
        "INSERT INTO messages (conversation_id, kind, body) VALUES ($1, 'system', $2)",
        conversation_id,
        line,
    )
    await conn.execute(
        "UPDATE conversations SET closed_at = now(), updated_at = now() WHERE id = $1",
        conversation_id,
    )


async def delete_conversation(conn: asyncpg.Connection, conversation_id: int) -> None:
    """The conversation and its messages (and notifications about it), by cascade."""
    await conn.execute("DELETE FROM conversations WHERE id = $1", conversation_id)
