"""Which database a command uses: DATABASE_URL, or the embedded one in the data folder."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager

from commonsfed.config import Settings
from commonsfed.db import migrate
from commonsfed.db.embedded import EmbeddedError, EmbeddedPostgres, ensure_database
from commonsfed.db.pool import connect
from commonsfed.resources import migrations_dir


class NoNodeHere(EmbeddedError):
    """The data folder holds no embedded database, and the command does not make nodes."""


@contextmanager
def database_url(
    settings: Settings, *, prepare: bool = True, create: bool = True, direct: bool = False
) -> Iterator[str]:
    """Yield the URL to use, with its schema up to date.

    An embedded server is started here, migrated (the node owns it) and stopped on the way
    out. An external database is only checked, since migrating a shared server is the admin's
    decision: `commonsfed migrate`. `prepare=False` skips both, for `migrate` itself.
    `create=False`: a data folder without a database is refused rather than given a new, empty
    one; a mistyped --data-dir must not look like a node that lost all its data.
    `direct`: PostgreSQL itself even where a pooler is in front (`Settings.direct_url`), for
    a command that needs a session of its own (migrations' advisory lock, pg_dump); the
    schema is checked there too, on a connection with asyncpg's statement cache.
    """
    if settings.database_url:
        if prepare:
            asyncio.run(check_schema(settings.direct_url))
        yield settings.direct_url if direct else settings.database_url
        return
    server = EmbeddedPostgres(settings.data_dir)
    if not create and not server.exists:
        folder = settings.data_dir.resolve()
        raise NoNodeHere(
            f"no node lives in {folder} (it holds no database); check --data-dir or "
            "COMMONSFED_DATA_DIR, or make a new node there with `commonsfed serve` or "
            "`commonsfed migrate`"
        )
    server_url = server.start()
    try:
        url = asyncio.run(ensure_database(server_url))
        if prepare:
            asyncio.run(apply_migrations(url))
        yield url
    finally:
        server.stop()


class SchemaBehind(Exception):
    """An external database lacks migrations; `serve` will not start on it."""


async def apply_migrations(url: str) -> list[migrate.Migration]:
    conn = await connect(url)
    try:
        return await migrate.apply_all(conn, migrations_dir())
    finally:
        await conn.close()


async def check_schema(url: str) -> None:
    conn = await connect(url)
    try:
        missing = await migrate.pending(conn, migrations_dir())
    finally:
        await conn.close()
    if missing:
        names = ", ".join(m.filename for m in missing)
        raise SchemaBehind(
            f"the database is behind by {len(missing)} migration(s) ({names}); "
            "run `commonsfed migrate` first"
        )
