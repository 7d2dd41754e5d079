"""Delivery claims under a short lease kept alive by heartbeats, and outcomes recorded as they
come in: what a worker that dies, stalls or comes back late leaves to the others.

The world is the delivery tests' (sinks.py): north, a real node, delivers to a sink on
loopback that stands for bob's server. A stalled path gets no answer to its first request, as a slow peer's. The
heartbeat is stepped with `await worker.heartbeat()`, as the runner's timer calls it; leases
pass in real time where the test gives a one-second lease, else by moving `locked_until`
and `parked_until` back, as the passing of time would.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from commonsfed.federation.workers import start_in_background, stop_background
from tests.federation.test_federation_cli import start_cli
from tests.integration.sinks import World
from tests.integration.test_delivery import fail_until_parked

# Short enough for a test to wait for it to pass; the default is 45 s.
LEASE = timedelta(seconds=1)


async def until(condition: Callable[[], Awaitable[bool]], seconds: float = 10) -> bool:
    """Wait for `condition()` to come true, asking every 50 ms; False if it did not within
    `seconds` (a lease to run out, or another process to have done its part)."""
    deadline = asyncio.get_running_loop().time() + seconds
    while not await condition():
        if asyncio.get_running_loop().time() > deadline:
            return False
        await asyncio.sleep(0.05)
    return True


async def db_now(world: World) -> datetime:
    return (await world.fetchrow("SELECT now()"))[0]


def warnings_from(caplog, logger: str) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == logger and r.levelname == "WARNING"]


# --- a worker killed mid-batch -------------------------------------------------------------


async def test_worker_killed_mid_batch__what_it_recorded_is_not_sent_again(world):
    # Given one Create to six inboxes at bob's server: four answer at once, two never do
    quick = [f"http://sink.test/users/u{n}/inbox" for n in range(3)]  # and bob's shared inbox
    slow = ["/slow/a/inbox", "/slow/b/inbox"]
    world.sink.stalled.update(slow)
    await world.publish(inboxes=quick + [f"http://sink.test{path}" for path in slow])

    async def both_slow_ones_in_flight() -> bool:
        return not world.sink.stalled

    async def quick_ones_recorded() -> bool:
        done = await world.fetchrow("SELECT count(*) FROM deliveries WHERE state = 'done'")
        return done[0] == 4

    # When a `commonsfed worker` process sends the batch, and is killed (SIGKILL) once the
    # quick answers are in and the slow ones still in flight
    worker = await start_cli(world.node, "worker")
    try:
        assert await until(both_slow_ones_in_flight, seconds=60)
        recorded = await until(quick_ones_recorded, seconds=10)
    finally:
        worker.kill()
        await asyncio.wait_for(worker.communicate(), 60)
    # and its lease passes (a dead worker's heartbeat stops), so another worker takes over
    await world.execute(
        "UPDATE deliveries SET locked_until = now() - interval '1 second' WHERE state = 'pending'"
    )
    assert await world.worker().tick() is True

    # Then the quick answers, recorded as they came in, were not sent again: only the two
    # that never got an answer went twice
    assert world.sink.paths() == {
        "/inbox": 1, "/users/u0/inbox": 1, "/users/u1/inbox": 1, "/users/u2/inbox": 1,
        "/slow/a/inbox": 2, "/slow/b/inbox": 2,
    }  # fmt: skip
    assert recorded, "the killed worker had not recorded the four quick answers"
    states = await world.fetch("SELECT state, attempts FROM deliveries")
    assert {(r["state"], r["attempts"]) for r in states} == {("done", 1)}


# --- heartbeats keep a claim; without them it is taken over ---------------------------------


async def test_heartbeat__keeps_a_batch_past_its_lease_and_once_it_stops_another_takes_over(
    world, caplog
):
    # Given a worker holds a batch of three under a one-second lease
    ids = [await world.publish() for _ in range(3)]
    holder, other = world.worker(lease=LEASE), world.worker(lease=LEASE)
    assert await holder.fetch_next() is not None
    first_lease_end = (await world.fetchrow("SELECT max(locked_until) FROM deliveries"))[0]

    # When its heartbeat runs (here every 0.2 s) until that lease is well past
    while await db_now(world) < first_lease_end + LEASE / 2:
        assert await holder.heartbeat() == 3
        # Then no other worker can claim any of it meanwhile
        assert await other.tick() is False
        await asyncio.sleep(0.2)
    assert world.sink.received == []

    # When its heartbeats stop (it hangs, or died): once its lease has passed, the other
    # worker takes the batch over and delivers it
    assert await until(other.tick)
    assert world.sink.counts() == dict.fromkeys(ids, 1)
    # and the first, back at last, finds it holds nothing: it says so once, and sends nothing
    assert await holder.heartbeat() == 0
    assert await holder.fetch_next() is None
    assert len(warnings_from(caplog, "commonsfed.federation.claims")) == 1
    assert world.sink.counts() == dict.fromkeys(ids, 1)


async def test_heartbeat__a_worker_back_after_a_takeover_records_nothing_over_the_new_owner(
    world, caplog
):
    # Given worker A sent a delivery and waits for bob's server, which does not answer
    world.sink.stalled.add("/inbox")
    activity_id = await world.publish()
    late = world.worker()
    sending = asyncio.create_task(late.tick())
    await asyncio.wait_for(world.sink.arrived.wait(), 10)

    # When A's lease passes without a heartbeat, and worker B takes the delivery over
    await world.execute("UPDATE deliveries SET locked_until = now() - interval '1 second'")
    assert await world.worker().tick() is True
    # and A's heartbeat comes, then bob's server answers A at last, with a 500
    assert await late.heartbeat() == 0
    world.sink.answer(500)
    world.sink.unstall.set()
    await asyncio.wait_for(sending, 10)

    # Then B's outcome stands: done at the first attempt, with B's 202
    row = await world.delivery(activity_id)
    assert (row["state"], row["attempts"], row["last_status"]) == ("done", 1, 202)
    assert (await world.host())["consecutive_failures"] == 0
    # and A said so once, at its heartbeat
    (warning,) = warnings_from(caplog, "commonsfed.federation.claims")
    assert "taken over by another worker" in warning
    assert warnings_from(caplog, "commonsfed.federation.delivery") == []


async def test_heartbeat__a_late_outcome_with_no_heartbeat_between_misses_and_is_logged(
    world, caplog
):
    # Given worker A claimed a delivery, its lease passed and worker B claimed it
    world.sink.answer(500, 202)
    activity_id = await world.publish()
    late, owner = world.worker(), world.worker()
    stale = await late.fetch_next()
    await world.execute("UPDATE deliveries SET locked_until = now() - interval '1 second'")
    taken = await owner.fetch_next()

    # When A sends it before any heartbeat told it, and it fails
    assert (await late.process_one(stale)).kind == "retry"

    # Then A's outcome missed B's claim: the row is B's, untouched, and A said so
    row = await world.delivery(activity_id)
    assert (row["state"], row["attempts"], row["last_status"]) == ("pending", 0, None)
    assert row["claim"] == taken.claim != stale.claim
    assert len(warnings_from(caplog, "commonsfed.federation.delivery")) == 1
    # and B's outcome is recorded
    assert (await owner.process_one(taken)).kind == "done"
    assert (await world.delivery(activity_id))["state"] == "done"


# --- a parked host's probe ---------------------------------------------------------------------


async def test_heartbeat__a_probe_in_flight_keeps_its_host_from_a_second_probe(world):
    # Given bob's server is parked, its park over, and a worker's probe waits for an answer
    worker = world.worker()
    await fail_until_parked(world, worker)
    await world.publish()
    await world.make_due()
    await world.execute("UPDATE hosts SET parked_until = now() - interval '1 second'")
    world.sink.stalled.add("/inbox")
    world.sink.arrived.clear()
    probing = asyncio.create_task(worker.tick())
    await asyncio.wait_for(world.sink.arrived.wait(), 10)
    sent = len(world.sink.received)

    # When a minute passes, with the worker's heartbeat
    await world.execute("UPDATE hosts SET parked_until = parked_until - interval '1 minute'")
    await world.execute(
        "UPDATE deliveries SET locked_until = locked_until - interval '1 minute' "
        "WHERE locked_until IS NOT NULL"
    )
    assert await worker.heartbeat() == 1

    # Then the host is still held for the probe: no other worker sends a second one
    assert (await world.host())["parked_until"] > await db_now(world)
    assert await world.worker().tick() is False
    assert len(world.sink.received) == sent

    # When the probe's answer comes, the host is back
    world.sink.unstall.set()
    await asyncio.wait_for(probing, 10)
    assert (await world.host())["parked_until"] is None


# --- the runner's timer ------------------------------------------------------------------------


async def test_run_workers__renew_the_claims_of_a_tick_in_flight_on_the_heartbeat_timer(world):
    # Given the runner's delivery worker waits for bob's server, which does not answer yet
    world.sink.stalled.add("/inbox")
    activity_id = await world.publish()
    worker = world.worker(heartbeat_every=timedelta(milliseconds=50))
    task, stop = start_in_background(world.pool, [worker], idle_timeout=3600)
    await asyncio.wait_for(world.sink.arrived.wait(), 10)
    claimed_until = (await world.delivery(activity_id))["locked_until"]

    async def renewed() -> bool:
        return (await world.delivery(activity_id))["locked_until"] > claimed_until

    # Then its heartbeat moves the lease ahead while the tick waits
    assert await until(renewed)

    # and once the answer comes, its outcome is recorded and the runner stops cleanly
    world.sink.unstall.set()
    await asyncio.wait_for(stop_background(task, stop), 10)
    assert task.exception() is None
    assert (await world.delivery(activity_id))["state"] == "done"
