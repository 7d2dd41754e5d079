"""The time to match one new listing against 100,000, beside `SELECT 1`, with the plans.

    .venv/bin/python bench/matching.py [--listings 100000] [--remote 2000] [--searches 1000]
                                       [--runs 50] [--machine]

PostgreSQL: TEST_DATABASE_URL when set, else an embedded one in a temporary folder (as the
tests do); `--machine` starts the machine's own PostgreSQL instead, which has pg_trgm where
the embedded one (pgserver) has not, so the titles' trigram part is measured too. Fills
`--listings` local listings with COPY (bench/listings_page.py's realistic words, kinds,
categories, states and points), `--remote` listings of two federated neighbourhoods and
`--searches` saved searches, runs ANALYZE, then for a few new listings (a request, an offer,
with and without a point) times `services.matching.on_new_listing` `--runs` times, each in
a transaction rolled back (so every run finds the same rows): what posting a listing pays
for its matches, saved searches and remote candidates included. Prints the median and p95
in milliseconds beside a bare `SELECT 1` round trip in the same run, how many matched, and
the plan of the local candidates' query. About 30 s.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import tempfile
import time
from pathlib import Path

import asyncpg
from _postgres import drop_database, make_database, postgres_server
from listings_page import listing_records, plan_summary, remote_document, summary, timed

from commonsfed.ap.activities import remote_object_from_ap
from commonsfed.config import Settings
from commonsfed.db import matching as matching_q
from commonsfed.db import objects
from commonsfed.db import search as search_q
from commonsfed.db.pool import create_pool
from commonsfed.services import matching
from commonsfed.services.accounts import register

PASSWORD = "x" * 12
CHUNK = 50_000
# new listings to match: (purpose, kind, category, title, point)
PROBES = [
    ("request", "give", "tools", "Looking for a drill", (52.37, 4.89)),
    ("offer", "lend", "tools", "Sturdy ladder to lend", None),
    ("request", "give", "transport", "Cargo bike wanted", (52.40, 4.95)),
    ("offer", "give", "food", "Fresh sourdough bread", (52.35, 4.85)),
    ("request", "service", "skills", "Guitar lessons for a beginner", None),
]
SEARCH_WORDS = ["drill", "ladder", "bike", "bread", "sofa", "lessons", "compost", "", "pram"]


class _Rollback(Exception):
    """Leaves a run's transaction without a trace."""


async def fill(pool: asyncpg.Pool, settings: Settings, args: argparse.Namespace) -> list[int]:
    rng = random.Random(7)
    authors = [
        (await register(pool, settings, username=f"r{n}", email=f"r{n}@e.org",
                        password=PASSWORD, by_admin=True)).id
        for n in range(20)
    ]  # fmt: skip
    started = time.perf_counter()
    async with pool.acquire() as conn:
        records = list(listing_records(args.listings, authors, rng))
        # one COPY a chunk: a statement's rows share now(), and so the millisecond of the
        # status ids 0024 gives them, which has room for 65,536
        for start in range(0, len(records), CHUNK):
            await search_q.copy_listings(conn, records[start : start + CHUNK])
        for n in range(args.remote):
            await objects.insert_remote_object(conn, remote_object_from_ap(remote_document(n, rng)))
        await conn.execute("DELETE FROM remote_match_queue")  # matched long ago, say
        for _ in range(args.searches):
            await matching_q.insert_search(conn, rng.choice(authors), {
                "words": rng.choice(SEARCH_WORDS), "purpose": rng.choice([None, "offer"]),
                "kinds": [], "categories": [], "latitude": 52.37, "longitude": 4.89, "km": 5.0,
            })  # fmt: skip
        probes = await _probes(conn, authors[0])
        await search_q.analyse(conn)
    print(f"filled:   {args.listings:,} listings, {args.remote:,} remote listings and "
          f"{args.searches:,} saved searches in {time.perf_counter() - started:.1f} s "
          f"(COPY, then ANALYZE)")  # fmt: skip
    return probes


async def _probes(conn: asyncpg.Connection, author: int) -> list[int]:
    from datetime import UTC, datetime

    now = datetime.now(UTC)
    rows = [
        (f"probe{n:05d}", author, purpose, kind, title, "New today.", category, "Elm Street",
         point[0] if point else None, point[1] if point else None, "open", now, now)
        for n, (purpose, kind, category, title, point) in enumerate(PROBES)
    ]  # fmt: skip
    await search_q.copy_listings(conn, rows)
    found = await conn.fetch("SELECT id FROM listings WHERE uid LIKE 'probe%' ORDER BY uid")
    return [row["id"] for row in found]


async def measure(pool: asyncpg.Pool, settings: Settings, probes: list[int], runs: int) -> None:
    for listing_id, (purpose, kind, category, title, point) in zip(probes, PROBES, strict=True):
        async with pool.acquire() as conn:

            async def match(conn=conn, listing_id=listing_id) -> None:
                try:
                    async with conn.transaction():
                        await matching.on_new_listing(conn, settings, listing_id)
                        raise _Rollback
                except _Rollback:
                    pass

            times = await timed(runs, match)
            counts = await _counts(conn, settings, listing_id)
            plan = await _plan(conn, listing_id)
        where = "with a point" if point else "no point"
        print(f"{purpose} {title!r} ({kind}, {category}, {where})")
        print(f"{'':4}on_new_listing {summary(times)}   ({counts})")
        print(f"{'':4}local: {plan}")


async def _counts(conn: asyncpg.Connection, settings: Settings, listing_id: int) -> str:
    try:
        async with conn.transaction():
            await matching.on_new_listing(conn, settings, listing_id)
            row = await conn.fetchrow(
                "SELECT count(*) FILTER (WHERE matched_id IS NOT NULL) AS local,"
                " count(*) FILTER (WHERE matched_uri IS NOT NULL) AS remote"
                " FROM listing_matches WHERE listing_id = $1",
                listing_id,
            )
            told = await conn.fetchval("SELECT count(*) FROM notifications")
            raise _Rollback
    except _Rollback:
        pass
    return f"{row['local']} local and {row['remote']} remote matches, {told} told"


async def _plan(conn: asyncpg.Connection, listing_id: int) -> str:
    new = await matching_q.listing_row(conn, listing_id)
    wanted = matching_q.Wanted(
        purpose=matching.other_side(new["purpose"]), kind=new["kind"], category=new["category"],
        words=matching.words_query(new["title"]), title=new["title"], latitude=new["latitude"],
        longitude=new["longitude"], km=Settings.match_km, not_author_id=new["author_id"],
        trigrams=await matching_q.has_trigrams(conn),
    )  # fmt: skip
    sql, args = matching_q.local_query(wanted, matching.SHOWN)
    return plan_summary(await search_q.explain(conn, sql, args))


async def baseline(pool: asyncpg.Pool, runs: int) -> None:
    async def select_one() -> None:
        async with pool.acquire() as conn:
            await conn.fetchval("SELECT 1")

    print(f"{'baseline: SELECT 1':24} {summary(await timed(runs, select_one))}")


async def bench(server_url: str, folder: Path, args: argparse.Namespace) -> None:
    name, url = await make_database(server_url)
    settings = Settings(domain="bench.test", database_url=url, dev=True, secret="x" * 40,
                        data_dir=folder / "data", run_worker=False,
                        instance_name="Bench Street")  # fmt: skip
    try:
        pool = await create_pool(url, max_size=4)
        try:
            probes = await fill(pool, settings, args)
            async with pool.acquire() as conn:
                trigrams = await matching_q.has_trigrams(conn)
            print(f"pg_trgm:  {'installed' if trigrams else 'not available: words alone'}")
            await baseline(pool, args.runs)
            await measure(pool, settings, probes, args.runs)
        finally:
            await pool.close()
    finally:
        await drop_database(server_url, name)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--listings", type=int, default=100_000)
    parser.add_argument("--remote", type=int, default=2_000)
    parser.add_argument("--searches", type=int, default=1_000)
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument(
        "--machine",
        action="store_true",
        help="the machine's PostgreSQL (with pg_trgm), not the embedded one",
    )
    args = parser.parse_args()
    with (
        postgres_server("commonsfed-bench-", machine=args.machine) as (server_url, _),
        tempfile.TemporaryDirectory(prefix="commonsfed-bench-data-") as folder,
    ):
        asyncio.run(bench(server_url, Path(folder), args))


if __name__ == "__main__":
    main()
