"""How many signed deliveries a second the delivery worker sends, against signing alone.

    .venv/bin/python bench/delivery.py [--deliveries 5000] [--workers 2] [--batch 100]

PostgreSQL: TEST_DATABASE_URL when set, else an embedded one in a temporary folder (as the
tests do). The peer: a bare aiohttp server in a separate process, answering 202 to every
POST, reached through the dev resolver map under ten host names. Deliveries: one Create
per 50 inboxes (ten hosts, five inboxes each), as a listing fans out to followers.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import multiprocessing
import pstats
import socket
import sys
import tempfile
import time
from pathlib import Path

import asyncpg
from _postgres import drop_database, make_database, postgres_server

from commonsfed import signatures
from commonsfed.config import Settings
from commonsfed.db import deliveries as deliveries_q
from commonsfed.db.pool import create_pool
from commonsfed.federation import outbox
from commonsfed.federation.context import open_federation
from commonsfed.federation.delivery import DeliveryWorker
from commonsfed.services.accounts import register

HOSTS = [f"peer{n}.test" for n in range(10)]
INBOXES_PER_HOST = 5
AS2 = "https://www.w3.org/ns/activitystreams"


# --- The peer, in a process of its own ----------------------------------------------------------


def serve_sink(port: int, ready, count) -> None:
    from aiohttp import web

    async def accept(request: web.Request) -> web.Response:
        await request.read()
        with count.get_lock():
            count.value += 1
        return web.Response(status=202)

    async def started(_app: web.Application) -> None:
        ready.set()

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", accept)
    app.on_startup.append(started)
    web.run_app(app, host="127.0.0.1", port=port, print=None, access_log=None)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --- The database -------------------------------------------------------------------------------


async def queue(pool: asyncpg.Pool, settings: Settings, actor: str, count: int) -> int:
    """`count` deliveries: Creates from `actor`, each to 50 inboxes."""
    inboxes = [f"http://{host}/users/u{n}/inbox" for host in HOSTS
               for n in range(INBOXES_PER_HOST)]  # fmt: skip
    made = 0
    async with pool.acquire() as conn:
        while made < count:
            targets = inboxes[: count - made]
            activity_id = outbox.new_activity_id(settings)
            activity = {
                "@context": AS2, "id": activity_id, "type": "Create", "actor": actor,
                "to": [AS2 + "#Public"], "object": {
                    "id": f"{activity_id}/note", "type": "Note", "attributedTo": actor,
                    "content": "<p>Lending a ladder, 3 m, all week. Reply to ask.</p>" * 4,
                },
            }  # fmt: skip
            async with conn.transaction():
                made += len(await outbox.publish(conn, settings, activity,
                                                 extra_inboxes=targets))  # fmt: skip
    return made


# --- The runs -----------------------------------------------------------------------------------


async def deliver_all(workers: list[DeliveryWorker]) -> None:
    async def drain(worker: DeliveryWorker) -> None:
        while await worker.tick():
            pass

    await asyncio.gather(*(drain(worker) for worker in workers))


async def count_done(pool: asyncpg.Pool) -> int:
    async with pool.acquire() as conn:
        rows = await deliveries_q.queue_summary(conn)
        done = await conn.fetchval("SELECT count(*) FROM deliveries WHERE state = 'done'")
    if rows:
        print(f"  not done: {[dict(row) for row in rows]}", file=sys.stderr)
    return done


def signing_rate(count: int) -> float:
    key = signatures.generate_private_key()
    body = b'{"type": "Create"}' * 40
    headers = {"Content-Type": "application/activity+json"}
    start = time.perf_counter()
    for n in range(count):
        url = f"http://{HOSTS[n % len(HOSTS)]}/users/u{n % 5}/inbox"
        signatures.sign_cavage("POST", url, headers, body, "http://bench.test/actor#main-key", key)
    return count / (time.perf_counter() - start)


async def bench(server_url: str, sink_port: int, args: argparse.Namespace, sink_count) -> None:
    name, url = await make_database(server_url)
    try:
        settings = Settings(
            domain="bench.test", database_url=url, dev=True, secret="x" * 40,
            data_dir=Path(tempfile.gettempdir()),
            resolve={host: f"127.0.0.1:{sink_port}" for host in HOSTS},
        )  # fmt: skip
        pool = await create_pool(url, max_size=10)
        try:
            await run(pool, settings, args, sink_count)
        finally:
            await pool.close()
    finally:
        await drop_database(server_url, name)


async def run(pool: asyncpg.Pool, settings: Settings, args: argparse.Namespace, sink_count):
    await register(pool, settings, username="alice", email="a@example.org", password="x" * 12)
    actor = f"{settings.base_url}/users/alice"
    made = await queue(pool, settings, actor, args.deliveries)
    async with open_federation(settings, pool) as federation:
        workers = [DeliveryWorker(federation, batch=args.batch) for _ in range(args.workers)]
        profile = cProfile.Profile() if args.profile else None
        start, cpu_start = time.perf_counter(), time.process_time()
        if profile:
            profile.enable()
        await deliver_all(workers)
        elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu_start
        if profile:
            profile.disable()
            pstats.Stats(profile, stream=sys.stderr).sort_stats("tottime").print_stats(25)
    done = await count_done(pool)
    signs = signing_rate(args.deliveries)
    rate = done / elapsed
    print(f"deliveries:  {done}/{made} done, {sink_count.value} received by the peer")
    print(f"delivered:   {rate:,.0f} signed deliveries/s "
          f"({args.workers} worker(s), batch {args.batch}, {elapsed:.2f} s)")  # fmt: skip
    print(f"cpu:         {cpu / done * 1000:.2f} ms of this process's CPU per delivery "
          f"(signing threads included; the peer and PostgreSQL not)")  # fmt: skip
    print(f"signing:     {signs:,.0f} sign_cavage/s alone (one thread)")
    print(f"ratio:       {rate / signs:.2f} of signing alone")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deliveries", type=int, default=5000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--profile", action="store_true", help="cProfile the delivering")
    args = parser.parse_args()

    context = multiprocessing.get_context("spawn")
    ready, count = context.Event(), context.Value("q", 0)
    port = free_port()
    sink = context.Process(target=serve_sink, args=(port, ready, count), daemon=True)
    sink.start()
    try:
        if not ready.wait(30):
            raise SystemExit("the sink did not start")
        with postgres_server("bench-delivery-") as (server_url, _):
            asyncio.run(bench(server_url, port, args, count))
    finally:
        sink.terminate()
        sink.join(5)

if __name__ == "__main__":
    main()
