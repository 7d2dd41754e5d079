"""How much waits in each queue, and for how long: what /metrics reports at every scrape.

One statement for the four queues. Each count reads only the rows still pending, through the
queue's partial index on `state = 'pending'` (the same index the workers claim from), so a
healthy node's scrape costs a fraction of a millisecond and a backlog of 100,000 deliveries
some tens of ms; done and failed rows, however many the pruning has not yet removed, are
never read. Rows being worked on (claimed, under a lease) are still pending and count.
"""

from __future__ import annotations

import asyncpg

_DEPTHS = """
    SELECT 'inbox' AS queue, count(*) AS depth,
           extract(epoch FROM now() - min(received_at))::float8 AS oldest_age
      FROM inbox_items WHERE state = 'pending'
    UNION ALL
    SELECT 'deliveries', count(*), extract(epoch FROM now() - min(created_at))::float8
      FROM deliveries WHERE state = 'pending'
    UNION ALL
    SELECT 'mail', count(*), extract(epoch FROM now() - min(created_at))::float8
      FROM outgoing_mail WHERE state = 'pending'
    UNION ALL
    SELECT 'exports', count(*), extract(epoch FROM now() - min(created_at))::float8
      FROM exports WHERE state = 'pending'
"""


async def queue_depths(conn: asyncpg.Connection) -> list[asyncpg.Record]:
    """(queue, depth, oldest_age in seconds or None when empty) for each queue."""
    return await conn.fetch(_DEPTHS)
