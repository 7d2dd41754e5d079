"""Plain SQL migrations: migrations/NNNN_name.sql, applied in order, each once.

Several processes may start together (a `serve` and two `worker`s, say); a PostgreSQL
advisory lock makes them take turns, and the one that comes second finds nothing to do.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import asyncpg

# any constant will do, as long as nothing else in the database uses it
_LOCK_ID = 0x636F6D6D6F6E73  # "commons"
_NAME_RE = re.compile(r"^(?P<version>\d{4})_(?P<name>[a-z0-9_]+)\.sql$")


class MigrationError(Exception):
    """A migration failed and was rolled back whole; the message names its file."""


@dataclass(frozen=True)
class Migration:
    version: str
    name: str
    path: Path

    @property
    def filename(self) -> str:
        return self.path.name


def discover(folder: Path) -> list[Migration]:
    migrations = []
    for path in sorted(folder.glob("*.sql")):
        match = _NAME_RE.match(path.name)
        if not match:
            raise MigrationError(f"{path.name}: migration files are named NNNN_name.sql")
        migrations.append(Migration(match["version"], match["name"], path))
    versions = [m.version for m in migrations]
    if len(set(versions)) != len(versions):
        raise MigrationError(f"two migrations in {folder} share a number")
    return migrations


_CREATE_TABLE = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    version text PRIMARY KEY,
    name text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
)"""


async def applied_versions(conn: asyncpg.Connection) -> set[str]:
    exists = await conn.fetchval("SELECT to_regclass('schema_migrations') IS NOT NULL")
    if not exists:
        return set()
    return {row["version"] for row in await conn.fetch("SELECT version FROM schema_migrations")}


async def pending(conn: asyncpg.Connection, folder: Path) -> list[Migration]:
    done = await applied_versions(conn)
    return [m for m in discover(folder) if m.version not in done]


async def apply_all(conn: asyncpg.Connection, folder: Path) -> list[Migration]:
    """Apply what is pending, under the advisory lock; returns what this call applied."""
    migrations = discover(folder)
    await conn.execute("SELECT pg_advisory_lock($1)", _LOCK_ID)
    try:
        await conn.execute(_CREATE_TABLE)
        done = await applied_versions(conn)
        applied = []
        for migration in migrations:
            if migration.version not in done:
                await _apply_one(conn, migration)
                applied.append(migration)
        return applied
    finally:
        await conn.execute("SELECT pg_advisory_unlock($1)", _LOCK_ID)


async def _apply_one(conn: asyncpg.Connection, migration: Migration) -> None:
    sql = migration.path.read_text(encoding="utf-8")
    try:
        async with conn.transaction():
            await conn.execute(sql)
            await conn.execute(
                "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)",
                migration.version,
                migration.name,
            )
    except asyncpg.PostgresError as exc:
        raise MigrationError(
            f"{migration.filename} failed and was rolled back: {exc}"
        ) from exc
