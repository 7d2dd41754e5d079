"""Debian's PgBouncer in transaction mode in front of the test run's PostgreSQL, started by
the test that asks for it (the `pgbouncer` fixture) and always stopped after it.

Its files (pgbouncer.ini, userlist.txt) are written in the test's tmp folder; it listens on
a loopback port and connects to the cluster as the cluster's own URL says (the embedded one:
the user postgres, trusted, on its Unix socket). Clients are trusted too, as the cluster
trusts them. Its pool is small (`SERVER_CONNECTIONS` a database), so the nodes' many client
connections take turns on a few server connections, as through a pooler in production: a
statement prepared on one server connection is not there on the next.

PgBouncer refuses to run as root, so under root it is started with `-u` as the user that
owns the cluster's socket (the one PostgreSQL runs as); it reads its ini as root, before it
switches, and logs to stderr (a log file in a root-only folder could not be opened).
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, replace
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

import pytest

from commonsfed.config import Settings
from commonsfed.db.pool import with_database
from tests.nodes import bound_socket

SERVER_CONNECTIONS = 3
_PROGRAM_PLACES = ("/usr/sbin/pgbouncer", "/usr/bin/pgbouncer")


@dataclass
class PgBouncer:
    port: int
    process: subprocess.Popen
    log: Path

    def url_for(self, database_url: str) -> str:
        """The URL of `database_url`'s database through PgBouncer."""
        name = unquote(urlsplit(database_url).path.lstrip("/"))
        return with_database(f"postgresql://postgres@127.0.0.1:{self.port}/", name)

    def route(self, settings: Settings) -> Settings:
        """`settings` with the pool going through PgBouncer and PostgreSQL itself as the
        direct URL (for LISTEN, migrations, backups)."""
        return replace(
            settings,
            database_url=self.url_for(settings.database_url),
            database_pooler=True,
            database_direct_url=settings.database_url,
        )


def find_program() -> str | None:
    found = shutil.which("pgbouncer")
    if found:
        return found
    return next((place for place in _PROGRAM_PLACES if os.access(place, os.X_OK)), None)


def _server(pg_server_url: str) -> tuple[str, int, str, str]:
    """(host or socket folder, port, user, password) of the cluster's URL."""
    parts = urlsplit(pg_server_url)
    query = parse_qs(parts.query)
    host = parts.hostname or (query.get("host") or ["/var/run/postgresql"])[0]
    port = parts.port or int((query.get("port") or ["5432"])[0])
    return host, port, unquote(parts.username or "postgres"), unquote(parts.password or "")


def write_config(folder: Path, pg_server_url: str, port: int) -> Path:
    host, server_port, user, password = _server(pg_server_url)
    login = f" password={password}" if password else ""
    (folder / "userlist.txt").write_text('"postgres" ""\n')
    ini = folder / "pgbouncer.ini"
    ini.write_text(
        "[databases]\n"
        f"* = host={host} port={server_port} user={user}{login}\n"
        "[pgbouncer]\n"
        f"listen_addr = 127.0.0.1\nlisten_port = {port}\nunix_socket_dir =\n"
        f"auth_type = trust\nauth_file = {folder / 'userlist.txt'}\n"
        "pool_mode = transaction\n"
        f"default_pool_size = {SERVER_CONNECTIONS}\nmax_client_conn = 500\n"
    )
    return ini


def _run_as(pg_server_url: str) -> list[str]:
    """`-u user` under root: the owner of the cluster's socket, else nobody."""
    if os.geteuid() != 0:
        return []
    host, port, _, _ = _server(pg_server_url)
    owner = "nobody"
    if host.startswith("/"):
        owner = pwd.getpwuid(Path(host, f".s.PGSQL.{port}").stat().st_uid).pw_name
    return ["-u", owner]


def _answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


def start(program: str, pg_server_url: str, folder: Path) -> PgBouncer:
    folder.mkdir(parents=True, exist_ok=True)
    with bound_socket() as sock:  # a free port, let go for PgBouncer to take
        port = sock.getsockname()[1]
    ini = write_config(folder, pg_server_url, port)
    log = folder / "pgbouncer.log"
    with log.open("w") as stderr:
        process = subprocess.Popen(
            [program, *_run_as(pg_server_url), str(ini)],
            stdin=subprocess.DEVNULL, stdout=stderr, stderr=stderr,
        )  # fmt: skip
    bouncer = PgBouncer(port, process, log)
    try:
        _wait_until_listening(bouncer)
    except BaseException:
        stop(bouncer)
        raise
    return bouncer


def _wait_until_listening(bouncer: PgBouncer, within: float = 10.0) -> None:
    deadline = time.monotonic() + within
    while not _answers(bouncer.port):
        if bouncer.process.poll() is not None:
            raise AssertionError(f"pgbouncer exited: {bouncer.log.read_text()[-2000:]}")
        if time.monotonic() > deadline:
            raise AssertionError(f"pgbouncer did not listen: {bouncer.log.read_text()[-2000:]}")
        time.sleep(0.05)


def stop(bouncer: PgBouncer) -> None:
    """SIGTERM (PgBouncer's immediate shutdown), SIGKILL if it lingers: only this process,
    the one the test started."""
    if bouncer.process.poll() is None:
        bouncer.process.send_signal(signal.SIGTERM)
        try:
            bouncer.process.wait(10)
        except subprocess.TimeoutExpired:
            bouncer.process.kill()
            bouncer.process.wait()


@pytest.fixture
def pgbouncer(pg_server_url, tmp_path):
    """PgBouncer in transaction mode before the run's PostgreSQL, for this test."""
    program = find_program()
    if program is None:
        pytest.skip("pgbouncer is not installed (Debian's pgbouncer package; .ci/run installs it)")
    bouncer = start(program, pg_server_url, tmp_path / "pgbouncer")
    try:
        yield bouncer
    finally:
        stop(bouncer)
