"""`serve` alone: its in-process workers go on handling while requests hold the request
pool, as a busy inbox does under a steady stream of deliveries.

The node is a real app with its workers running in the background, as `serve` runs them
(run_worker on); the activity is stored as the inbox stores it, with its NOTIFY. The wait
is for a background loop this test does not step, so it polls with a deadline.
"""

from __future__ import annotations

import uuid

import orjson

from commonsfed.app import WORKER_FEDERATION
from commonsfed.db import inbox as q
from commonsfed.db.pool import connect
from commonsfed.web.keys import POOL
from tests.waiting import until

ACTOR = "http://south.test/users/alice"
# a pair the handler table has no row for: handled as soon as a worker gets to it
LISTEN = {
    "@context": "https://www.w3.org/ns/activitystreams",
    "type": "Listen",
    "actor": ACTOR,
    "object": {"id": ACTOR + "/tracks/1", "type": "Audio"},
}


async def state_of(database_url: str, activity_id: str) -> str:
    conn = await connect(database_url)
    try:
        return await conn.fetchval(
            "SELECT state FROM inbox_items WHERE activity_id = $1", activity_id
        )
    finally:
        await conn.close()


async def every_connection(pool) -> list:
    """Acquire connections from `pool` until it has none left to give (one of them may
    be listening for settings changes, for good)."""
    held = []
    while len(held) < pool.get_max_size():
        try:
            held.append(await pool.acquire(timeout=0.5))
        except TimeoutError:
            break
    return held


async def test_serve_workers__handle_while_requests_hold_every_request_connection(
    make_client, settings
):
    # Given a node running its workers in-process, as `serve` does
    client = await make_client(run_worker=True)
    app = client.server.app
    assert app[WORKER_FEDERATION].pool is not app[POOL]
    # and requests holding every connection of the request pool
    pool = app[POOL]
    held = await every_connection(pool)
    try:
        # When an activity arrives and is stored
        activity_id = f"http://south.test/activities/{uuid.uuid4()}"
        conn = await connect(settings.database_url)
        try:
            document = orjson.dumps({**LISTEN, "id": activity_id}).decode()
            assert await q.insert_item(conn, activity_id, ACTOR, document) == "stored"
        finally:
            await conn.close()

        # Then the workers handle it all the same
        async def handled() -> bool:
            return await state_of(settings.database_url, activity_id) != "pending"

        await until(handled, within=10)
        assert await state_of(settings.database_url, activity_id) == "unhandled"
    finally:
        for connection in held:
            await pool.release(connection)
