"""`commonsfed serve` as a real process: slow senders on a node limited to 1,024 open files,
the header deadline and access log settings, and one-line errors for where it cannot
listen."""

from __future__ import annotations

import asyncio
import resource
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.integration.test_migrations import cli_env
from tests.integration.test_stopping import answered, seconds_to_stop, until_healthy
from tests.nodes import free_port

SLOW_SENDERS = 1100
OPEN_FILES = 1024


def limit_open_files() -> None:
    """In the child, before it runs: the limit of a stock Debian service (1,024)."""
    resource.setrlimit(resource.RLIMIT_NOFILE, (OPEN_FILES, OPEN_FILES))


def start_serve(port: int, database_url: str, log: Path, *flags: str, **env: str):
    with log.open("w") as stderr:
        return subprocess.Popen(
            [sys.executable, "-m", "commonsfed", "serve", "--dev", "--port", str(port), *flags],
            env=cli_env(DATABASE_URL=database_url, **env), stdout=subprocess.DEVNULL,
            stderr=stderr, cwd=log.parent, preexec_fn=limit_open_files,
        )  # fmt: skip


@pytest.fixture
def open_files_for_the_test():
    """Room in this process for the slow senders' sockets (the node's limit is its own)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = SLOW_SENDERS + 500
    if hard != resource.RLIM_INFINITY and hard < wanted:
        pytest.skip(f"this machine allows {hard} open files a process; the test needs {wanted}")
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, wanted), hard))
    yield
    resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


async def slow_sender(port: int) -> asyncio.StreamReader:
    """A client that sends the start of a request and then nothing (held, not closed)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"GET / HTTP/1.1\r\nHost: localhost\r\n")
    slow_sender.writers.append(writer)
    return reader


slow_sender.writers = []


async def test_serve__1100_slow_senders_on_1024_open_files__healthz_still_answers(
    database_url, tmp_path, open_files_for_the_test
):
    # Given a node limited to 1,024 open files, with its default settings
    port, log = free_port(), tmp_path / "serve.log"
    node = start_serve(port, database_url, log)
    senders = []
    try:
        await until_healthy(port, node)

        # When 1,100 clients open connections and send their headers slowly (here: never)
        senders = [await slow_sender(port) for _ in range(SLOW_SENDERS)]

        # Then /healthz still answers, in time for a load balancer; the node made room by
        # closing the oldest slow connections, and never ran out of files
        async with asyncio.timeout(10):
            assert await answered(f"http://127.0.0.1:{port}/healthz?token=s3cret") == 200
        assert node.poll() is None
        closed = sum(reader.at_eof() for reader in senders)
        took = await seconds_to_stop(node)
    finally:
        for writer in slow_sender.writers:
            writer.close()
        slow_sender.writers.clear()
        if node.poll() is None:
            node.kill()

    text = log.read_text()
    assert closed >= SLOW_SENDERS - (OPEN_FILES - 300), text[-2000:]
    assert "out of system resource" not in text and "Too many open files" not in text
    # and it kept an access log, without the query string
    assert "INFO commonsfed.access: GET /healthz 200 " in text and "s3cret" not in text
    assert node.returncode == 0 and took < 10


async def test_serve__header_deadline_and_access_log_flags(database_url, tmp_path):
    # Given a node with a 0.5 s header deadline and no access log (flags)
    port, log = free_port(), tmp_path / "serve.log"
    node = start_serve(port, database_url, log, "--header-timeout", "0.5", "--no-access-log")
    try:
        await until_healthy(port, node)

        # When a client connects and sends nothing
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        answer = await asyncio.wait_for(reader.read(), 5)
        writer.close()
        await seconds_to_stop(node)
    finally:
        if node.poll() is None:
            node.kill()

    # Then it was told 408 and closed, and requests left no access log lines
    assert answer.startswith(b"HTTP/1.1 408")
    assert "commonsfed.access" not in log.read_text()


# --- where it cannot listen --------------------------------------------------------------


def run_serve(*flags: str, cwd: Path) -> subprocess.CompletedProcess:
    # no database is given: a listening error must come before the embedded one starts
    return subprocess.run(
        [sys.executable, "-m", "commonsfed", "serve", "--dev", *flags], env=cli_env(),
        capture_output=True, text=True, timeout=60, cwd=cwd,
    )  # fmt: skip


def test_serve__port_in_use__one_line_and_exit_1(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]

        result = run_serve("--port", str(port), cwd=tmp_path)

    assert result.returncode == 1
    assert result.stderr == f"commonsfed: error: cannot listen on 127.0.0.1:{port}: another program uses the port\n"
    assert not (tmp_path / "data").exists()  # nothing started


@pytest.mark.parametrize(
    ("host", "says"),
    [("192.0.2.7", "192.0.2.7 is not an address of this machine"),  # TEST-NET-1
     ("no-such-host.invalid", "cannot listen on no-such-host.invalid: ")],
)
def test_serve__host_it_cannot_have__one_line_naming_the_setting_and_exit_2(tmp_path, host, says):
    result = run_serve("--host", host, "--port", str(free_port()), cwd=tmp_path)

    assert result.returncode == 2
    assert result.stderr.startswith(f"commonsfed: error: --host: {says}"), result.stderr
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr


def test_serve__host_from_the_environment__is_named_as_such(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "commonsfed", "serve", "--dev", "--port", str(free_port())],
        env=cli_env(COMMONSFED_HOST="192.0.2.7"), capture_output=True, text=True, timeout=60,
        cwd=tmp_path,
    )  # fmt: skip

    assert result.returncode == 2
    assert result.stderr.startswith("commonsfed: error: COMMONSFED_HOST: 192.0.2.7 is not")
