"""The inbox worker on real PostgreSQL: claims, leases, outcomes; driven by tick(), no sleeps.

Claims and leases are tested with activities that fail to normalise, so they never reach a
handler. Outcomes go through the real handler table (`federation.handlers`), with a pair it
has no row for; only Retry and Refused, which no real activity can produce on demand here,
use a stand-in `handle` that raises the table's own exceptions.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import orjson
import pytest

from commonsfed.db import inbox as q
from commonsfed.db.pool import create_pool
from commonsfed.federation import handlers
from commonsfed.federation.context import open_federation
from commonsfed.federation.inbox_worker import InboxItem, InboxWorker, retry_at

ACTOR = "http://south.test/users/alice"
# what normalise refuses: pyld cannot read this context
MALFORMED = {
    "@context": {"@vocab": 5},
    "type": "Create",
    "actor": ACTOR,
    "object": {"type": "Note", "content": "hi"},
}
# a pair the handler table has no row for: commonsfed has nothing to do with music
UNKNOWN_PAIR = {
    "@context": "https://www.w3.org/ns/activitystreams",
    "type": "Listen",
    "actor": ACTOR,
    "object": {"id": ACTOR + "/tracks/1", "type": "Audio"},
}
# Short enough for a test to wait for it to pass; the default is 45 s.
LEASE = timedelta(seconds=1)


@pytest.fixture
async def fed(settings):
    pool = await create_pool(settings.database_url)
    async with open_federation(settings, pool) as federation:
        yield federation
    await pool.close()


async def add_item(fed, activity: dict | None = None) -> str:
    activity_id = f"http://south.test/activities/{uuid.uuid4()}"
    document = {**(activity or MALFORMED), "id": activity_id}
    async with fed.pool.acquire() as conn:
        stored = await q.insert_item(conn, activity_id, ACTOR, orjson.dumps(document).decode())
    assert stored == "stored"
    return activity_id


async def row(fed, activity_id: str):
    async with fed.pool.acquire() as conn:
        return await conn.fetchrow(
            "SELECT state, attempts, error, locked_until, next_try_at, handled_at, claim "
            "FROM inbox_items WHERE activity_id = $1",
            activity_id,
        )


async def expire_leases(fed) -> None:
    """What five minutes without news from a worker look like."""
    async with fed.pool.acquire() as conn:
        await conn.execute(
            "UPDATE inbox_items SET locked_until = now() - interval '1 second', "
            "next_try_at = now() - interval '1 second' WHERE state = 'pending'"
        )


# --- claiming ----------------------------------------------------------------------


async def test_fetch_next__claims_the_oldest_due_items_up_to_its_batch_under_a_lease(fed):
    first, second, third = await add_item(fed), await add_item(fed), await add_item(fed)
    worker = InboxWorker(fed, lease=timedelta(minutes=5), batch=2)

    item = await worker.fetch_next()

    assert item is not None and item.activity_id == first and item.attempts == 1
    for claimed in (first, second):
        leased = await row(fed, claimed)
        assert leased["state"] == "pending" and leased["attempts"] == 1
        assert (
            timedelta(minutes=4) < leased["locked_until"] - datetime.now(UTC) <= timedelta(minutes=5)
        )
    assert (await row(fed, third))["locked_until"] is None
    # the rest of the batch is handed out next, without another claim
    assert (await worker.fetch_next()).activity_id == second
    assert (await row(fed, third))["locked_until"] is None


async def test_fetch_next__skips_live_leases_and_items_not_yet_due(fed):
    claimed = await add_item(fed)
    later = await add_item(fed)
    async with fed.pool.acquire() as conn:
        await conn.execute(
            "UPDATE inbox_items SET next_try_at = now() + interval '1 hour' WHERE activity_id = $1",
            later,
        )
    await InboxWorker(fed).fetch_next()

    other = await InboxWorker(fed).fetch_next()

    assert other is None
    assert (await row(fed, claimed))["attempts"] == 1


async def test_fetch_next__takes_over_an_expired_lease_and_the_late_worker_records_nothing(fed):
    # Given worker A claimed an item, then went silent past its lease
    activity_id = await add_item(fed)
    slow, other = InboxWorker(fed), InboxWorker(fed)
    stale = await slow.fetch_next()
    await expire_leases(fed)

    # When B claims it, and A then comes back with its outcome
    taken = await other.fetch_next()
    await slow.process_one(stale)

    # Then A's outcome was not recorded: the item is still B's
    assert taken is not None and taken.id == stale.id and taken.attempts == 2
    current = await row(fed, activity_id)
    assert current["state"] == "pending" and current["claim"] == taken.claim
    # and B's is
    await other.process_one(taken)
    assert (await row(fed, activity_id))["state"] == "failed"


async def test_two_workers__never_process_one_item_twice(fed):
    ids = [await add_item(fed) for _ in range(20)]
    workers = [InboxWorker(fed, batch=3), InboxWorker(fed, batch=3)]

    async def drain(worker: InboxWorker) -> int:
        count = 0
        while await worker.tick():
            count += 1
        return count

    counts = await asyncio.gather(*(drain(worker) for worker in workers))

    assert sum(counts) >= 7  # batches of three at most
    rows = [await row(fed, activity_id) for activity_id in ids]
    assert {(r["state"], r["attempts"]) for r in rows} == {("failed", 1)}


async def test_concurrent_claims__each_item_goes_to_one_claim(fed):
    ids = {await add_item(fed) for _ in range(10)}
    workers = [InboxWorker(fed, batch=3) for _ in range(4)]

    # claims of batches racing each other, then what each worker was left holding
    items = await asyncio.gather(*(workers[i % 4].fetch_next() for i in range(8)))
    for worker in workers:
        while (item := await worker.fetch_next()) is not None:
            items.append(item)

    claimed = [item.activity_id for item in items if item is not None]
    assert sorted(claimed) == sorted(ids)


async def test_tick__false_when_nothing_is_due(fed):
    assert await InboxWorker(fed).tick() is False


async def test_release_claims__gives_unfinished_items_back(fed):
    activity_id = await add_item(fed)
    worker = InboxWorker(fed)
    await worker.fetch_next()

    released = await worker.release_claims()

    assert released == 1
    assert (await row(fed, activity_id))["locked_until"] is None
    assert (await InboxWorker(fed).fetch_next()).activity_id == activity_id


# --- heartbeats ------------------------------------------------------------------------


async def db_now(fed) -> datetime:
    async with fed.pool.acquire() as conn:
        return await conn.fetchval("SELECT now()")


async def test_heartbeat__a_long_handler_keeps_its_item_past_the_lease_and_records_it(fed):
    # Given a handler that takes longer than the worker's one-second lease (it fetches, say)
    entered, finish = asyncio.Event(), asyncio.Event()

    async def slow(fed, activity, actor=None):
        entered.set()
        await finish.wait()
        return "done"

    activity_id = await add_item(fed, UNKNOWN_PAIR)
    worker, other = InboxWorker(fed, lease=LEASE, handle=slow), InboxWorker(fed, lease=LEASE)
    handling = asyncio.create_task(worker.tick())
    await asyncio.wait_for(entered.wait(), 10)
    first_lease_end = (await row(fed, activity_id))["locked_until"]

    # When its heartbeat runs (here every 0.2 s) until that lease is well past
    while await db_now(fed) < first_lease_end + LEASE / 2:
        assert await worker.heartbeat() == 1
        # Then no other worker takes the item meanwhile
        assert await other.fetch_next() is None
        await asyncio.sleep(0.2)

    # and once the handler ends, its outcome is recorded
    finish.set()
    await asyncio.wait_for(handling, 10)
    done = await row(fed, activity_id)
    assert (done["state"], done["attempts"], done["claim"]) == ("done", 1, None)


async def test_heartbeat__an_item_taken_over_is_let_go_once_and_its_late_outcome_not_recorded(
    fed, caplog
):
    # Given worker A's lease passed with no heartbeat, and worker B claimed the item
    activity_id = await add_item(fed)
    late, other = InboxWorker(fed), InboxWorker(fed)
    stale = await late.fetch_next()
    await expire_leases(fed)
    taken = await other.fetch_next()

    # When A's heartbeat comes, and then A's outcome
    assert await late.heartbeat() == 0
    await late.process_one(stale)

    # Then the item is still B's, untouched, and A said so once
    current = await row(fed, activity_id)
    assert (current["state"], current["claim"], current["error"]) == ("pending", taken.claim, None)
    warnings = [r for r in caplog.records if r.levelname == "WARNING"]
    assert [r.name for r in warnings] == ["commonsfed.federation.claims"]
    assert "taken over by another worker" in warnings[0].getMessage()
    # and B's outcome is recorded
    await other.process_one(taken)
    assert (await row(fed, activity_id))["state"] == "failed"


# --- outcomes --------------------------------------------------------------------------


async def test_process_one__malformed_json_ld_ends_failed_with_the_reason(fed):
    activity_id = await add_item(fed, MALFORMED)
    worker = InboxWorker(fed)

    assert await worker.tick() is True

    failed = await row(fed, activity_id)
    assert failed["state"] == "failed" and "JSON-LD" in failed["error"]
    assert failed["handled_at"] is not None and failed["locked_until"] is None


async def test_process_one__unknown_pair_ends_unhandled_with_the_pair(fed):
    activity_id = await add_item(fed, UNKNOWN_PAIR)

    await InboxWorker(fed).tick()

    unhandled = await row(fed, activity_id)
    assert unhandled["state"] == "unhandled"
    assert unhandled["error"] == "no handler for (Listen, Audio)"


async def test_process_one__done_and_refused_and_a_bug(fed):
    async def stand_in(fed, activity, actor=None):
        outcome = activity["summary"]
        if outcome == "refused":
            raise handlers.Refused("the object belongs to someone else")
        if outcome == "bug":
            raise KeyError("object")
        return outcome

    ids = {
        outcome: await add_item(fed, UNKNOWN_PAIR | {"summary": outcome})
        for outcome in ("done", "refused", "bug")
    }
    worker = InboxWorker(fed, handle=stand_in)
    while await worker.tick():
        pass

    assert (await row(fed, ids["done"]))["state"] == "done"
    refused = await row(fed, ids["refused"])
    assert refused["state"] == "failed" and "someone else" in refused["error"]
    bug = await row(fed, ids["bug"])
    assert bug["state"] == "failed" and bug["error"] == "KeyError: 'object'"


async def test_process_one__retry_backs_off_then_gives_up_after_a_day(fed):
    async def unreachable(fed, activity, actor=None):
        raise handlers.Retry("south.test did not answer")

    activity_id = await add_item(fed, UNKNOWN_PAIR)
    worker = InboxWorker(fed, handle=unreachable)

    # first failure: back in about a minute
    await worker.tick()
    waiting = await row(fed, activity_id)
    assert waiting["state"] == "pending" and "did not answer" in waiting["error"]
    assert (
        timedelta(seconds=40) < waiting["next_try_at"] - datetime.now(UTC) < timedelta(seconds=80)
    )
    assert await worker.tick() is False  # not due yet

    # a day later it is still failing: given up
    async with fed.pool.acquire() as conn:
        await conn.execute(
            "UPDATE inbox_items SET next_try_at = now(), received_at = now() - interval '1 day'"
        )
    await worker.tick()
    given_up = await row(fed, activity_id)
    assert given_up["state"] == "failed" and given_up["error"].startswith("gave up after 2 tries")


async def test_process_one__database_gone_in_a_handler_is_retried_not_failed(fed):
    async def database_down(fed, activity, actor=None):
        raise ConnectionRefusedError("connection refused")

    activity_id = await add_item(fed, UNKNOWN_PAIR)

    await InboxWorker(fed, handle=database_down).tick()

    waiting = await row(fed, activity_id)
    assert waiting["state"] == "pending" and "database unavailable" in waiting["error"]


def test_retry_at__doubles_to_a_cap_and_stops_after_a_day():
    now = datetime(2025, 1, 1, tzinfo=UTC)

    def item(attempts: int, age: timedelta) -> InboxItem:
        return InboxItem(1, "x", ACTOR, {}, attempts, now - age, claim=1)

    delays = [retry_at(item(n, timedelta(0)), now, jitter=1.0) - now for n in (1, 2, 3, 12)]

    assert delays == [
        timedelta(minutes=1),
        timedelta(minutes=2),
        timedelta(minutes=4),
        timedelta(hours=6),
    ]
    assert retry_at(item(5, timedelta(hours=23, minutes=50)), now, jitter=1.0) is None


# --- the summary for `commonsfed queue` ---------------------------------------------------


async def test_inbox_summary__counts_by_state_and_top_unhandled_pairs(fed):
    listens = [await add_item(fed, UNKNOWN_PAIR) for _ in range(3)]
    follow = await add_item(fed, {"type": "Follow", "actor": ACTOR, "object": ACTOR})
    await add_item(fed)  # stays pending
    async with fed.pool.acquire() as conn:
        claimed = await q.claim_items(conn, timedelta(minutes=5), 4)
        await q.finish_items(
            conn, [q.Finished(item["id"], item["claim"], "unhandled", "x") for item in claimed]
        )
        summary = await q.inbox_summary(conn)

    assert len(listens) == 3 and follow
    assert summary.counts == {"pending": 1, "done": 0, "unhandled": 4, "failed": 0}
    assert [(p.type, p.object_type, p.count) for p in summary.unhandled] == [
        ("Listen", "Audio", 3),
        ("Follow", None, 1),
    ]
