"""Migrations: order, transactions, the advisory lock, and what `serve` does when behind."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from commonsfed.db import migrate
from commonsfed.db.pool import connect
from commonsfed.resources import migrations_dir


def cli_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("COMMONSFED_")}
    env.pop("DATABASE_URL", None)
    return {**env, **extra}


async def table_names(url: str) -> set[str]:
    conn = await connect(url)
    try:
        rows = await conn.fetch(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
        )
        return {row["tablename"] for row in rows}
    finally:
        await conn.close()


async def test_apply_all__applies_every_file_once(empty_database_url):
    conn = await connect(empty_database_url)
    try:
        first = await migrate.apply_all(conn, migrations_dir())
        second = await migrate.apply_all(conn, migrations_dir())
        recorded = await conn.fetchval("SELECT count(*) FROM schema_migrations")
    finally:
        await conn.close()

    assert [m.filename for m in first] == sorted(p.name for p in migrations_dir().glob("*.sql"))
    assert second == []
    assert recorded == len(first)


async def test_schema__has_the_expected_tables(database_url):
    tables = await table_names(database_url)

    assert {"schema_migrations", "accounts", "login_failures"} <= tables


async def test_failing_migration__rolls_back_whole_and_names_the_file(empty_database_url, tmp_path):
    (tmp_path / "0001_good.sql").write_text("CREATE TABLE good (id int);")
    (tmp_path / "0002_bad.sql").write_text("CREATE TABLE half (id int);\nSELECT * FROM nowhere;")
    conn = await connect(empty_database_url)
    try:
        with pytest.raises(migrate.MigrationError, match="0002_bad.sql"):
            await migrate.apply_all(conn, tmp_path)
        versions = await migrate.applied_versions(conn)
    finally:
        await conn.close()

    assert versions == {"0001"}
    tables = await table_names(empty_database_url)
    assert "good" in tables and "half" not in tables


def test_migration_files__must_be_named_by_number(tmp_path):
    (tmp_path / "accounts.sql").write_text("SELECT 1;")

    with pytest.raises(migrate.MigrationError, match="NNNN_name.sql"):
        migrate.discover(tmp_path)


def test_three_migrate_processes_at_once__apply_each_migration_once(empty_database_url, tmp_path):
    env = cli_env(DATABASE_URL=empty_database_url)
    processes = [
        subprocess.Popen([sys.executable, "-m", "commonsfed", "migrate"], env=env,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path)
        for _ in range(3)
    ]
    outputs = [process.communicate(timeout=60) for process in processes]

    assert [process.returncode for process in processes] == [0, 0, 0], outputs
    applied_lines = [line for out, _ in outputs for line in out.splitlines()
                     if line.startswith("applied ")]
    files = sorted(p.name for p in migrations_dir().glob("*.sql"))
    assert sorted(line.split()[1] for line in applied_lines) == files
    counts = run_count(empty_database_url)
    assert counts == (len(files), len(files))


def run_count(url: str) -> tuple[int, int]:
    from tests.builders import run_sync

    async def count():
        conn = await connect(url)
        try:
            row = await conn.fetchrow(
                "SELECT count(*) AS total, count(DISTINCT version) AS distinct_ FROM schema_migrations"
            )
            return row["total"], row["distinct_"]
        finally:
            await conn.close()

    return run_sync(count())


def test_serve__refuses_an_external_database_that_is_behind(empty_database_url, tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "commonsfed", "serve", "--dev", "--port", "18099"],
        env=cli_env(DATABASE_URL=empty_database_url), capture_output=True, text=True,
        timeout=60, cwd=tmp_path,
    )

    assert result.returncode == 1
    assert "run `commonsfed migrate`" in result.stderr
    assert "0001_accounts.sql" in result.stderr
    assert "Traceback" not in result.stderr


async def test_0011__cached_actors_keep_only_addresses_on_their_own_host(
    empty_database_url, tmp_path
):
    # Given a database at 0010 that cached three actors: one whole, one whose shared inbox
    # and followers are elsewhere, one whose key is elsewhere
    for path in migrations_dir().glob("*.sql"):
        if path.name < "0011":
            (tmp_path / path.name).write_text(path.read_text())
    conn = await connect(empty_database_url)
    try:
        await migrate.apply_all(conn, tmp_path)
        rows = [
            ("https://a.example/users/a", "https://a.example/inbox", "https://a.example/f",
             "https://a.example/users/a#k"),
            ("https://b.example/users/b", "https://victim.example/inbox",
             "https://victim.example/f", "https://b.example/users/b#k"),
            ("https://c.example/users/c", "https://c.example/inbox", "https://c.example/f",
             "https://victim.example/users/v#k"),
        ]  # fmt: skip
        for uri, shared, followers, key_id in rows:
            await conn.execute(
                "INSERT INTO remote_actors (uri, domain, type, inbox, shared_inbox, followers,"
                " key_id, public_key_pem, document) VALUES ($1, split_part($1, '/', 3), 'Person',"
                " $1 || '/inbox', $2, $3, $4, 'pem', '{}')", uri, shared, followers, key_id)  # fmt: skip

        # When 0011 is applied
        await migrate.apply_all(conn, migrations_dir())
        kept = await conn.fetch("SELECT uri, shared_inbox, followers FROM remote_actors ORDER BY uri")
    finally:
        await conn.close()

    # Then what pointed elsewhere is gone
    assert [tuple(row) for row in kept] == [
        ("https://a.example/users/a", "https://a.example/inbox", "https://a.example/f"),
        ("https://b.example/users/b", None, None),
    ]
