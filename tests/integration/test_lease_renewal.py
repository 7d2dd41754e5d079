"""A heartbeat's renewal never waits for a row that a write holds: the write is the worker's
own outcome on its way (it let go of the row first, see federation.claims.Held), and waiting
for it locked the rows in another order than the write did. The two deadlocked under a long
fan-out, and the worker paused for its idle timeout.

Real PostgreSQL: a second connection holds one row in an open transaction, as that write
would, while the renewal runs.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

import asyncpg
import orjson
import pytest

from commonsfed.db import deliveries, inbox

LEASE = timedelta(seconds=45)


@pytest.fixture
async def conns(database_url):
    first, second = await asyncpg.connect(database_url), await asyncpg.connect(database_url)
    yield first, second
    await first.close()
    await second.close()


async def claimed_deliveries(conn) -> list[tuple[int, int, None]]:
    await conn.execute(
        "INSERT INTO activities (uri, actor_uri, type, document) VALUES ($1, $2, 'Create', $3)",
        "https://north.test/activities/1", "https://north.test/users/alice",
        orjson.dumps({"type": "Create"}).decode(),
    )  # fmt: skip
    rows = await conn.fetch(
        """
        INSERT INTO deliveries (activity_uri, inbox, host, claim, locked_until)
        SELECT 'https://north.test/activities/1', 'https://h' || n || '.test/inbox',
               'h' || n || '.test', nextval('queue_claims'), now() + interval '45 seconds'
        FROM generate_series(1, 3) AS n
        RETURNING id, claim
        """
    )
    return [(row["id"], row["claim"], None) for row in rows]


async def claimed_items(conn) -> list[tuple[int, int]]:
    rows = await conn.fetch(
        """
        INSERT INTO inbox_items (activity_id, actor_uri, activity, claim, locked_until)
        SELECT 'https://south.test/activities/' || n, 'https://south.test/users/bob',
               '{"type": "Like"}', nextval('queue_claims'), now() + interval '45 seconds'
        FROM generate_series(1, 3) AS n
        RETURNING id, claim
        """
    )
    return [(row["id"], row["claim"]) for row in rows]


async def test_renew_claims__skips_a_delivery_being_recorded_and_renews_the_others(conns):
    heartbeat, recording = conns
    held = await claimed_deliveries(heartbeat)
    # Given the first delivery's outcome being written, not yet committed
    async with recording.transaction():
        await recording.execute("UPDATE deliveries SET state = 'done' WHERE id = $1", held[0][0])

        # When the heartbeat renews what the worker holds
        renewed = await asyncio.wait_for(deliveries.renew_claims(heartbeat, held, LEASE), 5)

    # Then it did not wait for that write, and renewed the others
    assert renewed == {held[1][0], held[2][0]}


async def test_renew_items__skips_an_item_being_recorded_and_renews_the_others(conns):
    heartbeat, recording = conns
    held = await claimed_items(heartbeat)
    async with recording.transaction():
        await recording.execute("UPDATE inbox_items SET state = 'done' WHERE id = $1", held[0][0])

        renewed = await asyncio.wait_for(inbox.renew_items(heartbeat, held, LEASE), 5)

    assert renewed == {held[1][0], held[2][0]}
