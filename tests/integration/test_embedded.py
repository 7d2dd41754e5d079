"""The embedded PostgreSQL: started with a command, stopped after it, data kept."""

from __future__ import annotations

import subprocess
import sys

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

    first = run_cli("user", "create", "alice", "--email", "alice@example.org",
                    "--data-dir", str(data), cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    assert (data / "postgres" / "PG_VERSION").exists()
    # a clean shutdown removes postmaster.pid; a crashed or still-running server leaves it
    assert not (data / "postgres" / "postmaster.pid").exists()

    second = run_cli("user", "create", "alice", "--email", "other@example.org",
                     "--data-dir", str(data), cwd=tmp_path)

    assert second.returncode == 1
    assert "This username is taken." in second.stderr
    assert not (data / "postgres" / "postmaster.pid").exists()
