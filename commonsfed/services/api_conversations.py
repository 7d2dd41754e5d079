"""Conversations as the client API shows them: the answer conversations of a resident (as
a listing's author or as a respondent, about a listing here or on another node), each with
the other side and its last message as a direct status.

Mastodon's conversation is "the direct statuses among the same people"; here it is one
answer's private thread, which is what apps show under Direct Messages. Reading one marks
its notifications read, as opening it on the web does; hiding one (Mastodon's delete)
takes it off the resident's list in apps until its next message, and changes nothing for
the other side or on the web.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import asyncpg

from commonsfed.config import Settings
from commonsfed.db import api_conversations as q
from commonsfed.db import notifications as notifications_q
from commonsfed.models import Account
from commonsfed.services.api_accounts import AccountView, accounts_for_uris
from commonsfed.services.statuses import StatusView, statuses_by_id


@dataclass(frozen=True)
class ConversationView:
    id: int
    unread: bool
    accounts: tuple[AccountView, ...]  # the other side, when the node can show them
    last_status: StatusView | None
    last_status_id: int  # the order of the list, and its pages' cursor


async def conversations(
    conn: asyncpg.Connection,
    settings: Settings,
    account: Account,
    *,
    below: int | None = None,
    above: int | None = None,
    oldest_first: bool = False,
    limit: int = 20,
) -> list[ConversationView]:
    """A page of the resident's conversations by last activity, newest first (oldest
    first from `above` for a min_id page)."""
    rows = await q.conversations_page(
        conn, settings.base_url, account.id, below=below, above=above,
        oldest_first=oldest_first, limit=limit,
    )  # fmt: skip
    return await _views(conn, settings, account, rows)


async def conversation(
    conn: asyncpg.Connection, settings: Settings, account: Account, conversation_id: int
) -> ConversationView | None:
    """One of the resident's conversations; None when they are not one of its two sides."""
    row = await q.conversation(conn, settings.base_url, account.id, conversation_id)
    if row is None:
        return None
    [view] = await _views(conn, settings, account, [row])
    return view


async def mark_read(
    pool: asyncpg.Pool, settings: Settings, account: Account, conversation_id: int
) -> ConversationView | None:
    """The conversation read (its notifications too); None when it is not theirs."""
    async with pool.acquire() as conn, conn.transaction():
        if await q.conversation(conn, settings.base_url, account.id, conversation_id) is None:
            return None
        await notifications_q.mark_read(conn, account.id, conversation_id)
        return await conversation(conn, settings, account, conversation_id)


async def hide(
    pool: asyncpg.Pool, settings: Settings, account: Account, conversation_id: int
) -> bool:
    """Take the conversation off the resident's list until its next message; False when
    it is not theirs."""
    async with pool.acquire() as conn, conn.transaction():
        row = await q.conversation(conn, settings.base_url, account.id, conversation_id)
        if row is None:
            return False
        await q.hide(conn, account.id, conversation_id, row["last_status_id"])
        return True


async def _views(
    conn: asyncpg.Connection, settings: Settings, account: Account, rows: Sequence[asyncpg.Record]
) -> list[ConversationView]:
    statuses = await statuses_by_id(conn, settings, [row["last_status_id"] for row in rows],
                                    account) if rows else {}  # fmt: skip
    others = await accounts_for_uris(conn, settings, {row["other_uri"] for row in rows
                                                      if row["other_uri"]})  # fmt: skip
    views = []
    for row in rows:
        other = others.get(row["other_uri"])
        views.append(ConversationView(
            id=row["id"], unread=row["unread"], accounts=(other,) if other else (),
            last_status=statuses.get(row["last_status_id"]),
            last_status_id=row["last_status_id"],
        ))  # fmt: skip
    return views
