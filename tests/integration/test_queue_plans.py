"""The workers' claims read the due rows by their index whatever the queue's length and
statistics: a backlog of 50,000 rows, analysed (or analysed while still empty), never makes
the planner sort the whole backlog to find the oldest few. EXPLAIN on a real PostgreSQL; no
timing.

The claims run inside a transaction that is rolled back: EXPLAIN ANALYZE is not used, so
nothing is claimed, and the plan is the one the worker's statement would get.
"""

from __future__ import annotations

from datetime import timedelta

import asyncpg
import orjson
import pytest

from commonsfed.db import deliveries, inbox

BACKLOG = 50_000
LEASE = timedelta(minutes=5)
PER_HOST = 16  # the delivery claim's other due rows of a host it claims


@pytest.fixture
async def conn(database_url):
    connection = await asyncpg.connect(database_url)
    yield connection
    await connection.close()


async def fill_inbox(conn, *, due: bool) -> None:
    """BACKLOG pending items: due now, or all waiting for a retry an hour from now."""
    await conn.execute(
        """
        INSERT INTO inbox_items (activity_id, actor_uri, activity, next_try_at)
        SELECT 'https://south.test/activities/' || n, 'https://south.test/users/bob',
               '{"type": "Like"}', now() + CASE WHEN $1 THEN -n * interval '1 ms'
                                               ELSE interval '1 hour' END
        FROM generate_series(1, $2) AS n
        """,
        due, BACKLOG,
    )  # fmt: skip


async def fill_deliveries(conn, *, due: bool) -> None:
    await conn.execute(
        "INSERT INTO activities (uri, actor_uri, type, document) VALUES ($1, $2, 'Create', $3)"
        " ON CONFLICT (uri) DO NOTHING",
        "https://north.test/activities/1", "https://north.test/users/alice",
        orjson.dumps({"type": "Create"}).decode(),
    )  # fmt: skip
    await conn.execute(
        """
        INSERT INTO deliveries (activity_uri, inbox, host, next_try_at)
        SELECT 'https://north.test/activities/1', 'https://h' || (n % 2000) || '.test/inbox/'
               || n, 'h' || (n % 2000) || '.test',
               now() + CASE WHEN $1 THEN -n * interval '1 ms' ELSE interval '1 hour' END
        FROM generate_series(1, $2) AS n
        """,
        due, BACKLOG,
    )  # fmt: skip


async def plan(conn, sql: str, *args) -> dict:
    return orjson.loads(await conn.fetchval(f"EXPLAIN (FORMAT JSON) {sql}", *args))[0]["Plan"]


async def function_plan(conn, name: str, params: dict[str, str], *args) -> dict:
    """The plan of the statement a SQL function runs, under the settings the function sets
    (`SET enable_sort = off` ...), with its named parameters given as `params` says."""
    source, config = await conn.fetchrow(
        "SELECT prosrc, proconfig FROM pg_proc WHERE proname = $1", name
    )
    for parameter, placeholder in params.items():
        source = source.replace(parameter, placeholder)
    async with conn.transaction():
        for setting in config or []:
            setting_name, value = setting.split("=", 1)
            await conn.execute(f"SET LOCAL {setting_name} = {value}")
        return await plan(conn, source, *args)


def nodes(node: dict):
    yield node
    for child in node.get("Plans", []):
        yield from nodes(child)


def sorts_of_the_backlog(node: dict) -> list[str]:
    """What would read the whole backlog: a sort (the due index gives the order, so a claim
    never needs one, whatever the planner estimates the pending rows to be) or a scan of
    the table."""
    return [
        f"{n['Node Type']} ({n.get('Relation Name') or n.get('Sort Key')})"
        for n in nodes(node)
        if n["Node Type"] in ("Sort", "Incremental Sort")
        or n["Node Type"] == "Seq Scan" and n.get("Relation Name") in ("inbox_items", "deliveries")
    ]


def index_scans(node: dict) -> set[str]:
    return {n.get("Index Name") for n in nodes(node) if "Index" in n["Node Type"]}


DELIVERY_CLAIM = deliveries.CLAIM_DUE

# statistics taken with the backlog, while the queue was empty, over a day of handled rows
# (which leave the pending ones rare), or never
CASES = [
    ("with the backlog", True), ("with the backlog", False),
    ("while empty", True), ("while empty", False),
    ("over a handled day", True), ("over a handled day", False),
    ("never", True), ("never", False),
]  # fmt: skip


async def backlog(conn, table: str, analysed: str, fill, *, handled: str, handled_fill) -> None:
    """`fill()` the backlog, with `table`'s statistics taken as `analysed` says: after it,
    before it (while empty, or over a day of rows `handled_fill()` made and `handled` marked
    finished), or never."""
    if analysed == "over a handled day":
        await handled_fill()
        await conn.execute(handled)
    if analysed in ("while empty", "over a handled day"):
        await conn.execute(f"ANALYZE {table}")
    await fill()
    if analysed == "with the backlog":
        await conn.execute(f"ANALYZE {table}")


@pytest.mark.parametrize(("analysed", "due"), CASES)
async def test_inbox_claim__reads_the_due_index_for_any_backlog(conn, analysed, due):
    # Given a backlog of 50,000 pending items, statistics taken before or after it came
    # (or over a day of handled items, which leave the pending ones rare in the statistics)
    await backlog(conn, "inbox_items", analysed, lambda: fill_inbox(conn, due=due),
                  handled="UPDATE inbox_items SET state = 'done', activity_id = 'd' || id",
                  handled_fill=lambda: fill_inbox(conn, due=True))  # fmt: skip

    # When the planner plans the worker's claim (the function its statement calls)
    assert "claim_inbox_items(" in inbox.CLAIM_ITEMS
    claim = await function_plan(
        conn,
        "claim_inbox_items",
        {"claim_lease": "$1::interval", "claim_limit": "$2::integer"},
        LEASE,
        64,
    )

    # Then it walks the due index and sorts nothing
    assert sorts_of_the_backlog(claim) == []
    assert "inbox_items_due_idx" in index_scans(claim)


@pytest.mark.parametrize(("analysed", "due"), CASES)
async def test_delivery_claim__reads_the_due_index_for_any_backlog(conn, analysed, due):
    await backlog(conn, "deliveries", analysed, lambda: fill_deliveries(conn, due=due),
                  handled="UPDATE deliveries SET state = 'done', inbox = inbox || '/done'",
                  handled_fill=lambda: fill_deliveries(conn, due=True))  # fmt: skip

    # (under the settings the worker's claim runs with)
    async with conn.transaction():
        await conn.execute(deliveries.CLAIM_SETTINGS)
        claim = await plan(conn, DELIVERY_CLAIM, 50, LEASE, PER_HOST)

    assert sorts_of_the_backlog(claim) == []
    assert "deliveries_due_idx" in index_scans(claim)
