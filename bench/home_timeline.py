"""The client API's home timeline at 100,000 listings, for a resident following 1,000 people.

    .venv/bin/python bench/home_timeline.py [--listings 100000] [--follows 1000] [--runs 50]

PostgreSQL: TEST_DATABASE_URL when set, else an embedded one in a temporary folder (as the
tests do). Makes 1,500 residents and 1,000 people on two other nodes (COPY, no password
hashing), and `--listings` listings over the last two years, 70% by residents and 30% from
the other nodes (COPY, status ids by time as the node gives them); the resident `me`
follows `--follows` of them, half residents and half remote people, so about 40% of all
listings are in their home timeline. Then ANALYZE, and each page `--runs` times through the
real HTTP endpoint (`GET /api/v1/timelines/home` with a bearer token, on loopback): the
first page, the next one by its Link header, a deep page (max_id 80% of the way down), a
min_id page and a page of 40; and beside them, measured in the same run, a bare `SELECT 1`
round trip and the public timeline's first page. Prints the median and p95 in
milliseconds, this process's CPU time a page (the node and the client both: it depends less
on the machine's load than wall-clock time), the statuses each page held, and the plan of
each page's query.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import secrets
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import orjson
from _postgres import drop_database, make_database, postgres_server
from aiohttp.test_utils import TestClient, TestServer

from commonsfed.app import create_app
from commonsfed.config import Settings
from commonsfed.db import timelines as timelines_q
from commonsfed.db.pool import create_pool
from commonsfed.models import Account
from commonsfed.services import oauth, timelines
from commonsfed.services.timelines import Bounds

DOMAIN = "bench.test"
BASE = f"http://{DOMAIN}"
OTHER_NODES = ("south.test", "east.test")
RESIDENTS = 1_500
REMOTE_PEOPLE = 1_000
THINGS = {
    "tools": ["drill", "ladder", "hedge trimmer", "sander", "socket set", "wheelbarrow"],
    "food": ["apples", "sourdough bread", "rhubarb jam", "courgettes", "soup", "eggs"],
    "books": ["novels", "children's books", "cookbook", "board game", "records"],
    "garden": ["tomato seedlings", "compost", "lawnmower", "plant pots", "seeds"],
    "household": ["sofa", "bookshelf", "kettle", "curtains", "dining chairs", "lamp"],
}
KINDS = ["give"] * 5 + ["lend"] * 3 + ["swap", "service", "ride", "shared"]


def status_id(at: datetime, n: int) -> int:
    """As migration 0024 makes them: the moment's milliseconds, a sequence's 16 bits."""
    return (int(at.timestamp() * 1000) << 16) | (n & 0xFFFF)


# --- the data ----------------------------------------------------------------------------------


def resident_rows(count: int) -> Iterator[tuple]:
    for n in range(count):
        yield (f"r{n}", f"r{n}@bench.test", "not-a-hash", "active", f"Resident {n}")


def remote_actor_uri(n: int) -> str:
    return f"https://{OTHER_NODES[n % 2]}/users/p{n}"


def remote_actor_rows(count: int) -> Iterator[tuple]:
    for n in range(count):
        uri, host = remote_actor_uri(n), OTHER_NODES[n % 2]
        document = {"id": uri, "type": "Person", "preferredUsername": f"p{n}", "url": uri}
        yield (uri, host, "Person", f"p{n}", f"Person {n}", uri + "/inbox", uri + "#main-key",
               "-----BEGIN PUBLIC KEY-----", orjson.dumps(document).decode())  # fmt: skip


def listing_rows(
    count: int, authors: list[int], people: int, rng: random.Random
) -> Iterator[tuple]:
    """Local listings (70% of `count`) and remote ones (30%), interleaved in time."""
    start = datetime.now(UTC) - timedelta(days=730)
    step = timedelta(days=730) / count
    for n in range(count):
        at = start + step * n
        category = rng.choice(list(THINGS))
        title = f"Spare {rng.choice(THINGS[category])}"
        if rng.random() < 0.7:
            yield "local", (secrets.token_urlsafe(8), rng.choice(authors), "offer",
                            rng.choice(KINDS), title, "Pick up any evening.", category,
                            "Elm Street", "open", at, at, status_id(at, n))  # fmt: skip
        else:
            author = rng.randrange(people)
            yield "remote", remote_listing(n, author, title, category, at)


def remote_listing(n: int, author: int, title: str, category: str, at: datetime) -> tuple:
    actor, host = remote_actor_uri(author), OTHER_NODES[author % 2]
    uri = f"https://{host}/listings/l{n:07d}"
    document = {
        "id": uri, "type": "Note", "attributedTo": actor, "url": uri, "name": title,
        "content": f"<p><strong>{title}</strong></p><p>Pick up any evening.</p>",
        "published": at.isoformat(), "purpose": "offer", "to": ["https://www.w3.org/ns/activitystreams#Public"],
        "publishes": {"id": uri + "#primary", "type": "Intent", "action": "transfer"},
        "tag": [{"type": "Hashtag", "name": f"#{category}"}],
    }  # fmt: skip
    return (uri, "Note", actor, host, True, orjson.dumps(document).decode(), at, at,
            status_id(at, n))  # fmt: skip


async def fill(conn: asyncpg.Connection, args: argparse.Namespace) -> tuple[int, list[int]]:
    """Everything, by COPY; returns the resident `me`'s id and every status id, oldest first."""
    rng = random.Random(12)
    residents, people = (
        getattr(args, "residents", RESIDENTS),
        getattr(args, "people", REMOTE_PEOPLE),
    )
    await timelines_q.copy_rows(conn, "accounts", ACCOUNT_COLUMNS, resident_rows(residents))
    await timelines_q.copy_rows(conn, "remote_actors", ACTOR_COLUMNS, remote_actor_rows(people))
    ids = [row["id"] for row in await conn.fetch("SELECT id FROM accounts ORDER BY id")]
    me, authors = ids[0], ids[1:]
    rows = list(listing_rows(args.listings, authors, people, rng))
    await timelines_q.copy_rows(conn, "listings", LISTING_COLUMNS,
                                (row for side, row in rows if side == "local"))  # fmt: skip
    await timelines_q.copy_rows(conn, "remote_objects", REMOTE_COLUMNS,
                                (row for side, row in rows if side == "remote"))  # fmt: skip
    half = args.follows // 2
    followed = [f"{BASE}/users/r{n}" for n in rng.sample(range(1, residents), half)]
    followed += [remote_actor_uri(n) for n in rng.sample(range(people), args.follows - half)]
    follows = ((f"{BASE}/users/r0", uri, "accepted") for uri in followed)
    await timelines_q.copy_rows(conn, "follows", FOLLOW_COLUMNS, follows)
    # as autovacuum leaves a live node's tables: statistics, and the visibility map that
    # lets counts and id lists come from the indexes alone
    await conn.execute("VACUUM ANALYZE")
    return me, [row[-1] for _, row in rows]


ACCOUNT_COLUMNS = ("username", "email", "password_hash", "status", "display_name")
ACTOR_COLUMNS = ("uri", "domain", "type", "preferred_username", "name", "inbox", "key_id",
                 "public_key_pem", "document")  # fmt: skip
LISTING_COLUMNS = ("uid", "author_id", "purpose", "kind", "title", "description", "category",
                   "place", "state", "created_at", "updated_at", "status_id")  # fmt: skip
REMOTE_COLUMNS = ("uri", "type", "attributed_to", "domain", "is_listing", "document",
                  "published_at", "received_at", "status_id")  # fmt: skip
FOLLOW_COLUMNS = ("follower_uri", "followed_uri", "state")


# --- the measures ------------------------------------------------------------------------------


def summary(times: list[float]) -> str:
    times = sorted(times)
    p95 = times[min(len(times) - 1, round(len(times) * 0.95) - 1)]
    return f"median {statistics.median(times) * 1000:6.2f} ms   p95 {p95 * 1000:6.2f} ms"


async def timed(runs: int, call: Callable[[], Awaitable[object]]) -> list[float]:
    await call()  # warm: the first run plans and fills caches
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        await call()
        times.append(time.perf_counter() - start)
    return times


def plan_summary(lines: list[str]) -> str:
    """The scan nodes of a plan (which index, how many rows) and its execution time."""
    nodes = []
    for line in lines:
        text = line.strip().removeprefix("->").strip()
        if "Scan" in text and " on " in text:
            nodes.append(text.split("  ")[0])
        if text.startswith("Sort") and "Key" not in text:
            nodes.append(text)
    executed = next((line.strip() for line in lines if line.startswith("Execution Time")), "")
    return "; ".join(nodes) + f"  [{executed}]"


async def page_plan(pool, settings, viewer: Account, timeline, bounds: Bounds) -> str:
    async with pool.acquire() as conn:
        found = await timelines.sources(conn, settings, timeline, viewer)
        sql, args = timelines_q.page_query(found, bounds)
        return plan_summary(await timelines_q.explain(conn, sql, args))


async def measure(pool, client, settings, viewer, token, ids, runs) -> None:
    headers = {"Authorization": f"Bearer {token}"}
    deep = ids[int(len(ids) * 0.2)]  # 80% of the way down from the newest
    first = await client.get("/api/v1/timelines/home", headers=headers)
    second = first.links["next"]["url"]
    cases = {
        "home: first page": ("/api/v1/timelines/home", {}, Bounds(None, None, 20)),
        "home: next (Link)": (second.path, dict(second.query), Bounds(int(second.query["max_id"]), None, 20)),
        "home: deep (max_id)": ("/api/v1/timelines/home", {"max_id": str(deep)}, Bounds(deep, None, 20)),
        "home: min_id": ("/api/v1/timelines/home", {"min_id": str(deep)}, Bounds(None, deep, 20, True)),
        "home: limit 40": ("/api/v1/timelines/home", {"limit": "40"}, Bounds(None, None, 40)),
        "public: first page": ("/api/v1/timelines/public", {}, Bounds(None, None, 20)),
    }  # fmt: skip
    for name, (path, query, bounds) in cases.items():

        async def page(path=path, query=query) -> int:
            response = await client.get(path, params=query, headers=headers)
            assert response.status == 200, await response.text()
            return len(await response.json())

        cpu = time.process_time()
        times = await timed(runs, page)
        cpu = (time.process_time() - cpu) / (runs + 1) * 1000
        shown = await page()
        timeline = timelines.HOME if name.startswith("home") else timelines.public()
        print(f"{name:22} HTTP {summary(times)}   CPU {cpu:5.2f} ms   ({shown} statuses)")
        print(f"{'':24}{await page_plan(pool, settings, viewer, timeline, bounds)}")


async def baseline(pool: asyncpg.Pool, runs: int) -> None:
    async def select_one() -> None:
        async with pool.acquire() as conn:
            await conn.fetchval("SELECT 1")

    print(f"{'baseline: SELECT 1':22}      {summary(await timed(runs, select_one))}")


# --- the run -----------------------------------------------------------------------------------


async def bench(server_url: str, folder: Path, args: argparse.Namespace) -> None:
    name, url = await make_database(server_url)
    # no rate limit: the bench asks for pages as fast as it can, which is what it measures
    settings = Settings(domain=DOMAIN, database_url=url, dev=True, secret="x" * 40,
                        data_dir=folder / "data", run_worker=False,
                        instance_name="Bench Street", api_rate_limit=10**9)  # fmt: skip
    try:
        pool = await create_pool(url, max_size=4)
        client = TestClient(TestServer(create_app(settings)))
        await client.start_server()
        try:
            started = time.perf_counter()
            async with pool.acquire() as conn:
                me, ids = await fill(conn, args)
            print(f"filled:   {args.listings:,} listings, {args.follows:,} follows "
                  f"in {time.perf_counter() - started:.1f} s (COPY, then VACUUM ANALYZE)")  # fmt: skip
            app, _ = await oauth.register_app(
                pool, "bench", ["urn:ietf:wg:oauth:2.0:oob"], ["read"]
            )
            async with pool.acquire() as conn:
                token = await oauth.issue_token(conn, app.id, me, ["read"])
            viewer = (await oauth.client_of(pool, token)).account
            await baseline(pool, args.runs)
            await measure(pool, client, settings, viewer, token, ids, args.runs)
            await baseline(pool, args.runs)
        finally:
            await client.close()
            await pool.close()
    finally:
        await drop_database(server_url, name)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--listings", type=int, default=100_000)
    parser.add_argument("--follows", type=int, default=1_000)
    parser.add_argument("--runs", type=int, default=50)
    args = parser.parse_args()
    started = time.perf_counter()
    with (
        postgres_server("bench-home-") as (server_url, _),
        tempfile.TemporaryDirectory(prefix="bench-home-data-") as folder,
    ):
        asyncio.run(bench(server_url, Path(folder), args))
    print(f"total:    {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
