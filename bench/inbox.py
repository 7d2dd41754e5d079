"""Inbox throughput over loopback: accepted/s against a bare baseline, handled/s, and both
at once under a steady load.

    .venv/bin/python bench/inbox.py [--count 20000] [--concurrency 50] [--handle-seconds 15]
                                    [--processes 2] [--mixed-rate 1000] [--mixed-seconds 30]

What runs where:
- PostgreSQL: embedded in a temporary folder, or TEST_DATABASE_URL's server;
- the node: `--processes` server processes, each a real node (create_app, dev settings)
  sharing one loopback port with SO_REUSEPORT, as `serve --processes` shares a node's
  traffic; then, the same way and with as many processes, the baseline: a bare aiohttp
  handler that verifies the same signature with the same key and inserts one row into a
  scratch table, one INSERT per request;
- a separate load process (bench/_inbox_load.py): signs every request and serialises it to
  bytes before any timing (distinct Mastodon-shaped Create activities from
  http://south.test/users/alice), then writes them over `--concurrency` keep-alive HTTP/1.1
  connections, one request in flight on each, reading each answer only as far as its status
  and Content-Length: first to the node's /inbox, then the same requests to the baseline.
  The load generator is not what is measured, so it does as little as it can, the same for
  both;
- this process: starts and stops the others, counts the rows stored, then runs two
  InboxWorkers in-process to measure handled/s;
- the mixed phase: node processes again, now running their workers as `serve` does, get
  `--mixed-rate` other signed requests a second for `--mixed-seconds`, each sent at its
  slot; this process prints the backlog (pending items) every second, and at the end how
  much work is left, in seconds at the handled rate.

Every answer must be 202 and every row stored, on both sides, or the bench fails. CPU per
request is given for the server processes, the load process, PostgreSQL (embedded only) and
the whole machine; a warning says when other processes took a share that moves the rates
(the figures are only worth comparing on an otherwise idle machine).

The signer's actor is put in `remote_actors` beforehand, so the node verifies from its cached
key as in steady state (each process's first request reads it from PostgreSQL into memory);
nothing is fetched from a "south.test" during the run.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import multiprocessing
import os
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import asyncpg
import orjson
from aiohttp import web

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _inbox_load import ACTOR, KEY_ID, NODE, activity, load_process  # noqa: E402
from _postgres import drop_database, make_database, postgres_server  # noqa: E402

from commonsfed import event_loop, signatures  # noqa: E402
from commonsfed.ap.actors import RemoteActor  # noqa: E402
from commonsfed.app import create_app  # noqa: E402
from commonsfed.config import Settings  # noqa: E402
from commonsfed.db import actors as actors_q  # noqa: E402
from commonsfed.db.pool import connect, create_pool  # noqa: E402
from commonsfed.federation.context import open_federation  # noqa: E402
from commonsfed.federation.inbox_worker import BATCH, InboxWorker  # noqa: E402

SECRET = "bench-secret-" + "x" * 40


# --- this process: PostgreSQL, the node, the baseline, the workers ------------------------


DATABASE = f"bench_inbox_{os.getpid()}"


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


def node_settings(url: str, data_dir: Path, *, workers: bool = False) -> Settings:
    return Settings(
        domain=NODE, database_url=url, data_dir=data_dir, secret=SECRET, dev=True,
        run_worker=workers,
    )


@dataclass(frozen=True)
class Side:
    """What a group of server processes serves: the real node, or the baseline."""

    kind: str  # "node", "node+workers" (as `serve` runs: its workers in-process), "baseline"
    url: str
    public_pem: str
    data_dir: Path

    def app(self) -> web.Application:
        if self.kind.startswith("node"):
            workers = self.kind == "node+workers"
            return create_app(node_settings(self.url, self.data_dir, workers=workers))
        return baseline_app(self.url, self.public_pem)


def server_process(pipe, side: Side, port: int) -> None:
    # the loop `serve` runs on (commonsfed.event_loop), for the node and the baseline alike
    event_loop.run(serve(pipe, side, port))


async def serve(pipe, side: Side, port: int) -> None:
    """Serve `side` on `port` (0: any) beside the other processes on it; say which port,
    then answer "cpu" with this process's CPU seconds until told anything else."""
    runner = web.AppRunner(side.app(), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", port, reuse_port=True)
    await site.start()
    loop = asyncio.get_running_loop()
    pipe.send(site._server.sockets[0].getsockname()[1])
    while await loop.run_in_executor(None, pipe.recv) == "cpu":
        pipe.send(time.process_time())
    await runner.cleanup()


class Servers:
    """`count` processes serving one side on one port, as a node scales: several `serve`
    processes (SO_REUSEPORT stands in for the proxy in front of them)."""

    def __init__(self, side: Side, count: int) -> None:
        self.side, self.count = side, count
        self.port = 0
        self._children: list[tuple[multiprocessing.Process, object]] = []

    async def start(self) -> int:
        context = multiprocessing.get_context("spawn")
        for _ in range(self.count):  # one after the other: the first one picks the port
            pipe, child_pipe = context.Pipe()
            process = context.Process(
                target=server_process, args=(child_pipe, self.side, self.port)
            )
            process.start()
            child_pipe.close()  # so that a child that dies is an EOFError, not a hang
            self._children.append((process, pipe))
            self.port = await self._ask(pipe, None)
        return self.port

    async def cpu(self) -> float:
        """The CPU seconds all of them have used so far."""
        return sum([await self._ask(pipe, "cpu") for _, pipe in self._children])

    async def stop(self) -> None:
        for _, pipe in self._children:
            with contextlib.suppress(OSError):  # one that died is joined all the same
                pipe.send("stop")
        for process, _ in self._children:
            await asyncio.get_running_loop().run_in_executor(None, process.join, 30)
            if process.is_alive():
                process.terminate()
        self._children.clear()

    @staticmethod
    async def _ask(pipe, question: str | None):
        if question is not None:
            pipe.send(question)
        return await asyncio.get_running_loop().run_in_executor(None, pipe.recv)


@dataclass(frozen=True)
class Load:
    statuses: Counter[int]  # answers by HTTP status
    seconds: float
    client_cpu: float  # the load process's CPU seconds
    server_cpu: float  # the server processes' CPU seconds over the same time
    postgres_cpu: float  # the embedded PostgreSQL's (0 for TEST_DATABASE_URL's)
    machine_cpu: float  # every process's and the kernel's

    @property
    def accepted(self) -> int:
        return self.statuses[202]

    @property
    def refused(self) -> str:
        """Any answer but 202, by status (there should be none)."""
        others = {status: n for status, n in sorted(self.statuses.items()) if status != 202}
        return f"; NOT 202: {others}" if others else ""

    @property
    def rate(self) -> float:
        return self.accepted / self.seconds

    def others(self, count: int) -> float:
        """us a request of CPU that neither the bench's processes nor its PostgreSQL used:
        the kernel's interrupts (some 15 us) and other processes'. The machine's total is
        sampled at each clock tick, so a few us either way are noise."""
        ours = self.server_cpu + self.client_cpu + self.postgres_cpu
        return (self.machine_cpu - ours) / count * 1e6

    def per_request(self, count: int) -> str:
        return (
            f"CPU/request: server {self.server_cpu / count * 1e6:.0f} us, "
            f"client {self.client_cpu / count * 1e6:.0f} us, "
            f"PostgreSQL {self.postgres_cpu / count * 1e6:.0f} us; "
            f"whole machine {self.machine_cpu / count * 1e6:.0f} us"
        )


def machine_cpu() -> float:
    """CPU seconds every process on the machine has used (Linux's /proc/stat; 0 elsewhere)."""
    try:
        fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()
    except OSError:
        return 0.0
    user, nice, system, _idle, _iowait, irq, softirq = map(int, fields[1:8])
    return (user + nice + system + irq + softirq) / os.sysconf("SC_CLK_TCK")


def postgres_cpu(pgdata: Path | None) -> dict[str, float]:
    """CPU seconds of the embedded PostgreSQL's processes (its postmaster and the children),
    by pid; empty for a server elsewhere (TEST_DATABASE_URL) or off Linux."""
    try:
        postmaster = (pgdata / "postmaster.pid").read_text().split()[0] if pgdata else None
    except OSError:
        postmaster = None
    if postmaster is None:
        return {}
    cpu = {}
    for entry in Path("/proc").iterdir():
        try:
            raw = (entry / "stat").read_text() if entry.name.isdigit() else ""
        except OSError:
            continue  # gone since the listing
        fields = raw[raw.rfind(")") + 2 :].split()  # from the state on: ppid is fields[1]
        if fields and postmaster in (entry.name, fields[1]):
            cpu[entry.name] = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return cpu


class CpuMeter:
    """The CPU seconds used, over one load, by the server processes, by PostgreSQL and by the
    whole machine (which also counts the kernel's work and any other process)."""

    def __init__(self, servers: Servers, pgdata: Path | None) -> None:
        self._servers, self._pgdata = servers, pgdata

    async def read(self) -> tuple[float, dict[str, float], float]:
        return await self._servers.cpu(), postgres_cpu(self._pgdata), machine_cpu()

    async def since(self, before) -> tuple[float, float, float]:
        server, postgres, machine = await self.read()
        # a backend that started during the load counts from 0; one that ended is lost
        postgres_used = sum(cpu - before[1].get(pid, 0.0) for pid, cpu in postgres.items())
        return server - before[0], postgres_used, machine - before[2]


async def load(pipe, servers: Servers, pgdata: Path | None) -> Load:
    """Ask the load process to send everything to the servers' port; wait for it without
    blocking the loop."""
    meter = CpuMeter(servers, pgdata)
    before = await meter.read()
    pipe.send(("burst", servers.port))
    statuses, seconds, client_cpu = await asyncio.get_running_loop().run_in_executor(
        None, pipe.recv
    )
    return Load(statuses, seconds, client_cpu, *await meter.since(before))


async def load_side(pipe, side: Side, processes: int, pgdata: Path | None) -> Load:
    servers = Servers(side, processes)
    try:
        await servers.start()
        return await load(pipe, servers, pgdata)
    finally:
        await servers.stop()


async def handle_for(fed, seconds: float, workers: int = 2) -> tuple[int, float]:
    """Tick `workers` InboxWorkers until the queue is empty or `seconds` have passed."""
    deadline = time.perf_counter() + seconds
    started = time.perf_counter()

    async def drain(worker: InboxWorker) -> None:
        while time.perf_counter() < deadline and await worker.tick():
            pass

    before = await pending(fed.pool)
    await asyncio.gather(
        *(drain(InboxWorker(fed, lease=timedelta(minutes=5))) for _ in range(workers))
    )
    seconds = time.perf_counter() - started
    return before - await pending(fed.pool), seconds


async def pending(pool: asyncpg.Pool) -> int:
    async with pool.acquire() as conn:
        return await conn.fetchval("SELECT count(*) FROM inbox_items WHERE state = 'pending'")


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


async def handle(url: str, data_dir: Path, seconds: float) -> tuple[int, float]:
    pool = await create_pool(url)
    try:
        async with open_federation(node_settings(url, data_dir), pool) as fed:
            return await handle_for(fed, seconds)
    finally:
        await pool.close()


@dataclass(frozen=True)
class Mixed:
    """The mixed phase: a steady load while the node's own workers handle what it stores."""

    statuses: Counter[int]
    seconds: float
    backlog: list[int]  # pending items, sampled every second
    handled: int  # items the node's workers handled during the phase

    @property
    def rate(self) -> float:
        return self.statuses[202] / self.seconds


async def mixed_phase(pipe, side: Side, processes: int, rate: float) -> Mixed:
    """Send the steady requests at `rate` to `processes` node processes running their
    workers as `serve` does; print the backlog every second meanwhile."""
    servers = Servers(side, processes)
    pool = await create_pool(side.url, max_size=2)
    try:
        await servers.start()
        done_before = await count_done(pool)
        pipe.send(("steady", servers.port, rate))
        answer = asyncio.get_running_loop().run_in_executor(None, pipe.recv)
        backlog, started = [], time.perf_counter()
        while not answer.done():
            await asyncio.wait({answer}, timeout=1.0)
            backlog.append(await pending(pool))
            handled = await count_done(pool) - done_before
            print(
                f"  mixed {time.perf_counter() - started:4.0f} s: backlog {backlog[-1]:6d} "
                f"pending, {handled} handled so far",
                flush=True,
            )
        statuses, seconds, _ = answer.result()
        backlog.append(await pending(pool))
        return Mixed(statuses, seconds, backlog, await count_done(pool) - done_before)
    finally:
        await servers.stop()
        await pool.close()


async def count_done(pool: asyncpg.Pool) -> int:
    async with pool.acquire() as conn:
        return await conn.fetchval("SELECT count(*) FROM inbox_items WHERE state <> 'pending'")


async def set_aside(url: str) -> int:
    """Items the handled phase left pending are marked done, so that the mixed phase's
    backlog is its own."""
    conn = await connect(url)
    try:
        result = await conn.execute(
            "UPDATE inbox_items SET state = 'done', handled_at = now() WHERE state = 'pending'"
        )
        return int(result.split()[-1])
    finally:
        await conn.close()


@dataclass(frozen=True)
class Results:
    inbox: Load
    baseline: Load
    stored: int
    stored_baseline: int
    handled: int
    handle_seconds: float
    outcome: dict[str, int]
    mixed: Mixed | None


def start_loader(private_pem: str, args: argparse.Namespace):
    pipe, child_pipe = multiprocessing.get_context("spawn").Pipe()
    loader = multiprocessing.get_context("spawn").Process(
        target=load_process,
        args=(child_pipe, private_pem, args.count, steady_count(args), args.concurrency),
    )
    loader.start()
    child_pipe.close()
    return pipe, loader


def steady_count(args: argparse.Namespace) -> int:
    return int(args.mixed_rate * args.mixed_seconds)


async def run(
    server_url: str, pgdata: Path | None, args: argparse.Namespace, data_dir: Path
) -> Results:
    _, url = await make_database(server_url, DATABASE)
    private = signatures.generate_private_key()
    await seed_signer(url, signatures.public_key_to_pem(private))
    pipe, loader = start_loader(signatures.private_key_to_pem(private), args)
    try:
        return await phases(pipe, url, pgdata, args, data_dir, signatures.public_key_to_pem(private))
    finally:
        with contextlib.suppress(OSError):  # the load process stops, even when a load failed
            pipe.send(None)
        loader.join(timeout=10)
        if loader.is_alive():
            loader.terminate()
        await drop_database(server_url, DATABASE)


async def phases(pipe, url, pgdata, args, data_dir, public_pem) -> Results:
    started = time.perf_counter()
    _, signed = await asyncio.get_running_loop().run_in_executor(None, pipe.recv)
    print(f"signed {signed} requests ahead of the run in {time.perf_counter() - started:.1f} s")
    node, bare = (Side(kind, url, public_pem, data_dir) for kind in ("node", "baseline"))
    inbox = await load_side(pipe, node, args.processes, pgdata)
    baseline = await load_side(pipe, bare, args.processes, pgdata)
    stored = await count_rows(url, "inbox_items")
    stored_baseline = await count_rows(url, "bench_baseline")
    handled, handle_seconds = await handle(url, data_dir, args.handle_seconds)
    outcome = await states(url)
    mixed = None
    if args.mixed_seconds > 0:
        left = await set_aside(url)
        print(f"mixed phase: {args.mixed_rate:,.0f} requests/s for {args.mixed_seconds:.0f} s "
              f"to {args.processes} node processes with their workers ({left} left set aside)")
        workers = Side("node+workers", url, public_pem, data_dir)
        mixed = await mixed_phase(pipe, workers, args.processes, args.mixed_rate)
    return Results(
        inbox, baseline, stored, stored_baseline, handled, handle_seconds, outcome, mixed
    )


def report(results: Results, args: argparse.Namespace) -> tuple[list[str], bool]:
    inbox, baseline = results.inbox, results.baseline
    complete = (
        inbox.accepted == baseline.accepted == results.stored == results.stored_baseline
        == args.count
    )
    handled_rate = results.handled / results.handle_seconds
    return [
        f"signer: {ACTOR}, its key pre-loaded in remote_actors (cached-key steady state)",
        f"requests: {args.count} distinct Mastodon Create Notes "
        f"({len(orjson.dumps(activity(0)))} bytes), {args.concurrency} keep-alive connections "
        "from one load process, loopback",
        f"processes: node {args.processes}, baseline {args.processes} "
        "(sharing one port with SO_REUSEPORT), load 1, and PostgreSQL's",
        f"accepted: {inbox.accepted}/{args.count} answered 202 in {inbox.seconds:.1f} s = "
        f"{inbox.rate:,.0f} accepted/s ({results.stored} rows stored; "
        f"{inbox.per_request(args.count)}){inbox.refused}",
        f"baseline: {baseline.accepted}/{args.count} in {baseline.seconds:.1f} s = "
        f"{baseline.rate:,.0f} /s (bare handler: verify + one INSERT; "
        f"{results.stored_baseline} rows; {baseline.per_request(args.count)}){baseline.refused}",
        f"ratio: accepted/baseline = {inbox.rate / baseline.rate:.2f}",
        f"check: every answer 202 and every row stored on both sides: "
        f"{'yes' if complete else 'NO'}",
        f"handled: {results.handled} in {results.handle_seconds:.1f} s = {handled_rate:,.0f} "
        "handled/s with 2 workers in-process (claim + normalise + the real handler table + "
        f"state, batches of {BATCH}); states {results.outcome}",
        *mixed_lines(results.mixed, handled_rate),
        *busy_warning(inbox, baseline, args.count),
    ], complete and (results.mixed is None or results.mixed.statuses[202] == steady_count(args))


def mixed_lines(mixed: Mixed | None, handled_rate: float) -> list[str]:
    if mixed is None:
        return []
    end = mixed.backlog[-1]
    others = {status: n for status, n in mixed.statuses.items() if status != 202}
    return [
        f"mixed: {mixed.statuses[202]} answered 202 in {mixed.seconds:.1f} s = "
        f"{mixed.rate:,.0f} accepted/s{f'; NOT 202: {others}' if others else ''}; the node's "
        f"workers handled {mixed.handled} meanwhile = {mixed.handled / mixed.seconds:,.0f}/s; "
        f"backlog peak {max(mixed.backlog)}, at the end {end} = "
        f"{end / max(handled_rate, 1):.2f} s of work at the handled rate above",
    ]


BUSY = 50  # us a request used by something else: enough to move the rates


def busy_warning(inbox: Load, baseline: Load, count: int) -> list[str]:
    others = max(inbox.others(count), baseline.others(count))
    if others < BUSY:
        return []
    return [
        f"WARNING: other processes used up to {others:.0f} us of CPU a request during the "
        "loads: the machine was not idle, so these rates are low and not worth comparing"
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=20_000)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--handle-seconds", type=float, default=15.0)
    parser.add_argument("--mixed-rate", type=float, default=1000.0)
    parser.add_argument(
        "--mixed-seconds", type=float, default=30.0, help="0 leaves the mixed phase out"
    )
    parser.add_argument(
        "--processes",
        type=int,
        default=2,
        help="server processes for the node and for the baseline",
    )
    args = parser.parse_args()
    started = time.perf_counter()
    with postgres_server("commonsfed-bench-") as (server_url, pgdata), tempfile.TemporaryDirectory() as data_dir:
        results = asyncio.run(run(server_url, pgdata, args, Path(data_dir)))
    lines, complete = report(results, args)
    print("\n".join(lines))
    print(f"total: {time.perf_counter() - started:.0f} s on {os.cpu_count()} cores")
    if not complete:
        sys.exit("some requests were not answered 202, or their rows are missing")


if __name__ == "__main__":
    main()
