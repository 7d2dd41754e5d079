"""`commonsfed demo` as a real process: three nodes start on ports the test chooses, federate,
and each shows the other two's listings, of every kind and with their photos, on its public
timeline and on /explore; SIGINT stops everything, the embedded PostgreSQL included; a second
run starts the same network again without seeding it twice, and SIGTERM stops it. And one
line when a port is taken, or when the folder holds something else."""

from __future__ import annotations

import asyncio
import re
import signal
import socket
import subprocess
import sys
from pathlib import Path

import aiohttp

from commonsfed.models import KINDS, PURPOSES
from tests.integration.test_migrations import cli_env

NODES = 3
ADDRESS = re.compile(r"^\s+(\S.*?)\s+(http://localhost:(\d+))\s+admin: (\w+)")
# the first line of a listing's content: "Offer · lend:" (see ap.listings._label)
LABEL = re.compile(r"<p>(Offer|Request) · ([a-z ]+):<br>")
LABEL_KINDS = {"service or time": "service", "group purchase": "group_purchase",
               "pay it forward": "pay_it_forward", "shared shelf": "shared",
               "shared use": "shared", "neighbourhood project": "project"}  # fmt: skip


def free_ports_in_a_row(count: int) -> int:
    """The first of `count` consecutive loopback ports that are free now."""
    for _ in range(50):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            first = probe.getsockname()[1]
        if first + count > 65535:
            continue
        held = []
        try:
            for port in range(first, first + count):
                sock = socket.socket()
                held.append(sock)
                sock.bind(("127.0.0.1", port))
            return first
        except OSError:
            continue
        finally:
            for sock in held:
                sock.close()
    raise AssertionError("no free ports in a row")


async def start_demo(first_port: int, folder: Path, log: Path) -> asyncio.subprocess.Process:
    with log.open("a") as stderr:
        return await asyncio.create_subprocess_exec(
            sys.executable, "-m", "commonsfed", "demo", "--first-port", str(first_port),
            "--data-dir", str(folder), env=cli_env(), stdout=subprocess.PIPE, stderr=stderr,
            cwd=folder.parent,
        )  # fmt: skip


async def printed_addresses(demo: asyncio.subprocess.Process, within: float = 180) -> list[str]:
    """The nodes' addresses, once the demo has printed them (it prints them when seeded)."""
    found: list[str] = []
    async with asyncio.timeout(within):
        while len(found) < NODES:
            line = (await demo.stdout.readline()).decode()
            assert line, f"the demo ended before printing its addresses ({demo.returncode})"
            if match := ADDRESS.match(line):
                found.append(match.group(2))
    return found


async def public_timeline(session: aiohttp.ClientSession, address: str) -> list[dict]:
    async with session.get(f"{address}/api/v1/timelines/public?limit=40") as response:
        assert response.status == 200, await response.text()
        return await response.json()


def origin(status: dict, here: str) -> str:
    """The domain of a status's author: `acct` is user@domain for others, user for ours."""
    _, at, domain = status["account"]["acct"].partition("@")
    return domain if at else here


def kind_and_purpose(status: dict) -> tuple[str, str]:
    match = LABEL.search(status["content"])
    assert match, status["content"]
    return LABEL_KINDS.get(match.group(2), match.group(2)), match.group(1).lower()


def postgres_of(folder: Path) -> list[str]:
    """The command lines of running PostgreSQL processes that name the demo's folder."""
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            words = cmdline.read_bytes().split(b"\0")
        except OSError:  # ended meanwhile
            continue
        line = b" ".join(words).decode(errors="replace")
        if words[0].endswith(b"postgres") and str(folder) in line:
            found.append(line)
    return found


async def stop(demo: asyncio.subprocess.Process, signum: int, within: float = 30) -> int:
    demo.send_signal(signum)
    async with asyncio.timeout(within):
        return await demo.wait()


async def test_demo__three_nodes_federate_and_each_shows_the_others_listings(tmp_path):
    # Given the demo started on three free ports, in a folder of the test's own
    first, folder, log = free_ports_in_a_row(NODES), tmp_path / "demo", tmp_path / "demo.log"
    demo = await start_demo(first, folder, log)
    try:
        # When it has printed its addresses
        addresses = await printed_addresses(demo)
        domains = {address.removeprefix("http://") for address in addresses}
        assert domains == {f"localhost:{first + n}" for n in range(NODES)}

        # Then each node's public timeline holds listings of the two others as well as its
        # own, each with its photo, and the network has every kind, offered and asked for
        async with aiohttp.ClientSession() as session:
            for address in addresses:
                here = address.removeprefix("http://")
                statuses = await public_timeline(session, address)
                assert {origin(status, here) for status in statuses} == domains, address
                assert all(status["media_attachments"] for status in statuses)
                found = [kind_and_purpose(status) for status in statuses]
                assert {kind for kind, _ in found} == set(KINDS), address
                assert {purpose for _, purpose in found} == set(PURPOSES)
            timeline_size = len(statuses)
            # and /explore, everywhere, shows listings of the other two neighbourhoods
            async with session.get(f"{addresses[0]}/explore?where=everywhere") as response:
                page = await response.text()
            assert "Oats by the sack" in page and "Spare room for a visitor" in page
            # and the thanks: hana of Old Town thanked fern of Riverside for her jars, and
            # Riverside shows it on fern's profile; ben's drill was thanked on Elm Street
            async with session.get(f"{addresses[1]}/users/fern") as response:
                assert "twelve jars of quince jelly" in await response.text()
            async with session.get(f"{addresses[0]}/users/ben") as response:
                assert "the shelves are up" in await response.text()

        # And SIGINT stops the three nodes and the embedded PostgreSQL, with exit 0
        assert await stop(demo, signal.SIGINT) == 0, log.read_text()[-3000:]
        assert postgres_of(folder) == []

        # When it runs again in the same folder, it starts the same network, seeded once;
        # and SIGTERM stops it as SIGINT does
        demo = await start_demo(first, folder, log)
        assert await printed_addresses(demo) == addresses
        async with aiohttp.ClientSession() as session:
            assert len(await public_timeline(session, addresses[0])) == timeline_size
        assert await stop(demo, signal.SIGTERM) == 0, log.read_text()[-3000:]
    finally:
        if demo.returncode is None:
            demo.kill()
            await demo.wait()
    assert postgres_of(folder) == []
    assert "Traceback" not in log.read_text()


def test_demo__a_port_taken__one_line_and_exit_1(tmp_path):
    first = free_ports_in_a_row(NODES)
    with socket.socket() as taken:  # the second node's port
        taken.bind(("127.0.0.1", first + 1))
        taken.listen()

        result = subprocess.run(
            [sys.executable, "-m", "commonsfed", "demo", "--first-port", str(first),
             "--data-dir", str(tmp_path / "demo")],
            env=cli_env(), capture_output=True, text=True, timeout=60, cwd=tmp_path,
        )  # fmt: skip

    assert result.returncode == 1
    assert result.stderr == (
        f"commonsfed: error: cannot listen on 127.0.0.1:{first + 1}: another program uses the port\n"
    )
    assert not (tmp_path / "demo").exists()  # nothing started


def test_demo__a_folder_that_holds_something_else__is_refused_and_left_alone(tmp_path):
    folder = tmp_path / "notes"
    folder.mkdir()
    (folder / "shopping.txt").write_text("apples\n")

    result = subprocess.run(
        [sys.executable, "-m", "commonsfed", "demo", "--first-port",
         str(free_ports_in_a_row(NODES)), "--data-dir", str(folder), "--fresh"],
        env=cli_env(), capture_output=True, text=True, timeout=60, cwd=tmp_path,
    )  # fmt: skip

    assert result.returncode == 1
    assert result.stderr == (
        f"commonsfed: error: {folder} is not empty and holds no demo; give the demo a folder "
        "of its own (--data-dir)\n"
    )
    assert [path.name for path in folder.iterdir()] == ["shopping.txt"]
