"""The delivery worker against real PostgreSQL and real HTTP on loopback.

North is a real node; the peers it delivers to are "sinks" (tests/integration/sinks.py):
small aiohttp servers that stand for the rest of the fediverse, count what reaches them and
answer as scripted. The resolver map sends sink.test to a sink. Time passes by moving
`next_try_at`, `locked_until` and `hosts` times in the database; workers are driven by
`tick()`.
"""

from __future__ import annotations

import asyncio
import os
import signal
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import orjson
import pytest

from commonsfed import signatures
from commonsfed.db import deliveries as deliveries_q
from commonsfed.federation.delivery import DeliveryWorker
from commonsfed.federation.transport import AddressPolicy, make_client_session
from commonsfed.federation.workers import (
    run_until_signalled,
    start_in_background,
    stop_background,
)
from tests.integration.sinks import World, inboxes

# --- One delivery, and what each answer does to it ---------------------------------------------


async def test_tick__delivers_once_signed_by_the_actor_to_the_shared_inbox(world):
    # Given alice published a Note to bob, whose server offers a shared inbox
    activity_id = await world.publish()
    worker = world.worker()

    # When the worker ticks (twice)
    assert await worker.tick() is True
    assert await worker.tick() is False

    # Then the sink got it once, at the shared inbox, signed with alice's key
    assert len(world.sink.received) == 1
    received = world.sink.received[0]
    assert received.raw_path == "/inbox"
    assert received.headers["Content-Type"] == "application/activity+json"
    assert orjson.loads(received.body) == orjson.loads(
        (await world.fetchrow("SELECT document FROM activities WHERE uri = $1", activity_id))[0]
    )
    public_pem = (await world.fetchrow("SELECT public_key_pem FROM accounts"))[0]
    parsed = signatures.verify_request(
        "POST", received.raw_path, received.headers, received.body,
        signatures.public_key_from_pem(public_pem), scheme="http",
    )  # fmt: skip
    assert parsed.key_id == f"{world.alice}#main-key"
    assert "digest" in parsed.covered and "content-type" in parsed.covered
    # and the queue says so
    row = await world.delivery(activity_id)
    assert (row["state"], row["attempts"], row["last_status"]) == ("done", 1, 202)
    assert row["locked_until"] is None and row["finished_at"] is not None
    assert (await world.host())["last_success_at"] is not None


async def test_tick__a_peer_answering_500_then_202_gets_it_after_the_retry(world):
    # Given a peer that fails once
    world.sink.answer(500)
    activity_id = await world.publish()
    worker = world.worker()

    # When the worker tries, it schedules a retry about 30 s ahead and sends nothing more
    assert await worker.tick() is True
    row = await world.delivery(activity_id)
    assert (row["state"], row["attempts"], row["last_status"]) == ("pending", 1, 500)
    assert row["last_error"] == "HTTP 500"
    wait = row["next_try_at"] - datetime.now(UTC)
    assert timedelta(seconds=20) < wait <= timedelta(seconds=36)
    assert await worker.tick() is False

    # When the retry comes due
    await world.make_due()
    assert await worker.tick() is True

    # Then the peer has it, after exactly two requests
    assert world.sink.counts() == {activity_id: 2}
    row = await world.delivery(activity_id)
    assert (row["state"], row["attempts"], row["last_status"]) == ("done", 2, 202)
    assert (await world.host())["consecutive_failures"] == 0


async def test_tick__a_peer_answering_404_is_given_up(world):
    world.sink.answer(404)
    activity_id = await world.publish()
    worker = world.worker()

    await worker.tick()
    await world.make_due()

    assert await worker.tick() is False
    assert len(world.sink.received) == 1
    row = await world.delivery(activity_id)
    assert (row["state"], row["last_status"], row["last_error"]) == ("failed", 404, "HTTP 404")
    # a 404 is an answer: the host is up, it is not counted against it
    assert (await world.host())["consecutive_failures"] == 0


async def test_tick__429_with_retry_after_sets_next_try_at(world):
    world.sink.answer(429, **{"Retry-After": "600"})
    activity_id = await world.publish()

    await world.worker().tick()

    row = await world.delivery(activity_id)
    assert (row["state"], row["last_status"]) == ("pending", 429)
    wait = row["next_try_at"] - datetime.now(UTC)
    assert timedelta(seconds=590) < wait <= timedelta(seconds=600)


async def test_tick__an_unreachable_peer_is_retried_and_counted_against_its_host(world):
    # Given bob's server is down: nothing listens where sink.test resolves
    await world.sink.server.close()
    activity_id = await world.publish()

    await world.worker().tick()

    row = await world.delivery(activity_id)
    assert (row["state"], row["attempts"], row["last_status"]) == ("pending", 1, None)
    assert "Connect" in row["last_error"]
    host = await world.host()
    assert host["consecutive_failures"] == 1 and host["failing_since"] is not None


async def test_tick__an_internal_address_is_refused_before_sending_and_given_up(world):
    # Given north runs with the production policy, where loopback is refused
    policy = AddressPolicy(resolve={"sink.test": world.sink.target})
    session = make_client_session(policy, user_agent="commonsfed/test")
    federation = replace(world.federation, session=session, policy=policy)
    activity_id = await world.publish()
    try:
        await DeliveryWorker(federation).tick()
    finally:
        await session.close()

    # Then nothing reached the peer, and the delivery is given up at once
    assert world.sink.received == []
    row = await world.delivery(activity_id)
    assert row["state"] == "failed" and "AddressNotAllowed" in row["last_error"]
    assert await world.host() is None  # says nothing about the host


@pytest.mark.parametrize("left", [
    "status = 'suspended'",
    # a deleted account signs its farewell until its key is erased (test_account_deletion)
    "status = 'deleted', private_key_pem = NULL, public_key_pem = NULL",
])  # fmt: skip
async def test_tick__an_actor_who_left_has_their_deliveries_given_up(world, left):
    activity_id = await world.publish()
    await world.execute(f"UPDATE accounts SET {left}")

    await world.worker().tick()

    assert world.sink.received == []
    row = await world.delivery(activity_id)
    assert row["state"] == "failed" and "NoSigningKey" in row["last_error"]


async def test_tick__one_activity_to_many_inboxes_is_signed_for_each(world):
    activity_id = await world.publish(inboxes=inboxes(5))

    await world.worker().tick()

    paths = sorted(item.raw_path for item in world.sink.received)
    assert paths == sorted(["/inbox", *(f"/users/u{n}/inbox" for n in range(5))])
    assert world.sink.counts() == {activity_id: 6}


# --- Claims, leases, concurrency ------------------------------------------------------------


async def test_lease__a_live_claim_is_not_taken_by_another_worker(world):
    await world.publish()
    first, second = world.worker(), world.worker()

    assert await first.fetch_next() is not None
    assert await second.tick() is False
    assert world.sink.received == []


async def test_lease__a_worker_that_died_after_claiming_loses_nothing(world):
    # Given a worker claimed the delivery, then was killed before sending it
    activity_id = await world.publish()
    dead = world.worker()
    claimed = await dead.fetch_next()
    assert claimed is not None and claimed.activity_uri == activity_id
    del dead

    # When its lease runs out, a new worker delivers it
    await world.execute("UPDATE deliveries SET locked_until = now() - interval '1 second'")
    assert await world.worker().tick() is True

    # Then the peer has it once, and no attempt was lost or counted twice
    assert world.sink.counts() == {activity_id: 1}
    row = await world.delivery(activity_id)
    assert (row["state"], row["attempts"]) == ("done", 1)


async def test_lease__a_late_worker_cannot_overwrite_the_result_of_a_newer_claim(world):
    # Given a slow worker's lease ran out and another worker delivered the activity
    world.sink.answer(202, 500)
    activity_id = await world.publish()
    slow = world.worker()
    claimed = await slow.fetch_next()
    await world.execute("UPDATE deliveries SET locked_until = now() - interval '1 second'")
    await world.worker().tick()

    # When the slow worker finally sends it, and it fails
    outcome = await slow.process_one(claimed)

    # Then the done delivery stays done
    assert outcome.kind == "retry"
    row = await world.delivery(activity_id)
    assert (row["state"], row["attempts"]) == ("done", 1)


async def test_two_workers__ticking_together_never_send_a_delivery_twice(world):
    # Given 20 deliveries, and two workers that claim a few at a time
    ids = [await world.publish() for _ in range(20)]
    first, second = world.worker(batch=3), world.worker(batch=3)

    # When they tick together until neither finds anything
    while any(await asyncio.gather(first.tick(), second.tick())):
        pass

    # Then every activity arrived exactly once
    assert world.sink.counts() == dict.fromkeys(ids, 1)
    states = await world.fetch("SELECT state, attempts FROM deliveries")
    assert {(r["state"], r["attempts"]) for r in states} == {("done", 1)}


async def test_release_claims__on_shutdown_gives_back_what_was_not_processed(world):
    # Given a worker holds three claimed deliveries and has processed one
    ids = [await world.publish() for _ in range(3)]
    worker = world.worker()
    first = await worker.fetch_next()
    await worker.process_one(first)

    # When it shuts down
    assert await worker.release_claims() == 2

    # Then the other two are free at once, with no attempt counted, for any worker
    rows = await world.fetch("SELECT * FROM deliveries WHERE state = 'pending'")
    assert [(r["locked_until"], r["attempts"]) for r in rows] == [(None, 0), (None, 0)]
    assert await world.worker().tick() is True
    assert world.sink.counts() == dict.fromkeys(ids, 1)


# --- Hosts that keep failing ------------------------------------------------------------------


async def fail_until_parked(world: World, worker: DeliveryWorker, meanwhile=None) -> str:
    """Bob's server answers 500 six times within minutes, then once more an hour later.
    `meanwhile()` runs just before that last failure."""
    world.sink.answer(*[500] * 7)
    first = await world.publish()
    for _ in range(6):
        await world.make_due()
        assert await worker.tick() is True
    host = await world.host()
    assert (host["consecutive_failures"], host["parked_until"]) == (6, None)
    # an hour and a bit passes, still failing
    await world.execute("UPDATE hosts SET failing_since = now() - interval '2 hours'")
    await world.make_due()
    if meanwhile is not None:
        await meanwhile()
    await worker.tick()
    return first


async def test_parking__a_failing_host_is_parked_probed_and_unparked(world):
    worker = world.worker()
    first = await fail_until_parked(world, worker)

    # Then the host is parked for as long as it has been failing
    host = await world.host()
    assert host["consecutive_failures"] == 7
    parked_for = host["parked_until"] - datetime.now(UTC)
    assert timedelta(hours=1, minutes=59) < parked_for < timedelta(hours=2, minutes=1)

    # and while it is parked, nothing goes to it, due or not
    later = [await world.publish() for _ in range(2)]
    await world.make_due()
    assert await worker.tick() is False
    assert len(world.sink.received) == 7

    # When the park ends (the host has now failed for five hours) and the probe fails
    world.sink.answer(500)
    await world.execute("UPDATE hosts SET parked_until = now() - interval '1 second', "
                        "failing_since = now() - interval '5 hours'")  # fmt: skip
    assert await worker.tick() is True

    # Then exactly one delivery went, the oldest, and the host is parked again, longer
    assert len(world.sink.received) == 8 and world.sink.received[-1].activity_id == first
    parked_for = (await world.host())["parked_until"] - datetime.now(UTC)
    assert timedelta(hours=4, minutes=59) < parked_for < timedelta(hours=5, minutes=1)
    await world.make_due()
    assert await worker.tick() is False

    # When the next probe succeeds
    await world.execute("UPDATE hosts SET parked_until = now() - interval '1 second'")
    assert await worker.tick() is True
    host = await world.host()
    assert (host["parked_until"], host["consecutive_failures"], host["failing_since"]) == (
        None, 0, None,
    )  # fmt: skip

    # Then the host is back: the rest goes at once
    assert await worker.tick() is True
    assert world.sink.counts() == {first: 9, later[0]: 1, later[1]: 1}


async def test_parking__only_one_probe_even_with_two_workers(world):
    worker = world.worker()
    await fail_until_parked(world, worker)
    for _ in range(4):
        await world.publish()
    await world.make_due()
    await world.execute("UPDATE hosts SET parked_until = now() - interval '1 second'")
    world.sink.answer(500)
    sent = len(world.sink.received)

    await asyncio.gather(worker.tick(), world.worker().tick())

    assert len(world.sink.received) == sent + 1


async def test_parking__gives_up_deliveries_older_than_the_retry_window(world):
    # Given a delivery queued three days ago, waiting for its next try
    stale: list[str] = []

    async def queue_stale() -> None:
        stale.append(await world.publish())
        await world.execute(
            "UPDATE deliveries SET created_at = now() - interval '3 days', "
            "next_try_at = now() + interval '1 hour' WHERE activity_uri = $1", stale[0],
        )  # fmt: skip

    # When the host gets parked
    await fail_until_parked(world, world.worker(), meanwhile=queue_stale)

    # Then the stale delivery is given up rather than left for the probes
    row = await world.delivery(stale[0])
    assert row["state"] == "failed" and "two days" in row["last_error"]
    assert world.sink.counts()[stale[0]] == 0


# --- For admins ----------------------------------------------------------------------------


async def test_drop_pending_for_host__drops_only_that_hosts_pending_deliveries(world):
    # Given one delivery done to sink.test, two pending there and one pending elsewhere
    done = await world.publish()
    await world.worker().tick()
    pending = [await world.publish() for _ in range(2)]
    other = await world.publish(inboxes=["http://east.test/inbox"])

    async with world.pool.acquire() as conn:
        dropped = await deliveries_q.drop_pending_for_host(conn, "Sink.Test")

    assert dropped == 3  # the two, and the copy of `other` to bob
    states = {
        (r["activity_uri"], r["host"]): r["state"]
        for r in await world.fetch("SELECT activity_uri, host, state FROM deliveries")
    }
    assert states[(done, "sink.test")] == "done"
    assert {states[(uri, "sink.test")] for uri in pending} == {"failed"}
    assert states[(other, "east.test")] == "pending"
    assert await world.worker().tick() is True  # only east.test is left to try
    assert world.sink.counts() == {done: 1}


async def test_queue_summary__per_host_counts(world):
    world.sink.answer(500, 404)
    *_, third = [await world.publish() for _ in range(3)]
    # the first retries, the second is given up (a batch of two: per_host keeps the claim
    # from taking the host's third with them)
    await world.worker(batch=2, per_host=2).tick()
    await world.execute("UPDATE hosts SET parked_until = now() + interval '1 hour'")

    async with world.pool.acquire() as conn:
        rows = await deliveries_q.queue_summary(conn)

    (row,) = rows
    assert (row["host"], row["pending"], row["retrying"], row["failed"]) == ("sink.test", 2, 1, 1)
    assert row["parked"] is True
    assert row["oldest_next_try_at"] == (await world.delivery(third))["next_try_at"]


# --- Running workers ---------------------------------------------------------------------------


class Watched:
    """A worker whose runner we can watch: `idle` is set when a tick finds nothing."""

    def __init__(self, worker: DeliveryWorker) -> None:
        self.worker, self.channel = worker, worker.channel
        self.idle = asyncio.Event()
        self.released = False

    async def tick(self) -> bool:
        busy = await self.worker.tick()
        if not busy:
            self.idle.set()
        return busy

    async def release_claims(self) -> int:
        self.released = True
        return await self.worker.release_claims()


async def test_run_workers__a_notify_wakes_them_and_the_stop_event_stops_them(world):
    # Given the workers are running and have gone idle; with no NOTIFY they would only
    # look again after an hour
    watched = Watched(world.worker())
    task, stop = start_in_background(world.pool, [watched], idle_timeout=3600)
    await asyncio.wait_for(watched.idle.wait(), 10)

    # When alice publishes (the NOTIFY goes out at commit)
    activity_id = await world.publish()

    # Then the peer receives it at once
    await asyncio.wait_for(world.sink.arrived.wait(), 10)
    assert world.sink.counts() == {activity_id: 1}

    # and the stop event ends the runner cleanly, releasing the workers' claims
    await asyncio.wait_for(stop_background(task, stop), 10)
    assert task.done() and task.exception() is None
    assert watched.released


async def test_run_until_signalled__sigterm_stops_the_workers_cleanly(world):
    # Given `commonsfed worker` is running and idle
    watched = Watched(world.worker())
    task = asyncio.create_task(run_until_signalled(world.pool, [watched], idle_timeout=3600))
    await asyncio.wait_for(watched.idle.wait(), 10)

    # When the service manager sends SIGTERM
    os.kill(os.getpid(), signal.SIGTERM)

    # Then the runner ends by itself, having released the workers' claims
    await asyncio.wait_for(task, 10)
    assert watched.released
