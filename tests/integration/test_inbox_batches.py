"""The inbox worker handles a batch at a time: one claim, set-based reads, the writes of a
wave in one transaction, the outcomes in one statement; items that depend on each other
still in order; a failure that stays its own item's. Real PostgreSQL, the real handler
table (and, for a write that fails, a handler of the test's own beside it), driven by
tick().

Round trips are counted with asyncpg's query logger on the worker's pool.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

import asyncpg
import orjson
import pytest

from commonsfed.db import inbox as q
from commonsfed.db.pool import create_pool
from commonsfed.federation.context import open_federation
from commonsfed.federation.handlers import HANDLERS, Handler
from commonsfed.federation.inbox_batch import Footprint, Job, footprint, waves
from commonsfed.federation.inbox_worker import InboxWorker

AS = "https://www.w3.org/ns/activitystreams"
PUBLIC = AS + "#Public"
ALICE = "http://south.test/users/alice"
BOB = "http://south.test/users/bob"


def note(uri: str, content: str, author: str = ALICE) -> dict:
    return {
        "id": uri, "type": "Note", "attributedTo": author, "content": f"<p>{content}</p>",
        "to": [PUBLIC], "cc": [author + "/followers"], "published": "2026-12-01T10:00:00Z",
    }  # fmt: skip


def create(obj: dict, kind: str = "Create") -> dict:
    author = obj["attributedTo"]
    return {
        "@context": AS, "id": f"{author}/activities/{uuid.uuid4()}", "type": kind,
        "actor": author, "to": [PUBLIC], "object": obj,
    }  # fmt: skip


async def queue(pool, *activities: dict) -> None:
    async with pool.acquire() as conn:
        for activity in activities:
            stored = await q.insert_item(
                conn, activity["id"], activity["actor"], orjson.dumps(activity).decode()
            )
            assert stored == "stored"


async def states(pool, activities) -> list[tuple[str, str | None]]:
    async with pool.acquire() as conn:
        return [
            tuple(await conn.fetchrow(
                "SELECT state, error FROM inbox_items WHERE activity_id = $1", a["id"]
            ))
            for a in activities
        ]  # fmt: skip


# asyncpg's own: the reset a stock pool sends at each release (the node's pool resets only
# when needed, see db.pool), and the look-up of types a connection has not met yet
_ASYNCPG = ("pg_advisory_unlock_all()", "typeinfo_tree", "current_setting('jit')",
            "set_config('jit'")  # fmt: skip


class Queries:
    """Every statement the worker's pool sends (asyncpg's query logger) but asyncpg's own."""

    def __init__(self) -> None:
        self.sent: list[str] = []

    async def init(self, conn: asyncpg.Connection) -> None:
        conn.add_query_logger(self._log)

    def _log(self, record) -> None:
        if not any(mark in record.query for mark in _ASYNCPG):
            self.sent.append(record.query.strip())

    def count(self, start: str) -> int:
        return sum(1 for query in self.sent if query.upper().startswith(start))


@pytest.fixture
async def pool(settings):
    pool = await create_pool(settings.database_url)
    yield pool
    await pool.close()


async def test_tick__a_batch_of_creates_in_one_claim_one_transaction_and_one_finish(
    settings, pool
):
    # Given twenty Creates of notes waiting in the inbox
    creates = [create(note(f"{ALICE}/notes/{n}", f"note {n}")) for n in range(20)]
    await queue(pool, *creates)
    queries = Queries()
    counted = await asyncpg.create_pool(settings.database_url, init=queries.init)
    try:
        async with open_federation(settings, counted) as fed:
            queries.sent.clear()  # what opening the federation read

            # When the worker ticks once
            assert await InboxWorker(fed).tick() is True
    finally:
        await counted.close()

    # Then every note is kept and every item done
    assert await states(pool, creates) == [("done", None)] * 20
    async with pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM remote_objects") == 20
    # in one claim, one transaction for the writes and one statement for the outcomes:
    # a round trip a note and a few for the batch (one at a time, some eight a note)
    assert queries.count("SELECT * FROM CLAIM_INBOX_ITEMS") == 1
    assert queries.count("BEGIN") == 1
    assert queries.count("UPDATE INBOX_ITEMS AS ITEM") == 1
    assert len(queries.sent) <= 20 + 8, "\n".join(query[:60] for query in queries.sent)


async def test_tick__an_update_and_a_delete_after_their_create_in_one_batch_see_it(
    settings, pool
):
    # Given, in one batch, a note's Create, then its Update, and another note's Create,
    # then its Delete
    first = note(f"{ALICE}/notes/first", "first version")
    second = note(f"{ALICE}/notes/second", "soon gone")
    activities = [
        create(first),
        create({**first, "content": "<p>second version</p>"}, "Update"),
        create(second),
        {**create(second, "Delete"), "object": second["id"]},
    ]
    await queue(pool, *activities)

    # When the worker ticks once
    async with open_federation(settings, pool) as fed:
        await InboxWorker(fed).tick()

    # Then each saw what the one before it wrote: the update is kept, the deleted one gone
    assert [state for state, _ in await states(pool, activities)] == ["done"] * 4
    async with pool.acquire() as conn:
        kept = await conn.fetch("SELECT uri, document->>'content' AS content FROM remote_objects")
        tombstones = await conn.fetch("SELECT uri FROM tombstones")
    assert [(r["uri"], r["content"]) for r in kept] == [(first["id"], "<p>second version</p>")]
    assert [r["uri"] for r in tombstones] == [second["id"]]


async def test_tick__a_write_that_fails_fails_its_own_item_and_the_others_are_written(
    settings, pool
):
    # Given a handler whose write fails for one activity of a batch, and works for others
    async def verify(fed, activity):
        return activity["summary"]

    async def receive(conn, fed, activity, plan):
        await conn.execute(
            "INSERT INTO tombstones (uri, actor_uri) VALUES ($1, $2)", activity["id"], ALICE
        )
        if plan == "break":
            raise ValueError("the write broke")

    listens = [
        {"@context": AS, "id": f"{ALICE}/listens/{n}", "type": "Listen", "actor": ALICE,
         "summary": plan, "object": {"id": f"{ALICE}/tracks/{n}", "type": "Audio"}}
        for n, plan in enumerate(["fine", "break", "fine"])
    ]  # fmt: skip
    await queue(pool, *listens)
    table = {**HANDLERS, ("Listen", "Audio"): Handler(verify, receive)}

    # When the worker ticks once
    async with open_federation(settings, pool, table) as fed:
        await InboxWorker(fed).tick()

    # Then the failing one is failed with its reason and left nothing; the others are done
    assert await states(pool, listens) == [
        ("done", None),
        ("failed", "ValueError: the write broke"),
        ("done", None),
    ]
    async with pool.acquire() as conn:
        written = {row["uri"] for row in await conn.fetch("SELECT uri FROM tombstones")}
    assert written == {listens[0]["id"], listens[2]["id"]}


async def test_tick__a_verify_that_fails_fails_its_own_item_only(settings, pool):
    # Given a batch with a Create of a note attributed to someone else than its sender
    good = create(note(f"{ALICE}/notes/good", "mine"))
    forged = {**create(note(f"{ALICE}/notes/forged", "not mine")), "actor": BOB}
    await queue(pool, good, forged)

    async with open_federation(settings, pool) as fed:
        await InboxWorker(fed, lease=timedelta(minutes=5)).tick()

    (good_state, _), (forged_state, error) = await states(pool, [good, forged])
    assert good_state == "done"
    assert forged_state == "failed" and error.startswith("refused:")


def job(activity: dict) -> Job:
    return Job(item=None, document=activity, footprint=footprint(activity))


def test_waves__cut_where_an_item_names_what_an_earlier_one_of_the_wave_names():
    a, b = note(f"{ALICE}/notes/a", "a"), note(f"{ALICE}/notes/b", "b")
    jobs = [job(create(a)), job(create(b)), job(create({**a, "content": "again"}, "Update"))]

    assert [len(wave) for wave in waves(jobs)] == [2, 1]


def test_waves__keep_an_actors_order_around_what_is_not_a_create_like_or_announce():
    follow = {"id": f"{BOB}/follows/1", "type": "Follow", "actor": BOB, "object": ALICE}
    undo = {"id": f"{BOB}/undo/1", "type": "Undo", "actor": BOB, "object": follow}
    like = {"id": f"{ALICE}/likes/1", "type": "Like", "actor": ALICE, "object": f"{BOB}/n/1"}
    update_bob = {"id": f"{BOB}/updates/1", "type": "Update", "actor": BOB,
                  "object": {"id": BOB, "type": "Person"}}  # fmt: skip
    jobs = [job(x) for x in (
        create(note(f"{ALICE}/notes/a", "a")), follow,  # Bob's first: with Alice's
        create(note(f"{BOB}/notes/c", "c", author=BOB)),  # after Bob's Follow
        undo, like,  # after Bob's note; Alice's Like beside it
        update_bob,  # about Bob himself
    )]  # fmt: skip

    assert [len(wave) for wave in waves(jobs)] == [2, 1, 2, 1]
    assert footprint(update_bob) == Footprint(frozenset({BOB}), BOB, whole_actor=True)
    assert footprint(undo).ids == {follow["id"], ALICE}
