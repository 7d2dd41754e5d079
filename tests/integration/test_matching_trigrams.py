"""Matching where PostgreSQL has pg_trgm: the machine's own PostgreSQL (Debian's ships the
contrib modules), as the embedded one the other tests use (pgserver) has none. Migration
0042 installs the extension there, and the titles' likeness ranks the matches."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest

from commonsfed.config import Settings
from commonsfed.db import matching as matching_q
from commonsfed.db.embedded import EmbeddedError, _MachinePostgres
from commonsfed.db.lifecycle import apply_migrations
from commonsfed.db.pool import create_pool, with_database
from commonsfed.services import accounts, listings, matching
from tests.builders import TEST_SECRET, server_execute, server_fetchval

TOOLS = {"kind": "give", "category": "tools", "place": "Elm Street"}


@pytest.fixture
async def trigram_database():
    """A migrated database on the machine's PostgreSQL; skipped where it has no pg_trgm.
    Its folder is a short one of its own: the server's socket lives there, and PostgreSQL
    refuses a socket path of more than 107 bytes (pytest's tmp_path can be longer)."""
    with tempfile.TemporaryDirectory(prefix="cf-trgm-") as folder:
        async for url in _trigram_database(Path(folder) / "postgres"):
            yield url


async def _trigram_database(pgdata: Path):
    server = _MachinePostgres(pgdata)
    try:
        url = server.start()
    except EmbeddedError as exc:
        pytest.skip(f"no PostgreSQL of the machine's own: {exc}")
    try:
        available = await server_fetchval(
            url, "SELECT count(*) FROM pg_available_extensions WHERE name = 'pg_trgm'"
        )
        if not available:
            pytest.skip("the machine's PostgreSQL has no pg_trgm (postgresql-contrib)")
        await server_execute(url, 'CREATE DATABASE "trigrams"')
        database = with_database(url, "trigrams")
        await apply_migrations(database)
        yield database
    finally:
        server.stop()


async def test_on_new_listing__titles_alike_rank_first_where_pg_trgm_is(trigram_database, tmp_path):
    settings = Settings(domain="north.test", database_url=trigram_database, dev=True,
                        secret=TEST_SECRET, data_dir=tmp_path / "data", run_worker=False)  # fmt: skip
    pool = await create_pool(trigram_database, max_size=2)
    try:
        people = [
            await accounts.register(pool, settings, username=name, email=f"{name}@e.org",
                                    password="correct horse battery", by_admin=True)
            for name in ("alice", "bob")
        ]  # fmt: skip
        alice, bob = people
        # three offers whose words rank alike ("ladder" once, in the title), oldest first
        for title in ("Ladder", "Old ladder", "Ladders, two"):
            await listings.create_listing(
                pool, settings, alice, {**TOOLS, "purpose": "offer", "title": title}, [])  # fmt: skip

        asked = await listings.create_listing(
            pool, settings, bob,
            {**TOOLS, "purpose": "request", "title": "Aluminium ladder"}, [])  # fmt: skip

        # the titles most like the request's come first (by words alone they tie, and
        # the newest would)
        async with pool.acquire() as conn:
            assert await matching_q.has_trigrams(conn)
        found = await matching.matches_for(pool, asked.id)
        assert [match.title for match in found] == ["Ladder", "Old ladder", "Ladders, two"]
    finally:
        await pool.close()
