"""PostgreSQL for the benchmarks: the server (TEST_DATABASE_URL's, else an embedded one in a
temporary folder) and a migrated database of the run's own, dropped afterwards."""

from __future__ import annotations

import os
import sys
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import asyncpg

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from commonsfed.db.embedded import EmbeddedPostgres, _MachinePostgres  # noqa: E402
from commonsfed.db.lifecycle import apply_migrations  # noqa: E402
from commonsfed.db.pool import with_database  # noqa: E402


@contextmanager
def postgres_server(prefix: str, machine: bool = False) -> Iterator[tuple[str, Path | None]]:
    """(server URL, the embedded server's data folder, or None for TEST_DATABASE_URL's).
    `machine`: the machine's own PostgreSQL binaries rather than pgserver's (which lack the
    contrib modules, pg_trgm among them)."""
    url = os.environ.get("TEST_DATABASE_URL")
    if url:
        yield url, None
        return
    with tempfile.TemporaryDirectory(prefix=prefix) as folder:
        if machine:
            server = _MachinePostgres((Path(folder) / "postgres").resolve())
            try:
                yield server.start(), server.pgdata
            finally:
                server.stop()
            return
        server = EmbeddedPostgres(Path(folder))
        try:
            yield server.start(), server.pgdata
        finally:
            server.stop()


async def make_database(server_url: str, name: str | None = None) -> tuple[str, str]:
    """A freshly migrated database: (its name, its URL)."""
    name = name or f"bench_{uuid.uuid4().hex[:12]}"
    conn = await asyncpg.connect(server_url)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    url = with_database(server_url, name)
    await apply_migrations(url)
    return name, url


async def drop_database(server_url: str, name: str) -> None:
    conn = await asyncpg.connect(server_url)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()
