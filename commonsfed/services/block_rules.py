"""Whether two people may still deal with each other: the blocks between them.

A block works both ways, as Mastodon's does: once a resident blocks someone, neither answers
the other's listings nor writes to the other. It is the resident's own block
(resident_blocks, kind 'block') or a remote actor's Block of a resident that reached this
node (actor_blocks). A mute hides and does not refuse anything.

The answer services call these inside their transactions; refusals say plainly why, since
a remote blocked person's server was told by the Block itself.
"""

from __future__ import annotations

import asyncpg

from commonsfed.ap.uris import LocalUris
from commonsfed.config import Settings
from commonsfed.db import blocks as q
from commonsfed.db import objects as objects_q
from commonsfed.db.answers import Conversation
from commonsfed.models import Account
from commonsfed.services.errors import NotAllowed

BLOCKED_BY = "You cannot answer {name}'s listings or write to them: they have blocked you."
YOU_BLOCKED = (
    "You have blocked {name}, so you cannot answer their listings or write to them. "
    "To undo it, see Settings, Blocks and mutes."
)


async def check_account(
    conn: asyncpg.Connection, account: Account, other_id: int, other_name: str
) -> None:
    """NotAllowed when `account` and the resident `other_id` are blocked either way."""
    if await q.blocks_account(conn, account.id, other_id):
        raise NotAllowed(YOU_BLOCKED.format(name=other_name))
    if await q.blocks_account(conn, other_id, account.id):
        raise NotAllowed(BLOCKED_BY.format(name=other_name))


async def check_actor(
    conn: asyncpg.Connection, settings: Settings, account: Account, actor_uri: str, name: str
) -> None:
    """NotAllowed when `account` blocks the remote `actor_uri`, or was blocked by it."""
    if await q.blocks_actor(conn, account.id, actor_uri):
        raise NotAllowed(YOU_BLOCKED.format(name=name))
    me = LocalUris(settings.base_url).user(account.username)
    if await objects_q.is_blocked(conn, actor_uri, me):
        raise NotAllowed(BLOCKED_BY.format(name=name))


def other_party(conv: Conversation, account: Account) -> tuple[int | None, str | None, str]:
    """The other party of `conv` for `account` (one of its parties): (their account id, or
    their actor URI, and their name)."""
    if account.id == conv.author_id:
        return conv.respondent_account_id, conv.respondent_actor_uri, conv.respondent_name
    return conv.author_id, conv.remote_author_uri, f"@{conv.author_username}"


async def check_conversation(
    conn: asyncpg.Connection, settings: Settings, account: Account, conv: Conversation
) -> None:
    """NotAllowed when `account`, a party to `conv`, and the other party are blocked."""
    other_id, actor_uri, name = other_party(conv, account)
    if other_id is not None:
        await check_account(conn, account, other_id, name)
    elif actor_uri is not None:
        await check_actor(conn, settings, account, actor_uri, name)


async def refusal(conn: asyncpg.Connection, account: Account, conv: Conversation) -> str | None:
    """Why `account`, a party to `conv`, may not write in it, for the conversation page: a
    block between two residents, or one the resident made. (A remote actor's Block of the
    resident is found when they send.)"""
    other_id, actor_uri, name = other_party(conv, account)
    try:
        if other_id is not None:
            await check_account(conn, account, other_id, name)
        elif actor_uri is not None and await q.blocks_actor(conn, account.id, actor_uri):
            raise NotAllowed(YOU_BLOCKED.format(name=name))
    except NotAllowed as exc:
        return str(exc)
    return None
