"""Backpressure: with its database down, or its inbox saturated, the node answers 503 with
Retry-After (peers retry a 503; a 500 they may give up on), and people get a page.

"Down" is a real PostgreSQL of these tests' own, stopped; "saturated" is real inserts held
by a real lock (LOCK TABLE in another connection)."""

from __future__ import annotations

import asyncio
import uuid

import orjson
import pytest

from commonsfed.db import inbox as inbox_q
from commonsfed.db.pool import connect
from commonsfed.federation import inbox
from commonsfed.federation.inbox import Batches, InboxRefused, WakeUps
from tests.builders import register, register_and_login
from tests.integration.own_postgres import GROUP
from tests.integration.test_inbox import alice_of, create_note, private_key, signed_headers
from tests.waiting import until

pytestmark = GROUP


async def deliver(node, activity: dict, key_id: str, key):
    """POST `activity` to `node`'s shared inbox, signed; the response, read."""
    body = orjson.dumps(activity)
    headers = signed_headers(node.url("/inbox"), body, key_id, key)
    response = await node.client.post("/inbox", data=body, headers=headers)
    await response.read()
    return response


async def until_blocked(url: str, count: int, within: float = 5.0) -> None:
    """Wait until `count` statements of the node wait for a lock (asked on a connection of
    its own: in the locking transaction, pg_stat_activity would not change)."""
    watcher = await connect(url)

    async def blocked() -> bool:
        waiting = await watcher.fetchval(
            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
            " AND datname = current_database()"
        )
        return waiting >= count

    try:
        await until(blocked, within)
    finally:
        await watcher.close()


# --- the database is down ----------------------------------------------------------------


async def test_pages__database_down__a_friendly_503_page_to_try_again(
    own_postgres, make_client
):
    url = own_postgres.new_database()
    visitor = await make_client(database_url=url)
    resident = await make_client(database_url=url)  # a browser of its own, with a session
    await register_and_login(resident, "alice")
    assert (await visitor.get("/")).status == 200

    # When the database stops
    own_postgres.stop()

    # Then every page, for visitors and residents alike, is a 503 page that says what to do
    for client, path in [(visitor, "/"), (visitor, "/explore"), (resident, "/my/listings")]:
        response = await client.get(path, headers={"Accept": "text/html"})
        page = await response.text()
        assert response.status == 503, (path, page)
        assert response.headers["Retry-After"] == "30"
        assert "cannot reach its database" in page and "try again in a minute" in page.lower()
        assert "Elm Street Commons" in page  # the site's own page, not a bare error
    health = await visitor.get("/healthz")
    assert health.status == 503 and (await health.json())["database"] == "unreachable"


async def test_inbox__database_down__answers_503_with_retry_after(own_postgres, start_nodes):
    # Given north (on the cluster that will stop) has verified alice of south once
    north, south = await start_nodes(
        2, **{"north.test": {"database_url": own_postgres.new_database()}}
    )
    for name in ("alice", "bob"):
        await register(south.client, name)
    alice, alice_key_id = alice_of(south)
    alice_key = await private_key(south, "alice")
    assert (await deliver(north, create_note(alice), alice_key_id, alice_key)).status == 202

    # When north's database stops
    own_postgres.stop()

    # Then an activity whose signer's key is cached fails at its insert, and one from a
    # signer never seen fails looking up its domain: both are 503s to retry, in JSON
    bob = south.url("/users/bob")
    answers = [
        await deliver(north, create_note(alice), alice_key_id, alice_key),
        await deliver(north, create_note(bob), bob + "#main-key", await private_key(south, "bob")),
    ]
    for answer in answers:
        assert answer.status == 503
        assert answer.headers["Retry-After"] == "30"
        assert "database" in (await answer.json())["error"]


# --- the inbox is saturated --------------------------------------------------------------


def new_item() -> inbox_q.NewItem:
    activity_id = f"http://south.test/activities/{uuid.uuid4()}"
    actor = "http://south.test/users/alice"
    document = orjson.dumps({"id": activity_id, "type": "Create", "actor": actor}).decode()
    return inbox_q.NewItem(activity_id, actor, document, "south.test", gated=True)


async def test_batches__too_many_waiting__refuses_at_once_with_503(make_fed):
    # Given inserts are held by a lock, one statement is on its way and two wait for it
    fed = await make_fed()
    batches, wake = Batches(in_flight=1, max_waiting=2), WakeUps()
    locker = await connect(fed.settings.database_url)
    lock = locker.transaction()
    await lock.start()
    await locker.execute("LOCK TABLE inbox_items IN EXCLUSIVE MODE")
    first = asyncio.ensure_future(batches.store(fed, wake, new_item()))
    await until_blocked(fed.settings.database_url, 1)
    waiting = [asyncio.ensure_future(batches.store(fed, wake, new_item())) for _ in range(2)]
    await asyncio.sleep(0)  # they run up to their wait

    # When one more arrives
    with pytest.raises(InboxRefused) as refused:
        await batches.store(fed, wake, new_item())

    # Then it is refused at once, to be retried, and the others are stored once the lock goes
    assert (refused.value.status, refused.value.retry_after) == (503, inbox.BUSY_RETRY_AFTER)
    await lock.rollback()
    await locker.close()
    assert await asyncio.gather(first, *waiting) == ["stored"] * 3


async def test_inbox__saturated__answers_503_with_retry_after(start_nodes, monkeypatch):
    # Given a node whose inbox lets 2 activities wait for a statement (2 more may be on
    # their way: Batches' in_flight), and alice of south verified once
    monkeypatch.setattr(inbox, "MAX_WAITING", 2)
    north, south = await start_nodes(2)
    await register(south.client, "alice")
    alice, key_id = alice_of(south)
    key = await private_key(south, "alice")
    assert (await deliver(north, create_note(alice), key_id, key)).status == 202

    # When the inbox table is locked, the two statements in flight wait on it, and three
    # more activities arrive
    locker = await connect(north.settings.database_url)
    lock = locker.transaction()
    await lock.start()
    await locker.execute("LOCK TABLE inbox_items IN EXCLUSIVE MODE")
    sent = []
    for blocked in (1, 2):
        sent.append(asyncio.ensure_future(deliver(north, create_note(alice), key_id, key)))
        await until_blocked(north.settings.database_url, blocked)
    sent += [asyncio.ensure_future(deliver(north, create_note(alice), key_id, key))
             for _ in range(3)]
    done, _ = await asyncio.wait(sent, return_when=asyncio.FIRST_COMPLETED, timeout=10)

    # Then the one beyond what may wait is answered at once: 503, retry in a few seconds
    (refused,) = done
    assert refused.result().status == 503
    assert refused.result().headers["Retry-After"] == str(inbox.BUSY_RETRY_AFTER)
    # and the others are stored once the lock is gone
    await lock.rollback()
    await locker.close()
    statuses = sorted(answer.status for answer in await asyncio.gather(*sent))
    assert statuses == [202, 202, 202, 202, 503]
