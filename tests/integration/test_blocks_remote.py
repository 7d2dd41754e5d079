"""A resident blocks or mutes people on other servers, on a real PostgreSQL: the Block and its
Undo that go out, what a block does to answers and messages arriving from them, and what
mutes and hidden domains leave out of the neighbourhood page.

The node is http://localhost with the resident alice (tests/integration/remote.py); bob and
bert are on south.example, carol on east.example (rows in remote_actors, as the inbox leaves
them).
"""

from __future__ import annotations

import html
from dataclasses import replace

import orjson
import pytest

from commonsfed.ap.activities import remote_object_from_ap
from commonsfed.db import accounts as accounts_q
from commonsfed.db import follows as follows_q
from commonsfed.db import objects as objects_q
from commonsfed.services import blocks, listings
from commonsfed.services.answer_inbox import node_handlers
from commonsfed.services.errors import ValidationError
from tests.builders import post_form
from tests.integration.remote import ALICE, BERT, BOB, CAROL, activity, handle
from tests.integration.test_answer_handlers import DRILL, direct, line, offer, published
from tests.integration.test_explore import remote_listing


@pytest.fixture
async def alice(fed, db):
    return await accounts_q.get_by_username(db, "alice")


@pytest.fixture
async def drill(fed, db, alice) -> str:
    listing = await listings.create_listing(fed.pool, fed.settings, alice, DRILL, [])
    await db.execute("DELETE FROM deliveries; DELETE FROM activities")  # the Create, Announce
    return f"http://localhost/listings/{listing.uid}"


async def sent(db) -> list[tuple[dict, list[str]]]:
    rows = await db.fetch("SELECT uri, document FROM activities ORDER BY id")
    return [
        (orjson.loads(row["document"]), [r[0] for r in await db.fetch(
            "SELECT inbox FROM deliveries WHERE activity_uri = $1", row["uri"])])
        for row in rows
    ]  # fmt: skip


# --- what goes out ---------------------------------------------------------------------------


async def test_block__sends_a_block_and_unblocking_sends_its_undo(fed, db, alice):
    await follows_q.upsert_follow(db, BOB, ALICE, "accepted", "f1")
    await follows_q.upsert_follow(db, ALICE, BOB, "accepted", "f2")

    person = await blocks.block(fed, alice, BOB)

    assert person.label == "@bob@south.example"
    [(block, inboxes)] = await sent(db)
    assert (block["type"], block["actor"], block["object"], block["to"]) == (
        "Block", ALICE, BOB, [BOB])
    assert inboxes == ["https://south.example/inbox"]
    assert await follows_q.get_follow(db, BOB, ALICE) is None
    assert await follows_q.get_follow(db, ALICE, BOB) is None

    # blocking again sends nothing more; unblocking undoes the very Block
    await blocks.block(fed, alice, BOB)
    [(row_id,)] = await db.fetch("SELECT id FROM resident_blocks")
    await blocks.undo(fed, alice, row_id)
    [_, (undo, inboxes)] = await sent(db)
    assert undo["type"] == "Undo" and undo["actor"] == ALICE
    assert undo["object"]["id"] == block["id"] and undo["object"]["type"] == "Block"
    assert inboxes == ["https://south.example/inbox"]


async def test_mute__sends_nothing(fed, db, alice):
    await blocks.mute(fed, alice, BOB)

    assert await sent(db) == []
    assert [tuple(r) for r in await db.fetch("SELECT kind, target_actor_uri FROM resident_blocks")
            ] == [("mute", BOB)]  # fmt: skip


async def test_block__of_an_unknown_remote_handle_says_so(fed, db, alice):
    with pytest.raises(ValidationError) as caught:
        await blocks.block(fed, alice, "@nobody@nowhere.invalid")

    assert caught.value.errors["who"].startswith("Could not find @nobody@nowhere.invalid")
    assert await db.fetchval("SELECT count(*) FROM resident_blocks") == 0


# --- what comes in from a blocked actor ------------------------------------------------------


async def test_block__declines_their_offer_and_rejects_the_next_one(fed, db, alice, drill):
    node = replace(fed, handlers=node_handlers())
    first = offer(BOB, drill)
    await handle(node, first)

    await blocks.block(fed, alice, BOB)
    again = offer(BOB, drill, "Please?")
    assert await handle(node, again) == "done"

    assert [(row[0], row[1]) for row in await line(db)] == [(BOB, "declined")]
    rejects = [doc for doc in await published(db) if doc["type"] == "Reject"]
    assert [r["object"] for r in rejects] == [first["id"], again["id"]]
    assert "does not take answers from you" in rejects[1]["content"]


async def test_block__their_direct_answer_is_not_kept(fed, db, alice, drill):
    await blocks.block(fed, alice, BOB)
    before = await db.fetchval("SELECT count(*) FROM activities")

    note = direct(BOB, "https://south.example/users/bob/statuses/1", drill, "Is it free?")
    assert await handle(fed, note) == "done"

    assert await line(db) == []
    assert await db.fetchval("SELECT count(*) FROM remote_objects") == 0
    assert await db.fetchval("SELECT count(*) FROM notifications") == 0
    assert await db.fetchval("SELECT count(*) FROM activities") == before  # nothing back


async def test_block__their_messages_in_a_conversation_are_not_kept(fed, db, alice, drill):
    first = offer(BOB, drill)
    await handle(fed, first)
    await blocks.block(fed, alice, BOB)

    reply = direct(BOB, "https://south.example/users/bob/statuses/2", first["id"], "Hello?")
    assert await handle(fed, reply) == "done"

    assert [row[3] for row in await line(db)] == ["Could I borrow it?"]
    kinds = [row[0] for row in await db.fetch("SELECT kind FROM notifications ORDER BY id")]
    assert kinds == ["new_answer"]


async def test_block__refuses_their_follow(fed, db, alice):
    await blocks.block(fed, alice, BOB)

    assert await handle(fed, activity("Follow", BOB, ALICE)) == "done"

    assert await follows_q.get_follow(db, BOB, ALICE) is None
    assert (await sent(db))[-1][0]["type"] == "Reject"


async def test_mute__refuses_nothing_from_them(fed, db, alice, drill):
    await blocks.mute(fed, alice, BOB)

    await handle(fed, offer(BOB, drill))

    assert [(row[0], row[1]) for row in await line(db)] == [(BOB, "waiting")]


# --- what the neighbourhood page leaves out --------------------------------------------------


async def add_remote_listing(db, uri: str, author: str, title: str) -> None:
    document = remote_listing(id=uri, attributedTo=author, name=title, url=uri)
    await objects_q.insert_remote_object(db, remote_object_from_ap(document))


async def test_everywhere__leaves_out_whom_a_resident_blocks_mutes_or_hides(
    fed, db, make_resident
):
    await add_remote_listing(db, "https://south.example/listings/1", BOB, "Bob's ladder")
    await add_remote_listing(db, "https://south.example/listings/2", BERT, "Bert's bike")
    await add_remote_listing(db, "https://east.example/listings/3", CAROL, "Carol's cake")
    dora, eve = await make_resident("dora"), await make_resident("eve")

    blocked = await post_form(dora, "/settings/blocks", {"who": BOB, "action": "block"},
                              form_path="/settings/blocks")  # fmt: skip
    await blocks.mute(fed, await accounts_q.get_by_username(db, "dora"), BERT)
    hidden = await post_form(dora, "/settings/blocks/domains", {"domain": "east.example"},
                             form_path="/settings/blocks")  # fmt: skip
    assert blocked.status == 200 and hidden.status == 200

    doras = html.unescape(await (await dora.get("/explore?where=everywhere")).text())
    eves = html.unescape(await (await eve.get("/explore?where=everywhere")).text())

    for title in ("Bob's ladder", "Bert's bike", "Carol's cake"):
        assert title not in doras and title in eves, title
