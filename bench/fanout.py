"""How long one listing takes to reach 10,000 followers on 2,000 hosts from `serve` alone.

    .venv/bin/python bench/fanout.py [--followers 10000] [--hosts 2000] [--runs 3]

PostgreSQL: TEST_DATABASE_URL when set, else an embedded one in a temporary folder. The node:
`commonsfed serve --dev` in a process of its own, with its in-process workers and nothing
else. The peers: a bare aiohttp server in another process, answering 202 to every POST,
reached through the dev resolver map under every host name. The followers are written
straight into remote_actors and follows; the fan-out itself goes the real way: a resident
posts a listing through the client API (POST /api/v1/statuses), the service queues its
deliveries, and the node's delivery worker signs and sends them.

Two phases: followers without shared inboxes (one delivery per follower), then with one
shared inbox per host (one delivery per host), each fanned out `--runs` times from a freshly
started node. Each prints the median time from the POST to the last delivery recorded done
(the database's clock at both ends), and the node's RSS after that fan-out. Baselines of the same run: signing as many deliveries
on all cores alone, and the peer's CPU per request.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import asyncpg
from _postgres import drop_database, make_database
from delivery import free_port, signing_rate, with_sink

from commonsfed.config import Settings
from commonsfed.db.pool import create_pool
from commonsfed.federation.signing import cores
from commonsfed.services import oauth
from commonsfed.services.accounts import register

DOMAIN = "fanout.test"
ALICE = f"http://{DOMAIN}/users/alice"
LISTING = "#offer #give #tools\nA ladder, 3 m\nLent for a week, pick it up on Elm Street."


# --- The followers ------------------------------------------------------------------------------


async def load_followers(pool: asyncpg.Pool, followers: int, hosts: int) -> None:
    """`followers` remote actors on `hosts` hosts (h0.test ...), following alice."""
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute(
            """
            INSERT INTO remote_actors (uri, domain, type, preferred_username, inbox, key_id,
                                       public_key_pem, document)
            SELECT 'http://h' || n % $2 || '.test/users/u' || n, 'h' || n % $2 || '.test',
                   'Person', 'u' || n, 'http://h' || n % $2 || '.test/users/u' || n || '/inbox',
                   'http://h' || n % $2 || '.test/users/u' || n || '#main-key', 'unused', '{}'
            FROM generate_series(0, $1 - 1) AS n
            """,
            followers, hosts,
        )  # fmt: skip
        await conn.execute(
            """
            INSERT INTO follows (follower_uri, followed_uri, state, accepted_at)
            SELECT uri, $1, 'accepted', now() FROM remote_actors
            """,
            ALICE,
        )


async def give_shared_inboxes(pool: asyncpg.Pool) -> None:
    await pool.execute("UPDATE remote_actors SET shared_inbox = 'http://' || domain || '/inbox'")


async def alice_token(pool: asyncpg.Pool) -> str:
    app, _ = await oauth.register_app(pool, "bench", ["urn:ietf:wg:oauth:2.0:oob"], ["write"])
    account_id = await pool.fetchval("SELECT id FROM accounts WHERE username = 'alice'")
    async with pool.acquire() as conn:
        return await oauth.issue_token(conn, app.id, account_id, ["write"])


# --- The node -----------------------------------------------------------------------------------


class Node:
    """`commonsfed serve` in a process of its own."""

    def __init__(self, url: str, data_dir: Path, resolve: str) -> None:
        self.url, self.data_dir, self.resolve = url, data_dir, resolve
        self.port = free_port()
        self.process: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        self.process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "commonsfed", "serve", "--dev", "--domain", DOMAIN,
            "--port", str(self.port), "--database-url", self.url,
            "--data-dir", str(self.data_dir), "--resolve", self.resolve, "--no-access-log",
            "--log-level", "warning",
        )  # fmt: skip
        deadline = time.monotonic() + 60
        async with aiohttp.ClientSession() as session:
            while time.monotonic() < deadline:
                try:
                    async with session.get(f"{self.base}/nodeinfo/2.1") as response:
                        if response.status == 200:
                            return
                except aiohttp.ClientError:
                    pass
                await asyncio.sleep(0.2)
        raise SystemExit("the node did not start")

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def rss_mb(self) -> tuple[float, float]:
        """(RSS now, peak RSS) in MB, from /proc."""
        fields = dict(
            line.split(":", 1) for line in Path(f"/proc/{self.process.pid}/status").read_text()
            .splitlines() if ":" in line
        )  # fmt: skip
        return tuple(int(fields[name].split()[0]) / 1024 for name in ("VmRSS", "VmHWM"))

    def cpu_seconds(self) -> float:
        """The CPU time the node's process has used (all its threads), from /proc."""
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    async def stop(self) -> None:
        if self.process and self.process.returncode is None:
            self.process.terminate()
            await asyncio.wait_for(self.process.wait(), 60)


# --- One fan-out --------------------------------------------------------------------------------


async def fan_out(pool: asyncpg.Pool, node: Node, token: str) -> tuple[int, float, float]:
    """Post the listing; returns (deliveries, seconds to the last one done, seconds the POST
    took)."""
    started = await pool.fetchval("SELECT clock_timestamp()")
    clock = time.perf_counter()
    async with aiohttp.ClientSession() as session:
        async with session.post(
            f"{node.base}/api/v1/statuses", data={"status": LISTING, "visibility": "public"},
            headers={"Authorization": f"Bearer {token}", "Host": DOMAIN},
        ) as response:  # fmt: skip
            if response.status != 200:
                raise SystemExit(f"posting failed: {response.status} {await response.text()}")
    posted = time.perf_counter() - clock
    while True:
        row = await pool.fetchrow(
            """
            SELECT count(*) AS total, count(*) FILTER (WHERE state = 'pending') AS pending,
                   count(*) FILTER (WHERE state = 'failed') AS failed, max(finished_at) AS last
            FROM deliveries WHERE created_at >= $1
            """,
            started,
        )
        if row["total"] and not row["pending"]:
            break
        await asyncio.sleep(0.1)
    if row["failed"]:
        raise SystemExit(f"{row['failed']} deliveries failed")
    return row["total"], (row["last"] - started).total_seconds(), posted


@dataclass(frozen=True)
class Run:
    """One fan-out from a freshly started node."""

    count: int
    seconds: float  # from the POST to the last delivery done
    posted: float  # the POST itself
    received: int
    idle_mb: float
    rss_mb: float
    peak_mb: float
    node_cpu: float
    peer_cpu: float


async def one_run(pool: asyncpg.Pool, node: Node, token: str, peer) -> Run:
    await node.start()
    try:
        idle, _ = node.rss_mb()
        received, peer_cpu, node_cpu = peer.count.value, peer.cpu.value, node.cpu_seconds()
        count, seconds, posted = await fan_out(pool, node, token)
        rss, peak = node.rss_mb()
        node_cpu = node.cpu_seconds() - node_cpu
    finally:
        await node.stop()
    return Run(count, seconds, posted, peer.count.value - received, idle, rss, peak, node_cpu,
               peer.cpu.value - peer_cpu)  # fmt: skip


async def phase(name: str, pool: asyncpg.Pool, node: Node, token: str, peer, runs: int) -> None:
    """`runs` fan-outs, each from a freshly started node; the median one is printed (this
    machine's neighbours make single runs vary by a second)."""
    done = sorted([await one_run(pool, node, token, peer) for _ in range(runs)],
                  key=lambda run: run.seconds)  # fmt: skip
    run = done[len(done) // 2]
    each = ", ".join(f"{r.seconds:.2f}" for r in done)
    print(f"{name}:")
    print(f"  fan-out:   {run.count:,} deliveries done in {run.seconds:.2f} s from the POST, "
          f"the median of {runs} runs ({each} s) ({run.count / run.seconds:,.0f}/s; the POST "
          f"itself took {run.posted * 1000:.0f} ms), {run.received:,} received by the peers")  # fmt: skip
    print(f"  node RSS:  {run.rss_mb:.0f} MB after the fan-out (peak {run.peak_mb:.0f} MB, "
          f"{run.idle_mb:.0f} MB once started; largest of the runs "
          f"{max(r.rss_mb for r in done):.0f} MB)")  # fmt: skip
    print(f"  cpu:       {run.node_cpu / run.count * 1e6:.0f} us of the node's CPU a delivery "
          f"(its signing threads included), {run.peer_cpu / max(run.received, 1) * 1e6:.0f} us "
          f"of the peers' a request")  # fmt: skip
    signs = signing_rate(run.count, cores())
    print(f"  baseline:  signing {run.count:,} deliveries on all cores alone takes "
          f"{run.count / signs:.2f} s ({signs:,.0f}/s, {cores()} threads)")  # fmt: skip


# --- The run ------------------------------------------------------------------------------------


async def bench(server_url: str, sink_port: int, args: argparse.Namespace, peer) -> None:
    name, url = await make_database(server_url)
    data_dir = Path(tempfile.mkdtemp(prefix="bench-fanout-"))
    try:
        settings = Settings(domain=DOMAIN, database_url=url, dev=True, secret="x" * 40,
                            data_dir=data_dir)  # fmt: skip
        pool = await create_pool(url, max_size=4)
        try:
            await register(pool, settings, username="alice", email="a@example.org",
                           password="x" * 12, by_admin=True)  # fmt: skip
            await load_followers(pool, args.followers, args.hosts)
            token = await alice_token(pool)
            resolve = ",".join(f"h{n}.test=127.0.0.1:{sink_port}" for n in range(args.hosts))
            node = Node(url, data_dir, resolve)
            print(f"{args.followers:,} followers of alice on {args.hosts:,} hosts, "
                  f"{cores()} cores")  # fmt: skip
            await phase("without shared inboxes", pool, node, token, peer, args.runs)
            await give_shared_inboxes(pool)
            await phase("with shared inboxes", pool, node, token, peer, args.runs)
        finally:
            await pool.close()
    finally:
        await drop_database(server_url, name)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--followers", type=int, default=10_000)
    parser.add_argument("--hosts", type=int, default=2_000)
    parser.add_argument("--runs", type=int, default=3, help="fan-outs a phase (the median)")
    args = parser.parse_args()

    with_sink("bench-fanout-", lambda server_url, port, peer: bench(server_url, port, args, peer))


if __name__ == "__main__":
    main()
