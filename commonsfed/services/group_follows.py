"""The neighbourhood decides whom it joins: with COMMONSFED_GROUP_FOLLOWS=manual (and for
any follower from a limited domain) a follow of the Group waits for an admin, who sees what
the other node says of itself in its NodeInfo and accepts or rejects it; the answer goes
back as an Accept or a Reject of the Follow.

NodeInfo summaries are kept in the database for a day (an hour after a failed fetch), so
the page fetches each node at most that often, and never more than a few at once.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime, timedelta

import asyncpg

from commonsfed.db import group_follows as q
from commonsfed.federation.context import Federation
from commonsfed.federation.fetch import FetchError
from commonsfed.federation.nodeinfo import fetch_nodeinfo, summary_from_nodeinfo
from commonsfed.models import Account
from commonsfed.services import follows, moderation_log
from commonsfed.services.domains import require_admin
from commonsfed.services.errors import NotAllowed

KEEP_NODE_INFO = timedelta(days=1)
RETRY_NODE_INFO = timedelta(hours=1)
FETCHES_AT_ONCE = 4


@dataclass(frozen=True)
class NodeInfoView:
    name: str
    description: str
    software: str
    users: int | None
    error: str | None  # why NodeInfo could not be read, when it could not


@dataclass(frozen=True)
class PendingFollow:
    uri: str
    handle: str  # @name@domain, or the URI
    domain: str
    actor_type: str  # Group for another neighbourhood; Person, Service ... for others
    asked_at: datetime
    node: NodeInfoView


async def pending(fed: Federation, admin: Account) -> list[PendingFollow]:
    """The follows of the Group waiting for an admin, oldest first, each with its node's
    NodeInfo summary."""
    require_admin(admin)
    async with fed.pool.acquire() as conn:
        rows = await q.pending_followers(conn, follows.group_uri(fed))
    domains = sorted({row["domain"] for row in rows})
    limit = asyncio.Semaphore(FETCHES_AT_ONCE)
    infos = await asyncio.gather(*(_node_info(fed, domain, limit) for domain in domains))
    by_domain = dict(zip(domains, infos, strict=True))
    return [_pending(row, by_domain[row["domain"]]) for row in rows]


def _pending(row: asyncpg.Record, node: NodeInfoView) -> PendingFollow:
    handle = (f"@{row['preferred_username']}@{row['domain']}" if row["preferred_username"]
              else row["uri"])  # fmt: skip
    return PendingFollow(row["uri"], handle, row["domain"], row["type"], row["asked_at"], node)


async def _node_info(fed: Federation, domain: str, limit: asyncio.Semaphore) -> NodeInfoView:
    async with fed.pool.acquire() as conn:
        kept = await q.fresh_node_info(conn, domain, KEEP_NODE_INFO, RETRY_NODE_INFO)
    if kept is None:
        async with limit:
            kept = await _fetch_and_keep(fed, domain)
    return NodeInfoView(kept["name"], kept["description"], kept["software"], kept["users"],
                        kept["error"])  # fmt: skip


async def _fetch_and_keep(fed: Federation, domain: str) -> asyncpg.Record:
    try:
        summary = summary_from_nodeinfo(await fetch_nodeinfo(fed, domain))
    except FetchError as exc:
        async with fed.pool.acquire() as conn:
            return await q.put_node_info(conn, domain, error=str(exc)[:500])
    async with fed.pool.acquire() as conn:
        return await q.put_node_info(
            conn, domain, name=summary.name, description=summary.description,
            software=summary.software, users=summary.users,
        )  # fmt: skip


async def accept(fed: Federation, admin: Account, follower_uri: str, reason: str = "") -> None:
    """Let the follower in: the follow is accepted and an Accept goes back."""
    await _decide(fed, admin, follower_uri, reason, follows.approve_in, "accept_group_follow")


async def reject(fed: Federation, admin: Account, follower_uri: str, reason: str = "") -> None:
    """Turn the follower away: the follow goes and a Reject goes back."""
    await _decide(fed, admin, follower_uri, reason, follows.reject_in, "reject_group_follow")


async def _decide(fed: Federation, admin: Account, follower_uri: str, reason: str, answer,
                  action: str) -> None:  # fmt: skip
    require_admin(admin)
    group = follows.group_uri(fed)
    async with fed.pool.acquire() as conn, conn.transaction():
        waiting = {row["uri"]: row for row in await q.pending_followers(conn, group)}
        if follower_uri not in waiting:
            raise NotAllowed("That follow is not waiting any more; reload the page.")
        await answer(conn, fed, group, follower_uri)
        await moderation_log.record(conn, admin, action, "domain", waiting[follower_uri]["domain"],
                                    reason, {"actor": follower_uri})  # fmt: skip
