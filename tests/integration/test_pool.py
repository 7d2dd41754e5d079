"""The connection pool's release: a reset only when the connection took session state.

asyncpg's default reset is a round trip on every release; `create_pool` replaces it with one
that runs only after a LISTEN or `needs_reset`, so these tests check that what the default
reset cleaned up is still cleaned up where it can arise.
"""

from __future__ import annotations

import logging

import asyncpg
import pytest

from commonsfed.db.pool import create_pool


@pytest.fixture
async def pool(database_url):
    """A pool of one connection, so every acquire gets back the one released before."""
    pool = await create_pool(database_url, min_size=1, max_size=1)
    yield pool
    await pool.close()


async def listening_channels(pool) -> list[str]:
    async with pool.acquire() as conn:
        return [row[0] for row in await conn.fetch("SELECT pg_listening_channels()")]


async def test_pool__a_connection_released_while_listening__listens_no_more(pool):
    # Given a connection that LISTENs and is released without removing its listener
    with pytest.warns(asyncpg.InterfaceWarning, match="active notification listener"):
        async with pool.acquire() as conn:
            await conn.add_listener("commonsfed_test", lambda *args: None)
            assert await conn.fetchval("SELECT count(*) FROM pg_listening_channels()") == 1

    # Then the next user of that connection does not inherit the LISTEN
    assert await listening_channels(pool) == []


async def test_pool__session_state_marked_with_needs_reset__is_reset(pool):
    # Given a session setting taken by hand and declared
    async with pool.acquire() as conn:
        await conn.execute("SET application_name = 'changed by a test'")
        conn.needs_reset()

    # Then it is gone for the next user
    async with pool.acquire() as conn:
        assert await conn.fetchval("SHOW application_name") != "changed by a test"


async def test_pool__a_transaction_left_open__is_rolled_back_on_release(pool, caplog):
    # Given a transaction begun by hand and never finished (asyncpg's own part of the
    # release, which runs with or without the full reset)
    async with pool.acquire() as conn:
        await conn.execute("CREATE TEMPORARY TABLE t (n int)")  # kept by any reset
    with caplog.at_level(logging.ERROR, logger="asyncio"):
        async with pool.acquire() as conn:
            await conn.execute("BEGIN")
            await conn.execute("INSERT INTO t VALUES (1)")

    # Then the next user is outside any transaction and the row was never committed
    async with pool.acquire() as conn:
        assert not conn.is_in_transaction()
        assert await conn.fetchval("SELECT count(*) FROM t") == 0


async def test_pool__plain_statements__release_without_a_reset_round_trip(pool):
    # Given a connection that ran plain statements only
    async with pool.acquire() as conn:
        await conn.fetchval("SELECT 1")
        raw = conn._con  # the connection behind the pool's proxy
        before = raw._protocol.queries_count

    # Then releasing it sent nothing more to PostgreSQL
    assert raw._protocol.queries_count == before
