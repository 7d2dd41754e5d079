"""The neighbourhood page's server time at 100,000 listings, query by query, with its plans.

    .venv/bin/python bench/listings_page.py [--listings 100000] [--remote 2000] [--runs 50]

PostgreSQL: TEST_DATABASE_URL when set, else an embedded one in a temporary folder (as the
tests do). Fills `--listings` local listings with COPY (titles, descriptions, categories,
kinds and places drawn from realistic word lists; about 10% closed; 60% with coordinates)
and `--remote` listings from two federated neighbourhoods, runs ANALYZE, then times each
page `--runs` times two ways: the service call alone (`services.search.find`, what the
queries cost) and the whole GET through the aiohttp app in process (handler, template,
middlewares), and prints the median and p95 in milliseconds, a baseline of the same kind
(a bare `SELECT 1` round trip; the page on an empty table), and the plan of each query.
Then a few pages again for a logged-in resident who mutes two of the twenty authors (a
tenth of the listings) and a remote author and hides a domain: the service call reads
their lists too, and the page goes through a real login.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import secrets
import statistics
import tempfile
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
from _postgres import drop_database, make_database, postgres_server
from aiohttp.test_utils import TestClient, TestServer

from commonsfed.ap.activities import remote_object_from_ap
from commonsfed.app import create_app
from commonsfed.config import Settings
from commonsfed.db import accounts as accounts_q
from commonsfed.db import blocks as blocks_q
from commonsfed.db import objects
from commonsfed.db import search as search_q
from commonsfed.db.pool import create_pool
from commonsfed.services import search
from commonsfed.services.accounts import register
from commonsfed.web.sessions import CSRF_FIELD

CATEGORIES = {
    "food": ["apples", "sourdough bread", "rhubarb jam", "courgettes", "soup", "eggs"],
    "tools": ["drill", "ladder", "hedge trimmer", "sander", "socket set", "wheelbarrow"],
    "books": ["novels", "children's books", "cookbook", "board game", "records", "DVDs"],
    "clothes": ["winter coat", "baby clothes", "boots", "wool jumper", "raincoat"],
    "household": ["sofa", "bookshelf", "kettle", "curtains", "dining chairs", "lamp"],
    "children": ["pram", "cot", "toys", "car seat", "bicycle with stabilisers"],
    "electronics": ["laptop", "monitor", "phone charger", "radio", "printer"],
    "garden": ["tomato seedlings", "compost", "lawnmower", "plant pots", "seeds"],
    "transport": ["cargo bike", "bicycle pump", "roof box", "trailer"],
    "housing": ["spare room", "sofa bed", "storage space", "garage"],
    "skills": ["Dutch lessons", "bike repair", "tax forms help", "guitar lessons", "sewing"],
    "space": ["workshop bench", "meeting room", "kitchen for baking", "garden plot"],
}
KINDS = ["give"] * 5 + ["lend"] * 3 + ["swap", "service", "service", "ride", "stay",
         "group_purchase", "pay_it_forward", "shared"]  # fmt: skip
ADJECTIVES = ["spare", "old but working", "nearly new", "home-made", "fresh", "sturdy",
              "unused", "well-loved", "big", "small"]  # fmt: skip
STREETS = ["Elm Street", "Oak Lane", "Church Road", "Station Square", "Mill Lane", "Park Avenue",
           "Canal Side", "Market Place", "Willow Close", "High Street", "Rue des Lilas",
           "Linden Row"]  # fmt: skip
SENTENCES = [
    "Pick up any evening after six.", "Can bring it round if you are close by.",
    "Works fine, a few scratches.", "Ring the bell at the side door.",
    "I would love some help in return, but no pressure.", "Happy to show you how it works.",
    "Available most weekends.", "First come, first served.",
    "Please bring a bag.", "Message me and we will find a time.",
]  # fmt: skip
STATES = ["open"] * 81 + ["reserved"] * 9 + ["completed"] * 5 + ["withdrawn"] * 3 + ["expired"] * 2

CASES = {
    "default page": {},
    "category": {"category": "tools"},
    "words": {"q": "ladder"},
    "words (rare)": {"q": "wheelbarrow sturdy"},
    "near a place": {"near": "willow close"},
    "near coordinates": {"lat": "52.37", "lon": "4.89", "km": "2"},
    "combined": {"purpose": "offer", "kind": "lend", "category": "tools", "q": "drill"},
    "everywhere": {"where": "everywhere"},
    "everywhere + category": {"where": "everywhere", "category": "garden"},
}


MUTED_CASES = ("default page", "category", "everywhere", "everywhere + category")
PASSWORD = "x" * 12


# --- the data ----------------------------------------------------------------------------------


def listing_records(count: int, authors: list[int], rng: random.Random):
    """COPY tuples, oldest first (so ids follow created_at), over the last two years."""
    start = datetime.now(UTC) - timedelta(days=730)
    step = timedelta(days=730) / count
    for n in range(count):
        category = rng.choice(list(CATEGORIES))
        thing = rng.choice(CATEGORIES[category])
        purpose = "request" if rng.random() < 0.3 else "offer"
        title = f"{rng.choice(ADJECTIVES).capitalize()} {thing}"
        if purpose == "request":
            title = f"Looking for {thing}"
        description = " ".join(rng.sample(SENTENCES, 3)) + f" About the {thing}: ask me."
        place = f"{rng.choice(STREETS)} {rng.randint(1, 200)}"
        has_point = rng.random() < 0.6
        latitude = round(52.30 + rng.random() * 0.15, 2) if has_point else None
        longitude = round(4.80 + rng.random() * 0.20, 2) if has_point else None
        at = start + step * n
        yield (secrets.token_urlsafe(8), rng.choice(authors), purpose, rng.choice(KINDS), title,
               description, category, place, latitude, longitude, rng.choice(STATES), at, at)  # fmt: skip


def remote_document(n: int, rng: random.Random) -> dict:
    host = rng.choice(["south.test", "east.test"])
    category = rng.choice(list(CATEGORIES))
    thing = rng.choice(CATEGORIES[category])
    uri = f"https://{host}/listings/r{n:06d}"
    published = datetime.now(UTC) - timedelta(days=365 * rng.random())
    return {
        "id": uri, "type": "Note", "attributedTo": f"https://{host}/users/u{n % 40}",
        "url": uri, "name": f"{rng.choice(ADJECTIVES).capitalize()} {thing}",
        "content": f"<p>{' '.join(rng.sample(SENTENCES, 2))}</p>",
        "published": published.isoformat(), "purpose": rng.choice(["offer", "request"]),
        "publishes": {"id": uri + "#primary", "type": "Intent", "action": "transfer",
                      "resourceQuantity": {"hasUnit": "one", "hasNumericalValue": "1"}},
        "tag": [{"type": "Hashtag", "name": f"#{category}"}],
        "location": {"type": "Place", "name": rng.choice(STREETS)},
    }  # fmt: skip


async def fill(pool: asyncpg.Pool, settings: Settings, args: argparse.Namespace) -> None:
    rng = random.Random(5)
    authors = [
        (await register(pool, settings, username=f"r{n}", email=f"r{n}@e.org",
                        password=PASSWORD, by_admin=True)).id
        for n in range(20)
    ]  # fmt: skip
    started = time.perf_counter()
    async with pool.acquire() as conn:
        await search_q.copy_listings(conn, listing_records(args.listings, authors, rng))
        for n in range(args.remote):
            await objects.insert_remote_object(conn, remote_object_from_ap(remote_document(n, rng)))
        await search_q.analyse(conn)
    print(f"filled:   {args.listings:,} listings and {args.remote:,} remote listings "
          f"in {time.perf_counter() - started:.1f} s (COPY, then ANALYZE)")  # fmt: skip


# --- the measures ------------------------------------------------------------------------------


def summary(times: list[float]) -> str:
    times = sorted(times)
    p95 = times[min(len(times) - 1, round(len(times) * 0.95) - 1)]
    return f"median {statistics.median(times) * 1000:6.2f} ms   p95 {p95 * 1000:6.2f} ms"


async def timed(runs: int, call) -> list[float]:
    await call()  # warm: the first run plans and fills caches
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        await call()
        times.append(time.perf_counter() - start)
    return times


def plan_summary(lines: list[str]) -> str:
    """The scan nodes of a plan (index used or not) and its execution time."""
    nodes = []
    for line in lines:
        text = line.strip().removeprefix("->").strip()
        if any(word in text for word in ("Scan", "Seq Scan")) and " on " in text:
            nodes.append(text.split("  ")[0])
    executed = next((line.strip() for line in lines if line.startswith("Execution Time")), "")
    return "; ".join(dict.fromkeys(nodes)) + f"  [{executed}]"


async def explain_case(pool: asyncpg.Pool, found: search.Search) -> list[str]:
    plans = []
    async with pool.acquire() as conn:
        sql, args = search_q.local_query(found.filter, found.cursor, search.PAGE_SIZE + 1)
        plans.append("local:  " + plan_summary(await search_q.explain(conn, sql, args)))
        if found.everywhere:
            sql, args = search_q.remote_query(found.filter, found.cursor, search.PAGE_SIZE + 1)
            plans.append("remote: " + plan_summary(await search_q.explain(conn, sql, args)))
    return plans


async def measure(pool, client: TestClient, categories: set[str], runs: int, deep: str) -> None:
    cases = {**CASES, "deep page (80% in)": {"after": deep}}
    for name, query in cases.items():
        found = search.read_search(query, categories)
        assert not found.errors, found.errors
        service = await timed(runs, lambda found=found: search.find(pool, found))
        path = "/explore?" + "&".join(f"{k}={v}" for k, v in query.items())

        async def page(path=path) -> None:
            response = await client.get(path)
            assert response.status == 200
            await response.read()

        whole = await timed(runs, page)
        shown = len((await search.find(pool, found)).cards)
        print(f"{name:24} service {summary(service)}   page {summary(whole)}   ({shown} shown)")
        for plan in await explain_case(pool, found):
            print(f"{'':26}{plan}")


async def mute_some(pool: asyncpg.Pool) -> int:
    """r0 mutes r1 and r2, one author of south.test, and hides east.test; returns r0's id."""
    async with pool.acquire() as conn:
        viewer = await accounts_q.get_by_username(conn, "r0")
        for name in ("r1", "r2"):
            other = await accounts_q.get_by_username(conn, name)
            await blocks_q.upsert_blocked(conn, viewer.id, "mute", target_account_id=other.id)
        await blocks_q.upsert_blocked(conn, viewer.id, "mute",
                                      target_actor_uri="https://south.test/users/u3")  # fmt: skip
        await blocks_q.hide_domain(conn, viewer.id, "east.test")
    return viewer.id


async def log_in(client: TestClient, username: str) -> None:
    page = await (await client.get("/login")).text()
    token = page.split(f'name="{CSRF_FIELD}" value="', 1)[1].split('"', 1)[0]
    data = {CSRF_FIELD: token, "username": username, "password": PASSWORD}
    response = await client.post("/login", data=data, allow_redirects=False)
    assert response.status == 303, await response.text()


async def measure_muted(pool, client: TestClient, categories: set[str], runs: int) -> None:
    viewer_id = await mute_some(pool)
    await log_in(client, "r0")
    for name in MUTED_CASES:
        query = CASES[name]
        found = search.read_search(query, categories)

        async def service(found=found) -> None:
            async with pool.acquire() as conn:
                hidden = await blocks_q.hidden_for(conn, viewer_id)
            await search.find(pool, search.leaving_out(found, hidden))

        path = "/explore?" + "&".join(f"{k}={v}" for k, v in query.items())

        async def page(path=path) -> None:
            response = await client.get(path)
            assert response.status == 200
            await response.read()

        times, whole = await timed(runs, service), await timed(runs, page)
        async with pool.acquire() as conn:
            muted = search.leaving_out(found, await blocks_q.hidden_for(conn, viewer_id))
        shown = len((await search.find(pool, muted)).cards)
        print(f"{'muting: ' + name:24} service {summary(times)}   page {summary(whole)}"
              f"   ({shown} shown)")  # fmt: skip
        for plan in await explain_case(pool, muted):
            print(f"{'':26}{plan}")


async def deep_cursor(pool: asyncpg.Pool, count: int) -> str:
    """A cursor 80% of the way down (ids follow created_at, as `listing_records` made them):
    with keyset, page 4,000 costs what page 1 does."""
    found = search.read_search({}, set())
    page = await search.find(pool, found, limit=1)
    cursor = search.decode_cursor(page.next_cursor)
    back = int(count * 0.8)
    at = cursor.at - timedelta(days=730) * back / count
    return search.encode_cursor(replace(cursor, at=at, local_id=cursor.local_id - back))


async def baseline(pool: asyncpg.Pool, client: TestClient, runs: int) -> None:
    async def select_one() -> None:
        async with pool.acquire() as conn:
            await conn.fetchval("SELECT 1")

    async def empty_page() -> None:
        await (await client.get("/explore")).read()

    print(f"{'baseline: SELECT 1':24} {summary(await timed(runs, select_one))}")
    print(f"{'baseline: empty table':24} page    {summary(await timed(runs, empty_page))}")


# --- the run -----------------------------------------------------------------------------------


async def bench(server_url: str, folder: Path, args: argparse.Namespace) -> None:
    name, url = await make_database(server_url)
    settings = Settings(domain="bench.test", database_url=url, dev=True, secret="x" * 40,
                        data_dir=folder / "data", run_worker=False,
                        instance_name="Bench Street")  # fmt: skip
    try:
        pool = await create_pool(url, max_size=4)
        client = TestClient(TestServer(create_app(settings)))
        await client.start_server()
        try:
            await baseline(pool, client, args.runs)
            await fill(pool, settings, args)
            categories = set(CATEGORIES)
            deep = await deep_cursor(pool, args.listings)
            await measure(pool, client, categories, args.runs, deep)
            await measure_muted(pool, client, categories, args.runs)
        finally:
            await client.close()
            await pool.close()
    finally:
        await drop_database(server_url, name)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--listings", type=int, default=100_000)
    parser.add_argument("--remote", type=int, default=2_000)
    parser.add_argument("--runs", type=int, default=50)
    args = parser.parse_args()
    started = time.perf_counter()
    with postgres_server("bench-listings-") as (server_url, _), \
            tempfile.TemporaryDirectory(prefix="bench-listings-data-") as folder:
        asyncio.run(bench(server_url, Path(folder), args))
    print(f"total:    {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
