"""An embedded PostgreSQL kept in the data folder, so that one command runs a node.

The `pgserver` package from PyPI carries PostgreSQL itself; where it is missing we use the
machine's own `initdb` and `pg_ctl`. Either way the server listens only on a Unix socket in
the data folder, starts with the node and stops with it, and its data survives restarts.
"""

from __future__ import annotations

import glob
import logging
import os
import pwd
import shutil
import stat
import subprocess
import warnings
from pathlib import Path

log = logging.getLogger(__name__)

DATABASE_NAME = "commonsfed"


class EmbeddedError(Exception):
    """The embedded PostgreSQL could not be started; the message says why."""


class EmbeddedPostgres:
    """Start with `start()` (returns the server URL), stop with `stop()`."""

    def __init__(self, data_dir: Path) -> None:
        self.pgdata = (Path(data_dir) / "postgres").resolve()
        self._server = None
        self._fallback: _MachinePostgres | None = None

    @property
    def exists(self) -> bool:
        """A cluster was made here before: both pgserver and the fallback test PG_VERSION."""
        return (self.pgdata / "PG_VERSION").exists()

    def start(self) -> str:
        self.pgdata.parent.mkdir(parents=True, exist_ok=True)
        try:
            with warnings.catch_warnings():
                # platformdirs warns when XDG_RUNTIME_DIR is unset, as on servers and in CI
                warnings.simplefilter("ignore")
                import pgserver
        except ImportError:
            log.info("pgserver is not installed; using the machine's initdb and pg_ctl")
            self._fallback = _MachinePostgres(self.pgdata)
            return self._fallback.start()
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                self._server = pgserver.get_server(self.pgdata, cleanup_mode="stop")
        except (subprocess.SubprocessError, OSError, AssertionError) as exc:
            raise EmbeddedError(
                f"the embedded PostgreSQL in {self.pgdata} did not start ({exc}); "
                f"see {self.pgdata / 'log'}"
            ) from None
        return self._server.get_uri()

    def stop(self) -> None:
        if self._server is not None:
            self._server.cleanup()
            self._server = None
        if self._fallback is not None:
            self._fallback.stop()
            self._fallback = None


class _MachinePostgres:
    """The machine's own PostgreSQL binaries, run as the current user (or `postgres` as root)."""

    def __init__(self, pgdata: Path) -> None:
        self.pgdata = pgdata
        self.bindir = _find_bindir()
        # PostgreSQL refuses to run as root; Debian's packages create a `postgres` user
        self.run_as = "postgres" if os.geteuid() == 0 else None

    def start(self) -> str:
        if not (self.pgdata / "PG_VERSION").exists():
            self.pgdata.mkdir(parents=True, exist_ok=True)
            self._chown()
            self._run("initdb", "-D", str(self.pgdata), "--auth=trust", "-U", "postgres",
                      "--encoding=UTF8")
        if not (self.pgdata / "postmaster.pid").exists():
            self._run("pg_ctl", "-D", str(self.pgdata), "-w", "-l", str(self.pgdata / "log"),
                      "-o", f"-h '' -k {self.pgdata}", "start")
        return f"postgresql://postgres@/postgres?host={self.pgdata}"

    def stop(self) -> None:
        self._run("pg_ctl", "-D", str(self.pgdata), "-w", "-m", "fast", "stop")

    def _chown(self) -> None:
        if self.run_as:
            user = pwd.getpwnam(self.run_as)
            os.chown(self.pgdata, user.pw_uid, user.pw_gid)
            # the server runs as `postgres` and must reach its folder: let it pass through
            # (execute only, not list) the folders above, as pgserver does
            for parent in self.pgdata.parents:
                mode = parent.stat().st_mode
                if not mode & stat.S_IXOTH:
                    parent.chmod(mode | stat.S_IXOTH)

    def _run(self, program: str, *args: str) -> None:
        command = [str(self.bindir / program), *args]
        if self.run_as:
            command = ["runuser", "-u", self.run_as, "--", *command]
        result = subprocess.run(command, capture_output=True, text=True, timeout=60)
        if result.returncode != 0:
            detail = (result.stderr or result.stdout).strip().splitlines()[-1:]
            raise EmbeddedError(f"{program} failed: {' '.join(detail) or result.returncode}")


def _find_bindir() -> Path:
    found = shutil.which("pg_ctl")
    if found:
        return Path(found).parent
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), reverse=True)
    if candidates:
        return Path(candidates[0]).parent
    raise EmbeddedError(
        "no PostgreSQL found: install the pgserver package, or PostgreSQL, "
        "or set DATABASE_URL to a PostgreSQL 13+ server"
    )


async def ensure_database(server_url: str, name: str = DATABASE_NAME) -> str:
    """Create the node's database on the embedded server once; return its URL."""
    from commonsfed.db.pool import connect, with_database

    conn = await connect(server_url)
    try:
        exists = await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
        if not exists:
            await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return with_database(server_url, name)
