"""Test harness: one real PostgreSQL for the run, a fresh database per test.

The cluster is the embedded one (pgserver) unless TEST_DATABASE_URL names a server. A template
database is migrated once; each test gets `CREATE DATABASE ... TEMPLATE`, which takes a few
milliseconds, so every test starts from the real schema and nothing leaks between tests.

Under pytest-xdist (`make test` runs `-n auto`) every worker is a process with a session of its
own: its own embedded cluster (data and Unix socket under the worker's basetemp, `popen-gwN/`),
its own template named by its pid, and test databases named at random; with TEST_DATABASE_URL
the workers share that server but nothing in it.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from dataclasses import replace
from functools import cache
from pathlib import Path

import pytest
from argon2.profiles import CHEAPEST

from commonsfed.app import create_app
from commonsfed.config import Settings
from commonsfed.db.embedded import EmbeddedPostgres
from commonsfed.db.lifecycle import apply_migrations
from commonsfed.db.pool import with_database
from commonsfed.services import accounts
from tests.builders import (
    LOOPBACK_TILES,
    TEST_SECRET,
    register_and_login,
    run_sync,
    server_execute,
    server_fetchval,
)
from tests.nodes import start_nodes  # noqa: F401  (a fixture for every test: real nodes)
from tests.pgbouncer import pgbouncer  # noqa: F401  (a fixture: PgBouncer before the cluster)

# argon2id at its cheapest: the suite makes thousands of residents (the nodes that tests
# start as processes hash with the defaults)
accounts.use_password_parameters(CHEAPEST)

SHARED_MEMORY = Path("/dev/shm")


@pytest.fixture(scope="session")
def pg_server_url(tmp_path_factory) -> str:
    url = os.environ.get("TEST_DATABASE_URL")
    if url:
        yield url
        return
    folder = _cluster_folder(tmp_path_factory)
    server = EmbeddedPostgres(folder)
    url = server.start()
    # a cluster thrown away after the run needs no durability: without waiting on the disk
    # at each commit and each dropped database, the suite runs in far less time (PostgreSQL's
    # docs name these settings for this case: "Non-Durable Settings")
    run_sync(server_execute(url, "ALTER SYSTEM SET fsync = off",
                            "ALTER SYSTEM SET synchronous_commit = off",
                            "ALTER SYSTEM SET full_page_writes = off",
                            # the suite makes and drops thousands of short-lived databases,
                            # which autovacuum's launcher would otherwise keep visiting; a
                            # test that needs statistics runs ANALYZE itself
                            "ALTER SYSTEM SET autovacuum = off",
                            "SELECT pg_reload_conf()"))  # fmt: skip
    yield url
    server.stop()
    if folder.parent == SHARED_MEMORY:
        shutil.rmtree(folder, ignore_errors=True)


def _cluster_folder(tmp_path_factory) -> Path:
    """Where the run's cluster lives: in memory (/dev/shm, a tmpfs) where there is one. Each
    test copies the template into a database of its own and drops it after, hundreds of
    files made and deleted per test; on ext4 finding a free inode among that many recently
    deleted ones took more of the run's time than the tests themselves (the kernel's
    find_inode_bit and recently_deleted, measured with perf). A tmpfs does it at once."""
    if SHARED_MEMORY.is_dir() and os.access(SHARED_MEMORY, os.W_OK):
        folder = Path(tempfile.mkdtemp(prefix="commonsfed-test-", dir=SHARED_MEMORY))
        os.chmod(folder, 0o755)  # pgserver runs PostgreSQL as its own user under root
        return folder
    return tmp_path_factory.mktemp("cluster")


@pytest.fixture(scope="session")
def template_database(pg_server_url) -> str:
    name = f"commonsfed_template_{os.getpid()}"
    run_sync(server_execute(pg_server_url, f'DROP DATABASE IF EXISTS "{name}"',
                            f'CREATE DATABASE "{name}"'))
    run_sync(apply_migrations(with_database(pg_server_url, name)))
    yield name
    run_sync(server_execute(pg_server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def _fresh_database(server_url: str, template: str | None) -> tuple[str, str]:
    """A new database, copied from `template`. PostgreSQL 15 and later copy a template
    through the WAL by default, block by block (about 200 ms for ours); FILE_COPY copies its
    files and costs two checkpoints, which a cluster without fsync makes at once (about
    30 ms). The suite makes a database for nearly every test, so this is minutes."""
    name = f"t_{uuid.uuid4().hex[:16]}"
    clause = f' TEMPLATE "{template}"{_copy_strategy(server_url)}' if template else ""
    run_sync(server_execute(server_url, f'CREATE DATABASE "{name}"{clause}'))
    return name, with_database(server_url, name)


@cache
def _copy_strategy(server_url: str) -> str:
    """" STRATEGY FILE_COPY" where the server has strategies (15 and later: a
    TEST_DATABASE_URL may name an older one, which copies files anyway)."""
    version = run_sync(server_fetchval(server_url, "SHOW server_version_num"))
    return " STRATEGY FILE_COPY" if int(version) >= 150000 else ""


@pytest.fixture
def database_url(pg_server_url, template_database) -> str:
    """A migrated database of this test's own."""
    name, url = _fresh_database(pg_server_url, template_database)
    yield url
    run_sync(server_execute(pg_server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
def empty_database_url(pg_server_url) -> str:
    """A database with no schema at all, for migration tests."""
    name, url = _fresh_database(pg_server_url, None)
    yield url
    run_sync(server_execute(pg_server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
def make_database(pg_server_url, template_database):
    """A factory of migrated databases, for tests that run several nodes."""
    names = []

    def make() -> str:
        name, url = _fresh_database(pg_server_url, template_database)
        names.append(name)
        return url

    yield make
    for name in names:
        run_sync(server_execute(pg_server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
def settings(database_url, tmp_path: Path) -> Settings:
    return Settings(
        domain="localhost",
        database_url=database_url,
        data_dir=tmp_path / "data",
        secret=TEST_SECRET,
        dev=True,
        run_worker=False,  # tests step the workers themselves
        instance_name="Elm Street Commons",
        instance_description="Neighbours on Elm Street sharing tools, food and time.",
        map_tiles=LOOPBACK_TILES,  # no test asks the Internet for map tiles
    )


@pytest.fixture
def make_client(aiohttp_client, settings):
    """A client on an app built from the test's settings with some of them changed."""

    async def make(**changes):
        return await aiohttp_client(create_app(replace(settings, **changes)))

    return make


@pytest.fixture
async def client(make_client):
    return await make_client()


@pytest.fixture
async def resident(client):
    """A client logged in as the resident `alice`."""
    await register_and_login(client, "alice")
    return client
