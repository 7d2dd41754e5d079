"""What admins look at: the state of the federation queues and of outgoing mail."""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg

from commonsfed.db import deliveries as deliveries_q
from commonsfed.db import inbox as inbox_q
from commonsfed.db import mail as mail_q


@dataclass(frozen=True)
class QueueReport:
    deliveries: list[asyncpg.Record]  # per host: pending, retrying, parked, failed ...
    inbox: inbox_q.InboxSummary
    mail: asyncpg.Record  # pending, retrying, failed, last_error


async def queue_report(pool: asyncpg.Pool) -> QueueReport:
    async with pool.acquire() as conn:
        return QueueReport(
            await deliveries_q.queue_summary(conn),
            await inbox_q.inbox_summary(conn),
            await mail_q.pending_count(conn),
        )
