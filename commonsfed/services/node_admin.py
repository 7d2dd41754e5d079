"""What an admin sees of the node as a whole: the dashboard, the hosts it federates with,
what its inbox did not handle; and the one federation action kept here, "retry now"."""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg

from commonsfed.config import Settings
from commonsfed.db import federation_status as fed_q
from commonsfed.db import overview as q
from commonsfed.i18n import Text
from commonsfed.i18n import gettext_noop as N_
from commonsfed.models import Account
from commonsfed.services import moderation_log
from commonsfed.services.errors import NotAllowed, ServiceError

NOT_HANDLED_SHOWN = 200


class UnknownHost(ServiceError):
    """The node has no follows, deliveries or delivery record with this host."""


@dataclass(frozen=True)
class Dashboard:
    people: asyncpg.Record  # residents, active_month, pending_accounts, open_reports
    listings: dict[str, int]  # by state
    queues: list[asyncpg.Record]  # queue, waiting, retrying, failed, oldest
    failing_total: int
    failing: list[asyncpg.Record]  # host, consecutive_failures, failing_since, parked_until ...

    @property
    def listings_total(self) -> int:
        return sum(self.listings.values())


def _require_admin(account: Account) -> None:
    if not account.is_admin:
        raise NotAllowed(Text(N_("Only the node's admins act on its federation.")))


async def dashboard(pool: asyncpg.Pool) -> Dashboard:
    async with pool.acquire() as conn:
        failing_total, failing = await q.failing_hosts(conn)
        return Dashboard(
            await q.people(conn),
            await q.listings_by_state(conn),
            await q.queue_depths(conn),
            failing_total,
            failing,
        )


async def hosts(pool: asyncpg.Pool, settings: Settings) -> list[asyncpg.Record]:
    async with pool.acquire() as conn:
        return await fed_q.host_rows(conn, settings.domain)


async def retry_host(pool: asyncpg.Pool, settings: Settings, admin: Account, host: str) -> int:
    """Unpark `host` and make its waiting deliveries due now; how many. UnknownHost when
    the node has nothing to do with it."""
    _require_admin(admin)
    host = host.strip().lower()
    async with pool.acquire() as conn, conn.transaction():
        if not host or await fed_q.host_row(conn, settings.domain, host) is None:
            raise UnknownHost(f"This node has no follows or deliveries with {host or 'that host'}.")
        due = await fed_q.retry_host(conn, host)
        await moderation_log.record(
            conn, admin, "retry_host", "domain", host, details={"deliveries": due}
        )
    return due


async def not_handled(pool: asyncpg.Pool, limit: int = NOT_HANDLED_SHOWN) -> list[asyncpg.Record]:
    async with pool.acquire() as conn:
        return await fed_q.not_handled(conn, limit)
