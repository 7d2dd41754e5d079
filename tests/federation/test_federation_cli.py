"""The admin's federation commands against real nodes: federate, block, queue, worker."""

from __future__ import annotations

import asyncio
import signal
import sys

import asyncpg

from commonsfed.db.pool import connect
from commonsfed.services import follows
from tests.builders import register
from tests.integration.test_migrations import cli_env
from tests.nodes import settle


async def cli(node, *args: str) -> tuple[int, str, str]:
    process = await start_cli(node, *args)
    out, err = await asyncio.wait_for(process.communicate(), 60)
    return process.returncode, out.decode(), err.decode()


async def start_cli(node, *args: str) -> asyncio.subprocess.Process:
    resolve = ",".join(f"{name}={target}" for name, target in node.settings.resolve.items())
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "commonsfed", *args, "--dev", "--domain", node.name,
        "--resolve", resolve, "--database-url", node.settings.database_url,
        env=cli_env(), stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )


async def fetch(node, query: str, *args) -> list[tuple]:
    conn = await connect(node.settings.database_url)
    try:
        return [tuple(row) for row in await conn.fetch(query, *args)]
    finally:
        await conn.close()


async def test_federate_command__joins_the_other_neighbourhood(start_nodes):
    north, south = await start_nodes(2)

    status, out, err = await cli(north, "federate", "south.test")
    await settle(north, south)

    assert status == 0, err
    assert "asked to follow http://south.test/users/neighbourhood" in out
    assert await fetch(north, "SELECT followed_uri, state FROM follows") == [
        ("http://south.test/users/neighbourhood", "accepted")]


async def test_federate_command__undo_stops_following(start_nodes):
    north, south = await start_nodes(2)
    await cli(north, "federate", "south.test")
    await settle(north, south)

    status, out, _ = await cli(north, "federate", "south.test", "--undo")
    await settle(north, south)

    assert status == 0 and "stopped following" in out
    assert await fetch(south, "SELECT * FROM follows") == []


async def test_federate_command__a_domain_that_is_not_a_node_exits_1(start_nodes):
    (north,) = await start_nodes(1)

    status, _, err = await cli(north, "federate", "nowhere.test")

    assert status == 1 and err.count("\n") == 1 and "nowhere.test" in err


async def test_block_command__refuses_the_domain_and_drops_its_deliveries(start_nodes):
    north, south = await start_nodes(2)
    await register(south.client, "bob")
    await register(north.client, "alice")
    await follows.follow(north.federation, north.url("/users/alice"), "@bob@south.test")

    status, out, err = await cli(north, "block", "south.test")

    assert status == 0, err
    assert "blocked south.test; dropped 1 pending deliveries" in out
    assert await fetch(north, "SELECT policy FROM domain_policies WHERE domain = 'south.test'") \
        == [("block",)]
    assert await fetch(north, "SELECT state FROM deliveries") == [("failed",)]
    assert await fetch(north, "SELECT * FROM follows") == []

    status, out, _ = await cli(north, "block", "south.test", "--undo")

    assert status == 0 and "unblocked south.test" in out
    assert await fetch(north, "SELECT * FROM domain_policies") == []


async def test_queue_command__shows_waiting_deliveries_by_host(start_nodes):
    north, south = await start_nodes(2)
    await register(south.client, "bob")
    await register(north.client, "alice")
    await follows.follow(north.federation, north.url("/users/alice"), "@bob@south.test")

    status, out, err = await cli(north, "queue")

    assert status == 0, err
    assert "south.test" in out and "1 pending" in out
    assert "inbox: 0 pending, 0 unhandled, 0 failed, 0 done" in out


async def test_worker_command__delivers_and_stops_cleanly_on_sigterm(start_nodes):
    # Given a Follow waiting in north's queue, and south listening for its inbox
    north, south = await start_nodes(2)
    await register(south.client, "bob")
    await register(north.client, "alice")
    arrived = asyncio.Event()
    listener = await asyncpg.connect(south.settings.database_url)
    await listener.add_listener("commonsfed_inbox", lambda *_: arrived.set())
    await follows.follow(north.federation, north.url("/users/alice"), "@bob@south.test")

    # When a separate worker process runs for north
    worker = await start_cli(north, "worker")
    try:
        await asyncio.wait_for(arrived.wait(), 60)
    finally:
        worker.send_signal(signal.SIGTERM)
        _, err = await asyncio.wait_for(worker.communicate(), 60)
        await listener.close()

    # Then the Follow reached south, and the worker stopped cleanly
    assert worker.returncode == 0, err.decode()
    assert await fetch(north, "SELECT state FROM deliveries") == [("done",)]
    assert await fetch(south, "SELECT activity->>'type' FROM inbox_items") == [("Follow",)]


async def test_block_command__something_that_is_not_a_domain_exits_1(start_nodes):
    (north,) = await start_nodes(1)

    status, _, err = await cli(north, "block", "https://south.test/")

    assert status == 1 and "is not a domain" in err
    assert await fetch(north, "SELECT * FROM domain_policies") == []
