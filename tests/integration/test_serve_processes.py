"""`commonsfed serve --processes N` as a real process: its children share the port, a
SIGTERM stops them all, a child that dies stops the node with status 1, and bad counts are
one line."""

from __future__ import annotations

import os
import re
import signal
from pathlib import Path

import aiohttp
import pytest

from commonsfed.cli import main
from tests.integration.test_serve_command import start_serve
from tests.integration.test_stopping import seconds_to_stop, until_healthy
from tests.nodes import free_port
from tests.waiting import until

ACCESS_RE = re.compile(r" INFO (serve-\d+) commonsfed\.access: GET /healthz 200 ")


def serve_children(parent: int) -> list[int]:
    """The pids of the serve processes `parent` started (not multiprocessing's resource
    tracker, which it starts too)."""
    children = Path(f"/proc/{parent}/task/{parent}/children").read_text().split()
    return [int(pid) for pid in children if b"spawn_main" in _cmdline(int(pid))]


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except FileNotFoundError:
        return b""


def running(pid: int) -> bool:
    """Alive and not a zombie waiting for its parent."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def served_by(log: Path) -> set[str]:
    return set(ACCESS_RE.findall(log.read_text()))


async def answering_processes(port: int, log: Path, tries: int = 200) -> set[str]:
    """Ask /healthz on new connections until two processes have answered (or `tries`
    times); the names of those that answered, from the access log."""
    for _ in range(tries):
        connector = aiohttp.TCPConnector(force_close=True)  # a new connection each time
        async with aiohttp.ClientSession(connector=connector) as session:
            async with session.get(f"http://127.0.0.1:{port}/healthz") as response:
                assert response.status == 200
        names = served_by(log)
        if len(names) >= 2:
            return names
    return names


@pytest.fixture
async def two_processes(database_url, tmp_path):
    port, log = free_port(), tmp_path / "serve.log"
    node = start_serve(port, database_url, log, "--processes", "2")
    try:
        await until_healthy(port, node)
        await until(lambda: len(serve_children(node.pid)) == 2)
        yield node, port, log
    finally:
        if node.poll() is None:  # a test that failed half-way: end what it started
            leftovers = serve_children(node.pid)
            node.kill()
            node.wait()
            for pid in leftovers:
                if running(pid):
                    os.kill(pid, signal.SIGKILL)


async def test_serve_processes__both_answer_on_the_port_and_sigterm_stops_them_all(two_processes):
    node, port, log = two_processes
    children = serve_children(node.pid)

    # Given two serve processes on one port: new connections reach both
    assert await answering_processes(port, log) == {"serve-1", "serve-2"}

    # When the service manager sends SIGTERM to the parent
    took = await seconds_to_stop(node)

    # Then it and both children are gone within 10 s, cleanly
    text = log.read_text()
    assert took < 10 and node.returncode == 0, text[-3000:]
    assert not any(running(pid) for pid in children), text[-3000:]
    assert text.count("commonsfed.serving: stopping") == 2


async def test_serve_processes__sigterm_to_every_process_at_once__stops_cleanly(two_processes):
    # Given two serve processes under a service manager that signals every process of the
    # service (systemd's default KillMode=control-group)
    node, port, log = two_processes
    children = serve_children(node.pid)

    # When SIGTERM reaches the children and the parent together
    for pid in children:
        os.kill(pid, signal.SIGTERM)
    took = await seconds_to_stop(node)

    # Then each child takes it and its parent's request as one: all stop cleanly, in time
    text = log.read_text()
    assert took < 10 and node.returncode == 0, text[-3000:]
    assert not any(running(pid) for pid in children)
    assert "abandoning" not in text and "Traceback" not in text


async def test_serve_processes__a_child_that_dies__is_one_line_and_the_node_exits_1(two_processes):
    node, port, log = two_processes
    first, second = serve_children(node.pid)

    # When one child dies (killed)
    os.kill(first, signal.SIGKILL)

    # Then the parent says so in one line, stops the other and exits with status 1
    await until(lambda: node.poll() is not None, 15)
    text = log.read_text()
    assert node.returncode == 1, text[-3000:]
    lines = [line for line in text.splitlines() if f"(pid {first})" in line]
    assert len(lines) == 1 and lines[0].endswith("was killed by SIGKILL; stopping the others")
    assert not running(second)
    assert "Traceback" not in text


@pytest.mark.parametrize("value", ["0", "-2", "two", "65"])
def test_serve__bad_process_counts__one_line_and_exit_2(value, tmp_path, capsys):
    status = main(["serve", "--dev", "--processes", value, "--data-dir", str(tmp_path / "data")])

    err = capsys.readouterr().err
    assert status == 2
    assert err == (
        f"commonsfed: error: --processes: must be a whole number from 1 to 64 (got {value!r})\n"
    )
    assert not (tmp_path / "data").exists()  # nothing started


def test_serve__bad_process_count_from_the_environment__names_it(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("COMMONSFED_PROCESSES", "0")

    status = main(["serve", "--dev", "--data-dir", str(tmp_path / "data")])

    assert status == 2
    assert capsys.readouterr().err.startswith("commonsfed: error: COMMONSFED_PROCESSES: must be")
