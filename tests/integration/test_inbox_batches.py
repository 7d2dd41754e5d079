"""Storing accepted activities several to a statement (`federation.inbox.Batches`), on real
PostgreSQL: each request still gets its own result, only once its row has committed, and a
quiet node stores each activity alone, at once."""

from __future__ import annotations

import asyncio
import logging
import uuid
from datetime import timedelta

import asyncpg
import orjson
import pytest

from commonsfed.db import inbox as q
from commonsfed.db.pool import create_pool
from commonsfed.federation.context import open_federation
from commonsfed.federation.inbox import Batches, WakeUps

ACTOR = "http://south.test/users/alice"


@pytest.fixture
async def fed(settings):
    pool = await create_pool(settings.database_url)
    async with open_federation(settings, pool) as federation:
        yield federation
    await pool.close()


@pytest.fixture
def statements(monkeypatch) -> list[int]:
    """The number of rows in each insert statement sent, in order."""
    sizes: list[int] = []
    insert_items = q.insert_items

    async def counted(conn, items, **kwargs):
        sizes.append(len(items))
        return await insert_items(conn, items, **kwargs)

    monkeypatch.setattr(q, "insert_items", counted)
    return sizes


def item(activity_id: str | None = None, *, domain: str = "south.test", **extra) -> q.NewItem:
    activity_id = activity_id or f"http://south.test/activities/{uuid.uuid4()}"
    document = {"id": activity_id, "type": "Create", "actor": ACTOR, **extra}
    return q.NewItem(activity_id, ACTOR, orjson.dumps(document).decode(), domain, gated=True)


async def stored_ids(fed) -> list[str]:
    async with fed.pool.acquire() as conn:
        rows = await conn.fetch("SELECT activity_id FROM inbox_items ORDER BY id")
    return [row["activity_id"] for row in rows]


async def store_all(batches: Batches, fed, items: list[q.NewItem]) -> list:
    wake = WakeUps()
    return await asyncio.gather(
        *(batches.store(fed, wake, one) for one in items), return_exceptions=True
    )


async def test_batches__one_activity__is_sent_at_once_alone(fed, statements):
    one = item()

    result = await Batches().store(fed, WakeUps(), one)

    assert result == "stored" and statements == [1]
    assert await stored_ids(fed) == [one.activity_id]


async def test_batches__activities_arriving_together__go_in_one_statement_in_order(fed, statements):
    items = [item() for _ in range(10)]

    results = await store_all(Batches(), fed, items)

    assert results == ["stored"] * 10 and statements == [10]
    assert await stored_ids(fed) == [one.activity_id for one in items]


async def test_batches__arrivals_during_a_statement__wait_for_it_then_go_together(fed, monkeypatch):
    # Given one statement at a time, and the first one held on its way
    sizes: list[int] = []
    on_its_way, release = asyncio.Event(), asyncio.Event()
    insert_items = q.insert_items

    async def held(conn, items, **kwargs):
        sizes.append(len(items))
        if len(sizes) == 1:
            on_its_way.set()
            await release.wait()
        return await insert_items(conn, items, **kwargs)

    monkeypatch.setattr(q, "insert_items", held)
    batches, wake = Batches(in_flight=1), WakeUps()
    first = asyncio.ensure_future(batches.store(fed, wake, item()))
    await on_its_way.wait()

    # When nine more arrive meanwhile
    later = [asyncio.ensure_future(batches.store(fed, wake, item())) for _ in range(9)]
    await asyncio.sleep(0)
    release.set()

    # Then they go together once the first is done
    assert await first == "stored"
    assert await asyncio.gather(*later) == ["stored"] * 9
    assert sizes == [1, 9]


async def test_batches__batch_size__is_capped(fed, statements):
    results = await store_all(Batches(in_flight=1, size=4), fed, [item() for _ in range(10)])

    assert results == ["stored"] * 10
    assert statements == [4, 4, 2]


async def test_batches__each_row_gets_its_own_result(fed, statements):
    # Given a row stored before and a blocked domain
    seen = item()
    await Batches().store(fed, WakeUps(), seen)
    async with fed.pool.acquire() as conn:
        await conn.execute(
            "INSERT INTO domain_policies (domain, policy) VALUES ('blocked.test', 'block')"
        )
    new, again, blocked = item(), item(seen.activity_id), item(domain="blocked.test")

    # When they come in one batch
    results = await store_all(Batches(in_flight=1), fed, [item(), new, again, blocked])

    # Then each has its own answer, and only the new ones were stored
    assert statements == [1, 4]
    assert results == ["stored", "stored", "duplicate", "refused"]
    assert blocked.activity_id not in await stored_ids(fed)


async def test_batches__our_own_domain__is_not_gated(fed):
    # Given allow-list mode and no policies: every other domain is refused
    mine = q.NewItem("http://localhost/a/1", "http://localhost/users/a", "{}", "localhost")

    async with fed.pool.acquire() as conn:
        results = await q.insert_items(conn, [mine, item()], permitted=["allow"])

    assert results == ["stored", "refused"]


async def test_batches__the_same_activity_twice_at_once__is_stored_once(fed, statements):
    # A retry racing the first try (or the shared and a personal inbox at once)
    first = item()

    results = await store_all(Batches(), fed, [first, item(first.activity_id)])

    # (two statements may run at once, so either copy may be the one stored)
    assert sorted(results) == ["duplicate", "stored"]
    assert statements == [1, 1]  # never two copies in one statement
    assert (await stored_ids(fed)).count(first.activity_id) == 1


async def test_batches__a_row_postgresql_cannot_hold__fails_alone(fed):
    # Given a batch with one activity holding a \u0000, which jsonb refuses
    items = [item(), item(), item(summary="a\u0000b"), item()]

    results = await store_all(Batches(in_flight=1), fed, items)

    # Then only its request fails; the rest of its batch is stored
    assert results[:2] + results[3:] == ["stored"] * 3
    assert isinstance(results[2], asyncpg.UntranslatableCharacterError)
    assert len(await stored_ids(fed)) == 3


async def test_batches__a_deadlocked_batch__is_stored_one_row_at_a_time(fed, monkeypatch):
    # Two web processes whose batches hold the same two activities in opposite orders
    # deadlock on the unique index; PostgreSQL cancels one of the statements.
    sizes: list[int] = []
    insert_items = q.insert_items

    async def deadlocking(conn, items, **kwargs):
        sizes.append(len(items))
        if len(items) > 1:
            raise asyncpg.DeadlockDetectedError("deadlock detected")
        return await insert_items(conn, items, **kwargs)

    monkeypatch.setattr(q, "insert_items", deadlocking)

    results = await store_all(Batches(in_flight=1), fed, [item() for _ in range(3)])

    assert results == ["stored"] * 3 and sizes == [3, 1, 1, 1]


async def test_batches__a_database_failure__reaches_every_request_of_the_batch(fed, monkeypatch):
    async def broken(conn, items, **kwargs):
        raise OSError("connection reset")

    monkeypatch.setattr(q, "insert_items", broken)

    results = await store_all(Batches(in_flight=1), fed, [item() for _ in range(3)])

    assert all(isinstance(result, OSError) for result in results)


async def test_batches__a_request_that_gave_up__does_not_break_the_others(fed):
    # Given a request cancelled while its activity waits for a batch (the peer hung up)
    batches, wake = Batches(in_flight=1), WakeUps()
    first = asyncio.ensure_future(batches.store(fed, wake, item()))
    await asyncio.sleep(0)  # the first statement is on its way
    gone = asyncio.ensure_future(batches.store(fed, wake, item()))
    kept = asyncio.ensure_future(batches.store(fed, wake, item()))
    await asyncio.sleep(0)
    gone.cancel()

    # Then the others are answered, and the row of the one that left is stored anyway
    assert await first == "stored" and await kept == "stored"
    assert len(await stored_ids(fed)) == 3


async def test_wake_ups__a_wake_up_due_after_the_pool_closed__is_dropped_quietly(settings, caplog):
    # Given a wake-up scheduled while the node was busy, and the node stopping before it
    pool = await create_pool(settings.database_url)
    wake = WakeUps(window=timedelta(milliseconds=10))
    wake.lead()
    wake.follow(pool)
    await pool.close()

    # When it comes due
    with caplog.at_level(logging.WARNING):
        await asyncio.sleep(0.05)

    # Then nothing complains: the workers' idle poll finds the rows
    assert "could not wake" not in caplog.text
