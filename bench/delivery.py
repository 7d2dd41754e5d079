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
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import SimpleNamespace

import aiohttp
import asyncpg
from _postgres import drop_database, make_database, postgres_server

from commonsfed import event_loop, signatures
from commonsfed.config import Settings
from commonsfed.db import deliveries as deliveries_q
from commonsfed.db.pool import create_pool
from commonsfed.federation import outbox
from commonsfed.federation.context import open_federation
from commonsfed.federation.delivery import DeliveryWorker
from commonsfed.federation.signing import THREADS_PER_CORE, cores
from commonsfed.services.accounts import register

HOSTS = [f"peer{n}.test" for n in range(10)]
INBOXES_PER_HOST = 5
AS2 = "https://www.w3.org/ns/activitystreams"


# --- The peer, in a process of its own ----------------------------------------------------------


def serve_sink(port: int, ready, count, cpu=None) -> None:
    """Answers 202 to every POST; counts them in `count`, and its CPU seconds in `cpu`."""
    import os

    from aiohttp import web

    async def accept(request: web.Request) -> web.Response:
        await request.read()
        with count.get_lock():
            count.value += 1
            if cpu is not None and count.value % 100 == 0:
                times = os.times()
                cpu.value = times.user + times.system
        return web.Response(status=202)

    async def started(_app: web.Application) -> None:
        ready.set()

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", accept)
    app.on_startup.append(started)
    # a deep accept queue: the sink stands for as many servers as a fan-out has hosts, each
    # with its own; with aiohttp's 128 a fan-out's burst of new connections overflowed it,
    # and each SYN dropped cost a second of the run (the client sends it again after 1 s)
    web.run_app(app, host="127.0.0.1", port=port, print=None, access_log=None, backlog=4096)


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


def _sign_many(key, count: int) -> None:
    body = b'{"type": "Create"}' * 40
    headers = {"Content-Type": "application/activity+json"}
    for n in range(count):
        url = f"http://{HOSTS[n % len(HOSTS)]}/users/u{n % 5}/inbox"
        signatures.sign_cavage("POST", url, headers, body, "http://bench.test/actor#main-key", key)


def signing_rate(count: int, threads: int = 1) -> float:
    """sign_cavage calls a second, in `threads` threads at once (OpenSSL signs with Python's
    lock released, so threads sign in parallel)."""
    key = signatures.generate_private_key()
    share = max(1, count // threads)
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(lambda _: None, range(threads)))  # the threads started before the clock
        start = time.perf_counter()
        list(pool.map(lambda _: _sign_many(key, share), range(threads)))
        return share * threads / (time.perf_counter() - start)


async def bare_rate(count: int, sink_port: int, in_flight: int = 64) -> float:
    """Signed POSTs a second to the same peer with no queue and no database: signed on all
    cores as the workers sign, sent by one aiohttp session with `in_flight` at once. What
    signing and sending alone reach on this machine beside this peer: the workers' rate
    over it is what the queue, the claims, the lanes and the recording cost."""
    key = signatures.generate_private_key()
    body = b'{"type": "Create"}' * 160
    loop = asyncio.get_running_loop()
    slots = asyncio.Semaphore(in_flight)
    with ThreadPoolExecutor(cores() * THREADS_PER_CORE) as threads:
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=in_flight)) as s:

            async def one(n: int) -> None:
                async with slots:
                    path = f"/users/u{n % INBOXES_PER_HOST}/inbox"
                    url = f"http://{HOSTS[n % len(HOSTS)]}{path}"
                    headers = await loop.run_in_executor(threads, lambda: signatures.sign_cavage(
                        "POST", url, {}, body, "http://bench.test/actor#main-key", key))  # fmt: skip
                    async with s.post(f"http://127.0.0.1:{sink_port}{path}", data=body,
                                      headers=headers) as response:  # fmt: skip
                        await response.read()

            start = time.perf_counter()
            await asyncio.gather(*(one(n) for n in range(count)))
            return count / (time.perf_counter() - start)


async def bench(server_url: str, sink_port: int, args: argparse.Namespace, peer) -> None:
    name, url = await make_database(server_url)
    try:
        settings = Settings(
            domain="bench.test", database_url=url, dev=True, secret="x" * 40,
            data_dir=Path(tempfile.gettempdir()),
            resolve={host: f"127.0.0.1:{sink_port}" for host in HOSTS},
        )  # fmt: skip
        pool = await create_pool(url, max_size=10)
        try:
            await run(pool, settings, args, peer)
        finally:
            await pool.close()
    finally:
        await drop_database(server_url, name)


async def run(pool: asyncpg.Pool, settings: Settings, args: argparse.Namespace, peer):
    await register(pool, settings, username="alice", email="a@example.org", password="x" * 12)
    actor = f"{settings.base_url}/users/alice"
    made = await queue(pool, settings, actor, args.deliveries)
    async with open_federation(settings, pool) as federation:
        workers = [DeliveryWorker(federation, batch=args.batch) for _ in range(args.workers)]
        profile = cProfile.Profile() if args.profile else None
        start, cpu_start = time.perf_counter(), time.process_time()
        peer_cpu_start = peer.cpu.value
        if profile:
            profile.enable()
        await deliver_all(workers)
        elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu_start
        if profile:
            profile.disable()
            pstats.Stats(profile, stream=sys.stderr).sort_stats("tottime").print_stats(25)
    done = await count_done(pool)
    peer_cpu = peer.cpu.value - peer_cpu_start
    received = peer.count.value
    bare = await bare_rate(args.deliveries, settings.resolve[HOSTS[0]].rsplit(":", 1)[1])
    report(args, done, made, elapsed, cpu, received, peer_cpu, bare)


def report(args, done: int, made: int, elapsed: float, cpu: float, received: int,
           peer_cpu: float, bare: float) -> None:  # fmt: skip
    signs, all_cores = signing_rate(args.deliveries), signing_rate(args.deliveries, cores())
    rate = done / elapsed
    print(f"deliveries:  {done}/{made} done, {received} received by the peer")
    print(f"delivered:   {rate:,.0f} signed deliveries/s "
          f"({args.workers} worker(s), batch {args.batch}, {elapsed:.2f} s)")  # fmt: skip
    print(f"cpu:         {cpu / done * 1000:.2f} ms of this process's CPU per delivery "
          f"(signing threads included), {peer_cpu / done * 1000:.2f} ms of the peer's "
          f"(PostgreSQL not counted)")  # fmt: skip
    print(f"signing:     {signs:,.0f} sign_cavage/s alone (one thread), "
          f"{all_cores:,.0f}/s on all cores ({cores()} threads)")  # fmt: skip
    print(f"bare:        {bare:,.0f} signed POSTs/s to the same peer with no queue nor "
          f"database (signed on all cores, one aiohttp session, 64 in flight)")  # fmt: skip
    print(f"ratio:       {rate / signs:.2f} of signing alone, "
          f"{rate / all_cores:.2f} of signing on all cores, {rate / bare:.2f} of the bare "
          f"signed POSTs")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deliveries", type=int, default=5000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--profile", action="store_true", help="cProfile the delivering")
    args = parser.parse_args()

    with_sink("bench-delivery-", lambda server_url, port, peer: bench(server_url, port, args, peer))


def with_sink(prefix: str, run) -> None:
    """Start the peer (a bare sink in a process of its own) and PostgreSQL, then run
    `run(server_url, sink_port, peer)`, a coroutine; peer.count and peer.cpu are the
    requests the sink received and its CPU seconds. bench/fanout.py runs the same way."""
    context = multiprocessing.get_context("spawn")
    ready, count, cpu = context.Event(), context.Value("q", 0), context.Value("d", 0.0)
    port = free_port()
    sink = context.Process(target=serve_sink, args=(port, ready, count, cpu), daemon=True)
    sink.start()
    try:
        if not ready.wait(30):
            raise SystemExit("the sink did not start")
        with postgres_server(prefix) as (server_url, _):
            # the loop `worker` and `serve` run on (commonsfed.event_loop)
            event_loop.run(run(server_url, port, SimpleNamespace(count=count, cpu=cpu)))
    finally:
        sink.terminate()
        sink.join(5)


if __name__ == "__main__":
    main()
