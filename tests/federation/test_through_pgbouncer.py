"""Nodes whose pools go through PgBouncer in transaction mode (Debian's, started by the
test: tests/pgbouncer.py), with `database_pooler` on and PostgreSQL itself as the direct
URL: queries from many connections on a few server connections, the workers' wake-ups
and the settings' LISTEN on connections of their own, and the two-node answers drill."""

from __future__ import annotations

import asyncio

import pytest

from commonsfed.cli import main
from commonsfed.db import node_settings
from commonsfed.db.node_settings import SETTINGS_CHANNEL
from commonsfed.db.pool import close_pool, connect, node_pool
from commonsfed.federation.workers import start_in_background, stop_background
from commonsfed.live_settings import LiveSettings
from tests.federation.test_answers_across_nodes import (
    drill_scene,
)
from tests.federation.test_answers_across_nodes import (
    test_drill__answered_from_south_reserved_released_and_passed_down_the_line as drill,
)
from tests.pgbouncer import SERVER_CONNECTIONS
from tests.waiting import until


async def queries_from_many_connections(pool, connections: int = 12, rounds: int = 5) -> list:
    """Each of `connections` connections runs the same parameterised query `rounds` times;
    the errors."""

    async def one(number: int) -> None:
        async with pool.acquire() as conn:
            for step in range(rounds):
                assert await conn.fetchval("SELECT $1::int * 10 + $2", number, step) == (
                    number * 10 + step
                )

    results = await asyncio.gather(*(one(n) for n in range(connections)), return_exceptions=True)
    return [result for result in results if isinstance(result, BaseException)]


async def test_pool__through_pgbouncer_with_the_pooler_setting__every_query_runs(
    pgbouncer, database_url, settings
):
    # Given a pool of 12 connections through PgBouncer, which has 3 server connections
    routed = pgbouncer.route(settings)
    pool = await node_pool(routed, min_size=12, max_size=12)
    try:
        # When they all run parameterised queries at once, each several times
        errors = await queries_from_many_connections(pool)
    finally:
        await close_pool(pool)

    # Then none fails: nothing was prepared on one server connection and looked for on another
    assert errors == []
    assert SERVER_CONNECTIONS < 12


class CountingWorker:
    channel = "commonsfed_test_wake"

    def __init__(self) -> None:
        self.ticks = 0

    async def tick(self) -> bool:
        self.ticks += 1
        return False


async def test_workers__through_pgbouncer__a_notify_wakes_them(pgbouncer, database_url, settings):
    # Given workers running on a pool through PgBouncer, idle (they would look again in an hour)
    pool = await node_pool(pgbouncer.route(settings))
    worker = CountingWorker()
    task, stop = start_in_background(pool, [worker], idle_timeout=3600)
    try:
        await until(lambda: worker.ticks == 1)
        await until(lambda: _listening(database_url, worker.channel))

        # When another process queues work and NOTIFYs their channel (through PgBouncer too)
        conn = await connect(pgbouncer.url_for(database_url))
        try:
            await conn.execute(f"NOTIFY {worker.channel}")
        finally:
            await conn.close()

        # Then they wake and look for it at once
        await until(lambda: worker.ticks == 2)
    finally:
        await stop_background(task, stop)
        await close_pool(pool)


async def test_live_settings__through_pgbouncer__hear_a_change_saved_elsewhere(
    pgbouncer, database_url, settings
):
    # Given a process's settings listening for changes, its pool through PgBouncer
    routed = pgbouncer.route(settings)
    pool = await node_pool(routed)
    live = LiveSettings(routed)
    try:
        async with live.listening_on(pool):
            await live.refresh(pool)
            await until(lambda: _listening(database_url, SETTINGS_CHANNEL))

            # When another process saves a new name (and NOTIFYs, through PgBouncer too)
            conn = await connect(pgbouncer.url_for(database_url))
            try:
                async with conn.transaction():
                    await node_settings.store_values(conn, {"instance_name": "Oak Lane"}, None)
            finally:
                await conn.close()

            # Then the process reads it at its next refresh, rather than a minute later
            async def renamed() -> bool:
                return (await live.refresh(pool)).instance_name == "Oak Lane"

            await until(renamed)
    finally:
        await close_pool(pool)


async def _listening(database_url: str, channel: str) -> bool:
    """Whether a session of PostgreSQL itself LISTENs on `channel` (pg_listening_channels
    is per session, so ask each one: a LISTEN sent through the pooler lands on one of its
    server connections, which would count too; hence the wake-up above)."""
    conn = await connect(database_url)
    try:
        return bool(
            await conn.fetchval(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND query ILIKE $1",
                f"LISTEN%{channel}%",
            )
        )
    finally:
        await conn.close()


# --- the two-node drill, both nodes' pools through PgBouncer --------------------------------


@pytest.fixture
async def network(start_nodes, pgbouncer):
    """The drill's scene (test_answers_across_nodes), both nodes through PgBouncer."""
    routes = {name: pgbouncer.route for name in ("north.test", "south.test")}
    async for scene in drill_scene(start_nodes, **routes):
        north, south = scene[:2]
        assert north.settings.database_pooler and south.settings.database_pooler
        yield scene


# the drill itself, run here with the fixture above: a listing of north reaches south,
# south's residents answer it, north reserves, releases and passes it down the line
test_drill__through_pgbouncer = drill


def test_migrate__with_the_pooler_setting__migrates_on_postgresql_itself(
    pgbouncer, empty_database_url, monkeypatch, capsys
):
    # Given a node configured through PgBouncer, its database still empty
    monkeypatch.setenv("DATABASE_URL", pgbouncer.url_for(empty_database_url))
    monkeypatch.setenv("COMMONSFED_DATABASE_POOLER", "true")
    monkeypatch.setenv("COMMONSFED_DATABASE_DIRECT_URL", empty_database_url)

    # When the admin migrates it
    status = main(["migrate"])

    # Then every migration is applied (under the advisory lock, on a session of its own)
    assert status == 0, capsys.readouterr().err
    assert "database is up to date" in capsys.readouterr().out
