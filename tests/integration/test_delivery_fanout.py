"""A batch fanned out: signed on several threads while it is sent, one host's deliveries in
turn over one kept-alive connection, and a host's due deliveries claimed together.

The world is the delivery tests' (sinks.py): north, a real node, delivers to a sink on
loopback that stands for bob's server, which takes its users' deliveries at their own
inboxes (as a server without a shared inbox would) and bob's at its shared inbox. The sink
notes the connection each request came over.
"""

from __future__ import annotations

import asyncio

import pytest

from commonsfed import signatures
from commonsfed.federation.delivery import FEW_HOSTS
from commonsfed.federation.signing import Signer
from commonsfed.services.accounts import register
from tests.integration.sinks import World, inboxes
from tests.integration.test_delivery_claims import until


async def test_tick__one_hosts_deliveries_go_over_one_reused_connection(world):
    # Given alice's Note to bob and to twelve other people on his server
    first = await world.publish(inboxes=inboxes(12))

    # When a worker sends the batch, then the next activity's
    assert await world.worker().tick() is True
    second = await world.publish(inboxes=inboxes(12))
    assert await world.worker().tick() is True

    # Then all 26 arrived, over one connection, kept alive from the first batch to the next
    assert world.sink.counts() == {first: 13, second: 13}
    assert len(world.sink.connections()) == 1


async def test_claim__takes_the_other_due_deliveries_of_the_hosts_it_claims(world):
    # Given three activities queued for bob's server, three deliveries each
    ids = [await world.publish(inboxes=inboxes(2)) for _ in range(3)]

    # When a worker that claims one delivery at a time ticks once
    assert await world.worker(batch=1).tick() is True

    # Then the host's other due deliveries came with it, and went in that batch
    assert world.sink.counts() == dict.fromkeys(ids, 3)


async def test_claim__takes_at_most_per_host_deliveries_of_a_host(world):
    ids = [await world.publish(inboxes=inboxes(2)) for _ in range(3)]

    assert await world.worker(batch=1, per_host=4).tick() is True

    assert len(world.sink.received) == 4
    pending = await world.fetch("SELECT id FROM deliveries WHERE state = 'pending'")
    assert len(pending) == 5 and len(ids) == 3


async def test_tick__signs_a_batch_on_every_thread_of_its_signer(world):
    # Given nine deliveries, and a worker whose signer has two threads
    activity_id = await world.publish(inboxes=inboxes(8))
    signer = Signer(threads=2)
    try:
        # When it sends the batch
        assert await world.worker(signer=signer).tick() is True
    finally:
        signer.close()

    # Then each thread signed its share
    assert sorted(signer.signed_by.values()) == [4, 5]
    # and every request arrived signed with alice's key
    assert world.sink.counts() == {activity_id: 9}
    public_pem = (await world.fetchrow("SELECT public_key_pem FROM accounts"))[0]
    for received in world.sink.received:
        parsed = signatures.verify_request(
            "POST", received.raw_path, received.headers, received.body,
            signatures.public_key_from_pem(public_pem), scheme="http",
        )  # fmt: skip
        assert parsed.key_id == f"{world.alice}#main-key"


async def test_tick__a_slow_answer_does_not_hold_its_hosts_other_deliveries(world):
    # Given bob's shared inbox does not answer, and three others on his server do
    world.sink.stalled.add("/inbox")
    activity_id = await world.publish(inboxes=inboxes(3))

    async def others_recorded() -> bool:
        done = await world.fetchrow("SELECT count(*) FROM deliveries WHERE state = 'done'")
        return done[0] == 3

    # When a worker sends the batch, signing on one thread so that bob's goes first (with
    # several, the others' signatures may come first and go before his, on one connection)
    signer = Signer(threads=1)
    tick = asyncio.create_task(world.worker(signer=signer).tick())
    try:
        # Then the other three go (over another connection) and are recorded meanwhile
        assert await until(others_recorded)
    finally:
        world.sink.unstall.set()
        await tick
        signer.close()
    assert world.sink.counts() == {activity_id: 4}
    assert len(world.sink.connections()) == 2


async def test_publish__numbers_deliveries_host_by_host_for_the_domains_it_federates_with(world):
    # Given a suspended domain and a limited one among the recipients
    await world.execute(
        "INSERT INTO domain_policies (domain, policy, severity) VALUES"
        " ('gone.test', 'block', 'suspend'), ('quiet.test', 'block', 'limit')"
    )
    others = ["http://gone.test/users/a/inbox", "http://quiet.test/users/b/inbox",
              "http://quiet.test/users/c/inbox", "http://SINK.test/users/u0/inbox"]  # fmt: skip

    # When alice publishes to them and to bob
    activity_id = await world.publish(inboxes=inboxes(1) + others)

    # Then the limited domain gets its deliveries, the suspended one none; one per inbox,
    # numbered host by host (so that a claim finds a host's side by side)
    rows = await world.fetch(
        "SELECT host, inbox FROM deliveries WHERE activity_uri = $1 ORDER BY id", activity_id
    )
    assert [(r["host"], r["inbox"]) for r in rows] == [
        ("quiet.test", "http://quiet.test/users/b/inbox"),
        ("quiet.test", "http://quiet.test/users/c/inbox"),
        ("sink.test", "http://SINK.test/users/u0/inbox"),
        ("sink.test", "http://sink.test/inbox"),
        ("sink.test", "http://sink.test/users/u0/inbox"),
    ]


@pytest.fixture
async def wide_world(start_nodes, sink) -> World:
    """The delivery world, with more hosts than FEW_HOSTS on the sink: h0.test, h1.test ..."""
    hosts = {f"h{n}.test": sink.target for n in range(FEW_HOSTS + 4)}
    changes = {"resolve": {"sink.test": sink.target, **hosts}, "run_worker": False}
    (north,) = await start_nodes(1, **{"north.test": changes})
    await register(north.federation.pool, north.settings, username="alice",
                   email="a@example.org", password="x" * 12)  # fmt: skip
    return World(north, sink, north.federation.uris.user("alice"))


async def test_tick__a_fan_out_closes_each_hosts_connection_after_its_last_delivery(wide_world):
    # Given a Note to two people on each of 20 hosts
    hosts = [f"h{n}.test" for n in range(FEW_HOSTS + 4)]
    await wide_world.publish(inboxes=[f"http://{host}/users/u{k}/inbox"
                                      for host in hosts for k in range(2)])  # fmt: skip

    # When a worker sends the batch
    assert await wide_world.worker().tick() is True

    # Then each host's deliveries went over one connection, and the last asked to close it:
    # no idle socket is left to each host once the batch is done
    over: dict[tuple, list[str | None]] = {}
    for item in wide_world.sink.received:
        over.setdefault(item.peer, []).append(item.headers.get("Connection"))
    assert len(wide_world.sink.received) == 40
    assert len(over) == len(hosts)
    assert all(asked[-1] == "close" and "close" not in asked[:-1] for asked in over.values())
