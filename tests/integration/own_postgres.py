"""A PostgreSQL cluster that tests may stop and restart (the shared one serves every other
test, so it must stay up): for a database that goes away under a node.

The tests that use it are grouped on one pytest-xdist worker (`pytestmark` below, in their
modules), so the cluster is made and migrated once for all of them; each test still gets a
database of its own, cloned from a migrated template, and finds the cluster running.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from commonsfed.db.embedded import EmbeddedPostgres
from commonsfed.db.lifecycle import apply_migrations
from commonsfed.db.pool import with_database
from tests.builders import run_sync, server_execute

GROUP = pytest.mark.xdist_group("own_postgres")
_TEMPLATE = "own_template"


class OwnPostgres:
    def __init__(self, folder: Path) -> None:
        self._server = EmbeddedPostgres(folder)
        self.url = ""
        self.running = False

    def start(self) -> None:
        if not self.running:
            self.url = self._server.start()
            self.running = True

    def stop(self) -> None:
        if self.running:
            self._server.stop()
            self.running = False

    def restart(self) -> None:
        self.stop()
        self.start()

    def new_database(self) -> str:
        name = f"t_{uuid.uuid4().hex[:16]}"
        run_sync(server_execute(self.url, f'CREATE DATABASE "{name}" TEMPLATE "{_TEMPLATE}"'))
        return with_database(self.url, name)


@pytest.fixture(scope="session")
def own_cluster(tmp_path_factory) -> OwnPostgres:
    cluster = OwnPostgres(tmp_path_factory.mktemp("own-postgres"))
    cluster.start()
    run_sync(server_execute(cluster.url, f'CREATE DATABASE "{_TEMPLATE}"'))
    run_sync(apply_migrations(with_database(cluster.url, _TEMPLATE)))
    yield cluster
    cluster.stop()


@pytest.fixture
def own_postgres(own_cluster) -> OwnPostgres:
    """The cluster, running (whatever the test before left it as)."""
    own_cluster.start()
    return own_cluster
