"""The embedded PostgreSQL: started with a command, stopped after it, data kept."""

from __future__ import annotations

import asyncio
import subprocess
import sys

import asyncpg
import pytest

from commonsfed.db.embedded import EmbeddedError, EmbeddedPostgres, _find_bindir
from tests.builders import DEFAULT_PASSWORD
from tests.integration.test_migrations import cli_env


def run_cli(*args: str, cwd) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "commonsfed", *args],
        env=cli_env(COMMONSFED_PASSWORD=DEFAULT_PASSWORD), capture_output=True, text=True,
        timeout=120, cwd=cwd,
    )


def test_embedded_database__survives_restarts_and_stops_cleanly(tmp_path):
    data = tmp_path / "data"

    made = run_cli("migrate", "--data-dir", str(data), cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    assert (data / "postgres" / "PG_VERSION").exists()
    # a clean shutdown removes postmaster.pid; a crashed or still-running server leaves it
    assert not (data / "postgres" / "postmaster.pid").exists()

    first = run_cli("user", "create", "alice", "--email", "alice@example.org",
                    "--data-dir", str(data), cwd=tmp_path)
    assert first.returncode == 0, first.stderr

    second = run_cli("user", "create", "alice", "--email", "other@example.org",
                     "--data-dir", str(data), cwd=tmp_path)

    assert second.returncode == 1
    assert "This username is taken." in second.stderr
    assert not (data / "postgres" / "postmaster.pid").exists()


def test_embedded_database__falls_back_to_the_machines_postgresql(tmp_path, monkeypatch):
    try:
        _find_bindir()
    except EmbeddedError:
        pytest.skip("this machine has no PostgreSQL binaries (initdb, pg_ctl)")
    # as if pgserver were not installed
    monkeypatch.setitem(sys.modules, "pgserver", None)
    server = EmbeddedPostgres(tmp_path / "data")

    url = server.start()
    try:
        async def version() -> str:
            conn = await asyncpg.connect(url)
            try:
                return await conn.fetchval("SHOW server_version")
            finally:
                await conn.close()

        assert asyncio.run(version())
    finally:
        server.stop()

    assert (tmp_path / "data" / "postgres" / "PG_VERSION").exists()
    assert not (tmp_path / "data" / "postgres" / "postmaster.pid").exists()
