"""A node scaled out on one PostgreSQL: `serve --processes 2` (each process with its own
workers) and a `commonsfed worker` beside it, all real processes. Follows from another
server reach both serve processes; each is handled once and answered with one Accept,
sent once, whichever process claimed it."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections import Counter
from pathlib import Path

import aiohttp
import orjson

from commonsfed import signatures
from commonsfed.config import Settings
from commonsfed.db.pool import connect, create_pool
from commonsfed.services.accounts import register
from tests.builders import DEFAULT_PASSWORD
from tests.integration.test_migrations import cli_env
from tests.integration.test_serve_processes import serve_children
from tests.integration.test_stopping import seconds_to_stop, until_healthy
from tests.nodes import free_port
from tests.standin import AS2, stand_in  # noqa: F401  (a fixture)
from tests.waiting import until

FOLLOWERS = 40
NODE = "north.test"
INBOX_RE_PATH = "/users/alice/inbox"


def start(command: str, *flags: str, database_url: str, folder: Path) -> subprocess.Popen:
    log = folder / f"{command}.log"
    with log.open("w") as stderr:
        return subprocess.Popen(
            [sys.executable, "-m", "commonsfed", command, "--dev", "--domain", NODE, *flags],
            env=cli_env(DATABASE_URL=database_url), stdout=subprocess.DEVNULL, stderr=stderr,
            cwd=folder,
        )  # fmt: skip


async def follow(port: int, actor: str, key) -> int:
    """POST a signed Follow of alice by `actor` on a new connection; the status."""
    activity = {"@context": "https://www.w3.org/ns/activitystreams", "id": f"{actor}#follow",
                "type": "Follow", "actor": actor, "object": f"http://{NODE}/users/alice"}  # fmt: skip
    body = orjson.dumps(activity)
    headers = {"Host": NODE, "Content-Type": AS2}
    headers |= signatures.sign_cavage(
        "POST", f"http://{NODE}{INBOX_RE_PATH}", headers, body, f"{actor}#main-key", key
    )
    connector = aiohttp.TCPConnector(force_close=True)  # SO_REUSEPORT picks per connection
    async with aiohttp.ClientSession(connector=connector) as session:
        url = f"http://127.0.0.1:{port}{INBOX_RE_PATH}"
        async with session.post(url, data=body, headers=headers) as response:
            return response.status


async def queues_empty(url: str) -> bool:
    conn = await connect(url)
    try:
        return not await conn.fetchval(
            "SELECT (SELECT count(*) FROM inbox_items WHERE state <> 'done')"
            " + (SELECT count(*) FROM deliveries WHERE state <> 'done')"
        )
    finally:
        await conn.close()


async def test_scale_out__two_serve_processes_and_a_worker__handle_each_follow_once(
    database_url,
    tmp_path,
    stand_in,  # noqa: F811
):
    # Given alice on north.test, a node run as two serve processes and a worker process
    settings = Settings(domain=NODE, dev=True, database_url=database_url)
    pool = await create_pool(database_url)
    try:
        await register(pool, settings, username="alice", email="alice@example.org",
                       password=DEFAULT_PASSWORD, by_admin=True)  # fmt: skip
    finally:
        await pool.close()
    resolve = ",".join(
        f"{name}={target}" for name, target in stand_in.resolve("remote.test").items()
    )
    port = free_port()
    serve = start("serve", "--port", str(port), "--processes", "2", "--resolve", resolve,
                  database_url=database_url, folder=tmp_path)  # fmt: skip
    worker = None
    try:
        await until_healthy(port, serve)
        await until(lambda: len(serve_children(serve.pid)) == 2)
        worker = start("worker", "--resolve", resolve, database_url=database_url, folder=tmp_path)
        await until(lambda: "worker running for" in read(tmp_path / "worker.log"), 30)
        # and 40 people on another server
        key = signatures.generate_private_key()
        actors = [f"http://remote.test/users/u{n}" for n in range(FOLLOWERS)]
        for actor in actors:
            stand_in.actor(actor, key)

        # When each of them follows alice, each on a connection of its own
        statuses = await asyncio.gather(*(follow(port, actor, key) for actor in actors))

        # Then every Follow was taken (by both serve processes) and, once the queues are
        # empty, each was answered by exactly one Accept, sent once
        assert statuses == [202] * FOLLOWERS
        await until(lambda: queues_empty(database_url), 60)
        accepted = Counter(
            body["object"]["id"] if isinstance(body["object"], dict) else body["object"]
            for _inbox, body in stand_in.received
            if body["type"] == "Accept"
        )
        assert accepted == Counter({f"{actor}#follow": 1 for actor in actors})
        assert {name for name in served_by_posts(tmp_path / "serve.log")} == {"serve-1", "serve-2"}
        assert worker.poll() is None and serve.poll() is None
    finally:
        for process in (worker, serve):
            if process is not None and process.poll() is None:
                await seconds_to_stop(process)
    assert serve.returncode == 0 and worker.returncode == 0


def read(log: Path) -> str:
    return log.read_text()


def served_by_posts(log: Path) -> set[str]:
    """The serve processes that answered a POST to alice's inbox."""
    lines = log.read_text().splitlines()
    return {line.split()[3] for line in lines if f"access: POST {INBOX_RE_PATH} 202" in line}
