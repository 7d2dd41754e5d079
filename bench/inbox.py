"""Inbox throughput over loopback: accepted/s against a bare baseline, then handled/s.

    .venv/bin/python bench/inbox.py [--count 20000] [--concurrency 50] [--handle-seconds 15]

What runs where:
- this process: PostgreSQL (embedded in a temporary folder, or TEST_DATABASE_URL's server),
  a real node (create_app, dev settings) on one loopback port, and the baseline on another:
  a bare aiohttp handler that verifies the same signature with the same key and inserts one
  row into a scratch table; later, two InboxWorkers ticking in-process;
- a separate load process: signs every request before any timing (distinct Mastodon-shaped
  Create activities from http://south.test/users/alice), then POSTs them with about
  `--concurrency` in flight, first to the node's /inbox, then the same requests to the
  baseline, and reports the time each took.

The signer's actor is put in `remote_actors` beforehand, so the node verifies from its cached
key as in steady state (the first request reads it from PostgreSQL into memory); nothing is
fetched from a "south.test" during the run.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import sys
import tempfile
import time
import uuid
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import aiohttp
import asyncpg
import orjson
from aiohttp import web

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from commonsfed import signatures  # noqa: E402
from commonsfed.ap.actors import RemoteActor  # noqa: E402
from commonsfed.app import create_app  # noqa: E402
from commonsfed.config import Settings  # noqa: E402
from commonsfed.db import actors as actors_q  # noqa: E402
from commonsfed.db.embedded import EmbeddedPostgres  # noqa: E402
from commonsfed.db.lifecycle import apply_migrations  # noqa: E402
from commonsfed.db.pool import connect, create_pool, with_database  # noqa: E402
from commonsfed.federation.inbox import InboxWorker  # noqa: E402
from commonsfed.web.keys import FEDERATION  # noqa: E402

NODE = "north.test"
ACTOR = "http://south.test/users/alice"
KEY_ID = ACTOR + "#main-key"
TEMPLATE = Path(__file__).resolve().parent.parent / "tests" / "data" / "mastodon_create_note.json"
SECRET = "bench-secret-" + "x" * 40


# --- the load process --------------------------------------------------------------------


@dataclass(frozen=True)
class Request:
    body: bytes
    headers: dict[str, str]


def activity(number: int) -> dict:
    """A Mastodon Create Note, re-homed on south.test, with its own ids."""
    document = orjson.loads(
        TEMPLATE.read_bytes().replace(b"https://mastodon.example", b"http://south.test")
    )
    status = f"{ACTOR}/statuses/{number}-{uuid.uuid4().hex[:8]}"
    document["id"] = status + "/activity"
    document["object"] |= {"id": status, "atomUri": status}
    document.pop("signature")  # an LD signature we would not check anyway
    return document


def sign_range(private_pem: str, start: int, stop: int) -> list[Request]:
    key = signatures.private_key_from_pem(private_pem)
    url = f"http://{NODE}/inbox"
    requests = []
    for number in range(start, stop):
        body = orjson.dumps(activity(number))
        headers = {"Content-Type": "application/activity+json"}
        headers |= signatures.sign_cavage("POST", url, headers, body, KEY_ID, key)
        requests.append(Request(body, headers))
    return requests


def sign_all(private_pem: str, count: int, processes: int = 2) -> list[Request]:
    """Signing is slow (RSA, ~0.5 ms each), so it is spread over the machine's cores."""
    step = -(-count // processes)
    with ProcessPoolExecutor(processes, mp_context=multiprocessing.get_context("spawn")) as pool:
        parts = pool.map(
            sign_range,
            [private_pem] * processes,
            range(0, count, step),
            [min(start + step, count) for start in range(0, count, step)],
        )
        return [request for part in parts for request in part]


async def post_all(
    port: int, requests: list[Request], concurrency: int
) -> tuple[int, float, float]:
    """(202 answers, seconds, this process's CPU seconds) for sending every request,
    `concurrency` at a time."""
    pending = iter(requests)
    accepted = 0
    connector = aiohttp.TCPConnector(limit=concurrency)

    async def sender(session: aiohttp.ClientSession) -> None:
        nonlocal accepted
        for request in pending:
            async with session.post(
                f"http://127.0.0.1:{port}/inbox", data=request.body, headers=request.headers
            ) as response:
                await response.read()
                accepted += response.status == 202

    async with aiohttp.ClientSession(
        connector=connector, skip_auto_headers=("User-Agent",)
    ) as session:
        started, cpu = time.perf_counter(), time.process_time()
        await asyncio.gather(*(sender(session) for _ in range(concurrency)))
        return accepted, time.perf_counter() - started, time.process_time() - cpu


def load_process(pipe, private_pem: str, count: int, concurrency: int) -> None:
    """Sign everything, say so, then run each load the parent asks for."""
    requests = sign_all(private_pem, count)
    for request in requests:  # every request goes to north.test, whatever port it reaches
        request.headers["Host"] = NODE
    pipe.send(("signed", len(requests)))
    while (port := pipe.recv()) is not None:
        pipe.send(asyncio.run(post_all(port, requests, concurrency)))


# --- this process: PostgreSQL, the node, the baseline, the workers ------------------------


@contextmanager
def postgres_server():
    url = os.environ.get("TEST_DATABASE_URL")
    if url:
        yield url
        return
    with tempfile.TemporaryDirectory(prefix="commonsfed-bench-") as folder:
        server = EmbeddedPostgres(Path(folder))
        try:
            yield server.start()
        finally:
            server.stop()


DATABASE = f"bench_inbox_{os.getpid()}"


async def fresh_database(server_url: str) -> str:
    name = DATABASE
    conn = await connect(server_url)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    url = with_database(server_url, name)
    await apply_migrations(url)
    return url


async def drop_database(server_url: str) -> None:
    conn = await connect(server_url)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')
    finally:
        await conn.close()


async def seed_signer(url: str, public_pem: str) -> None:
    """alice@south.test as if north had fetched her actor before."""
    actor = RemoteActor(
        uri=ACTOR,
        domain="south.test",
        type="Person",
        preferred_username="alice",
        name="Alice",
        inbox=ACTOR + "/inbox",
        shared_inbox="http://south.test/inbox",
        followers=ACTOR + "/followers",
        key_id=KEY_ID,
        public_key_pem=public_pem,
    )
    document = {
        "id": ACTOR,
        "type": "Person",
        "inbox": actor.inbox,
        "publicKey": {"id": KEY_ID, "owner": ACTOR, "publicKeyPem": public_pem},
    }
    conn = await connect(url)
    try:
        await actors_q.upsert_remote_actor(conn, actor, document)
        await conn.execute(
            "CREATE TABLE bench_baseline (id bigint GENERATED ALWAYS AS IDENTITY "
            "PRIMARY KEY, activity_id text NOT NULL UNIQUE, activity jsonb NOT NULL)"
        )
    finally:
        await conn.close()


def baseline_app(url: str, public_pem: str) -> web.Application:
    """The least an inbox can do: verify the signature with a known key, insert one row."""
    key = signatures.public_key_from_pem(public_pem)
    pool_key = web.AppKey("pool", asyncpg.Pool)

    async def inbox(request: web.Request) -> web.Response:
        body = await request.read()
        try:
            signatures.verify_request(
                "POST", request.raw_path, request.headers, body, key, scheme="http"
            )
        except signatures.SignatureError:
            return web.Response(status=401)
        async with request.app[pool_key].acquire() as conn:
            await conn.execute(
                "INSERT INTO bench_baseline (activity_id, activity) "
                "VALUES ($1::jsonb->>'id', $1::jsonb) ON CONFLICT DO NOTHING",
                body.decode(),
            )
        return web.Response(status=202)

    async def pool(app: web.Application):
        app[pool_key] = await create_pool(url)
        yield
        await app[pool_key].close()

    app = web.Application(client_max_size=1024 * 1024)
    app.cleanup_ctx.append(pool)
    app.router.add_post("/inbox", inbox)
    return app


async def serve(app: web.Application) -> tuple[web.AppRunner, int]:
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    return runner, site._server.sockets[0].getsockname()[1]


@dataclass(frozen=True)
class Load:
    accepted: int
    seconds: float
    client_cpu: float  # the load process's CPU seconds
    server_cpu: float  # this process's CPU seconds over the same time

    @property
    def rate(self) -> float:
        return self.accepted / self.seconds

    def per_request(self, count: int) -> str:
        return (
            f"server {self.server_cpu / count * 1e6:.0f} us CPU/request, "
            f"client {self.client_cpu / count * 1e6:.0f} us"
        )


async def load(pipe, port: int) -> Load:
    """Ask the load process to send everything to `port`; wait without blocking the loop."""
    cpu = time.process_time()
    pipe.send(port)
    accepted, seconds, client_cpu = await asyncio.get_running_loop().run_in_executor(
        None, pipe.recv
    )
    return Load(accepted, seconds, client_cpu, time.process_time() - cpu)


async def handle_for(fed, seconds: float, workers: int = 2) -> tuple[int, float]:
    """Tick `workers` InboxWorkers until the queue is empty or `seconds` have passed."""
    deadline = time.perf_counter() + seconds
    started = time.perf_counter()

    async def drain(worker: InboxWorker) -> int:
        done = 0
        while time.perf_counter() < deadline and await worker.tick():
            done += 1
        return done

    counts = await asyncio.gather(
        *(drain(InboxWorker(fed, lease=timedelta(minutes=5))) for _ in range(workers))
    )
    return sum(counts), time.perf_counter() - started


async def count_rows(url: str, table: str) -> int:
    conn = await connect(url)
    try:
        return await conn.fetchval(f"SELECT count(*) FROM {table}")
    finally:
        await conn.close()


async def states(url: str) -> dict[str, int]:
    conn = await connect(url)
    try:
        rows = await conn.fetch("SELECT state, count(*) AS n FROM inbox_items GROUP BY state")
        return {row["state"]: row["n"] for row in rows}
    finally:
        await conn.close()


def handlers_present() -> bool:
    return (
        Path(__file__).resolve().parent.parent / "commonsfed" / "federation" / "handlers.py"
    ).exists()


async def run(server_url: str, args: argparse.Namespace, data_dir: Path) -> list[str]:
    url = await fresh_database(server_url)
    private = signatures.generate_private_key()
    private_pem, public_pem = (
        signatures.private_key_to_pem(private),
        signatures.public_key_to_pem(private),
    )
    await seed_signer(url, public_pem)
    settings = Settings(
        domain=NODE, database_url=url, data_dir=data_dir, secret=SECRET, dev=True, run_worker=False
    )
    node = create_app(settings)
    node_runner, node_port = await serve(node)
    base_runner, base_port = await serve(baseline_app(url, public_pem))

    pipe, child_pipe = multiprocessing.get_context("spawn").Pipe()
    loader = multiprocessing.get_context("spawn").Process(
        target=load_process, args=(child_pipe, private_pem, args.count, args.concurrency)
    )
    loader.start()
    try:
        started = time.perf_counter()
        _, signed = await asyncio.get_running_loop().run_in_executor(None, pipe.recv)
        print(f"signed {signed} requests ahead of the run in {time.perf_counter() - started:.1f} s")
        inbox = await load(pipe, node_port)
        baseline = await load(pipe, base_port)
        pipe.send(None)
        stored = await count_rows(url, "inbox_items")
        handled, handle_seconds = await handle_for(node[FEDERATION], args.handle_seconds)
        outcome = await states(url)
    finally:
        loader.join(timeout=10)
        await node_runner.cleanup()
        await base_runner.cleanup()
        await drop_database(server_url)

    handled_kind = (
        "claim + normalise + the real handler table + state"
        if handlers_present()
        else "claim + normalise + state only (no handlers.py yet)"
    )
    return [
        f"signer: {ACTOR}, its key pre-loaded in remote_actors (cached-key steady state)",
        f"requests: {args.count} distinct Mastodon Create Notes "
        f"({len(orjson.dumps(activity(0)))} bytes), {args.concurrency} in flight, loopback",
        f"accepted: {inbox.accepted}/{args.count} answered 202 in {inbox.seconds:.1f} s = "
        f"{inbox.rate:,.0f} accepted/s ({stored} rows stored; "
        f"{inbox.per_request(args.count)})",
        f"baseline: {baseline.accepted}/{args.count} in {baseline.seconds:.1f} s = "
        f"{baseline.rate:,.0f} /s (bare handler: verify + one INSERT; "
        f"{baseline.per_request(args.count)})",
        f"ratio: accepted/baseline = {inbox.rate / baseline.rate:.2f}",
        f"handled: {handled} in {handle_seconds:.1f} s = {handled / handle_seconds:,.0f} handled/s "
        f"with 2 workers in-process ({handled_kind}); states {outcome}",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=20_000)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--handle-seconds", type=float, default=15.0)
    args = parser.parse_args()
    started = time.perf_counter()
    with postgres_server() as server_url, tempfile.TemporaryDirectory() as data_dir:
        lines = asyncio.run(run(server_url, args, Path(data_dir)))
    print("\n".join(lines))
    print(f"total: {time.perf_counter() - started:.0f} s on {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
