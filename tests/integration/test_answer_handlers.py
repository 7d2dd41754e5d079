"""Answers across nodes at the handler table, against real PostgreSQL: an Offer(Agreement) or
a direct message answering a local listing, messages continuing a conversation, the author's
Accept / Reject / Undo on the respondent's node, and every refusal with nothing changed.

The node is http://localhost (the `settings` fixture); alice posts; bob and bert are remote
actors on south.example (rows in remote_actors, as the inbox leaves them).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import orjson
import pytest

from commonsfed.ap.agreements import offer_agreement_to_ap
from commonsfed.ap.jsonld import normalise
from commonsfed.db import accounts as accounts_q
from commonsfed.db import answers as answers_q
from commonsfed.federation import outbox
from commonsfed.federation.answers import receive_answer, verify_offer
from commonsfed.federation.handlers import Refused
from commonsfed.services import listings
from commonsfed.services.answer_inbox import node_handlers
from tests.integration.remote import ALICE, BERT, BOB, PUBLIC, activity, add_remote_actor, handle

DRILL = {
    "purpose": "offer", "kind": "lend", "title": "Cordless drill", "category": "tools",
    "description": "With two batteries.", "place": "Elm Street", "loan_days": "7",
}  # fmt: skip
TABLES = ("conversations", "messages", "notifications", "activities", "deliveries",
          "remote_objects")  # fmt: skip


@pytest.fixture
async def drill(fed, db) -> str:
    """alice's drill, posted; its URI."""
    alice = await accounts_q.get_account(
        db, await db.fetchval("SELECT id FROM accounts WHERE username = 'alice'"))
    listing = await listings.create_listing(fed.pool, fed.settings, alice, DRILL, [])
    await db.execute("DELETE FROM deliveries; DELETE FROM activities")  # the Create, Announce
    return f"http://localhost/listings/{listing.uid}"


def offer(actor: str, listing_uri: str, message: str = "Could I borrow it?", **changes) -> dict:
    document = offer_agreement_to_ap(
        activity_id=f"{actor}/offers/{abs(hash((listing_uri, message))) % 10**8}",
        actor_uri=actor, author_uri=ALICE, listing_uri=listing_uri, message=message)
    return {**document, **changes}


def direct(actor: str, note_id: str, in_reply_to: str, text: str, to: str = ALICE) -> dict:
    name = to.rsplit("/", 1)[1]
    return activity("Create", actor, {
        "id": note_id, "type": "Note", "attributedTo": actor, "to": [to], "cc": [],
        "inReplyTo": in_reply_to,
        "content": f'<p><span class="h-card"><a href="{to}" class="u-url mention">@<span>'
                   f"{name}</span></a></span> {text}</p>",
        "tag": [{"type": "Mention", "href": to, "name": f"@{name}@localhost"}],
    })  # fmt: skip


async def snapshot(conn) -> dict[str, list[dict]]:
    return {table: [dict(row) for row in await conn.fetch(f"SELECT * FROM {table} ORDER BY 1")]
            for table in TABLES}  # fmt: skip


async def refused_and_unchanged(fed, conn, document: dict[str, Any]) -> None:
    before = await snapshot(conn)
    with pytest.raises(Refused):
        await handle(fed, document)
    assert await snapshot(conn) == before


async def line(conn) -> list[tuple]:
    rows = await conn.fetch("""
        SELECT c.respondent_actor_uri, c.state, c.answered_with, m.body
        FROM conversations c JOIN messages m ON m.conversation_id = c.id ORDER BY m.id
    """)  # fmt: skip
    return [tuple(row) for row in rows]


async def published(conn) -> list[dict]:
    return [orjson.loads(row[0]) for row in
            await conn.fetch("SELECT document FROM activities ORDER BY id")]  # fmt: skip


# --- on the listing's node -----------------------------------------------------------------


async def test_offer__becomes_an_answer_at_the_end_of_the_line(fed, db, drill):
    assert await handle(fed, offer(BOB, drill)) == "done"
    assert await handle(fed, offer(BERT, drill, "Me too, please.")) == "done"

    assert await line(db) == [
        (BOB, "waiting", "offer", "Could I borrow it?"),
        (BERT, "waiting", "offer", "Me too, please."),
    ]
    kinds = await db.fetch("SELECT kind FROM notifications ORDER BY id")
    assert [row[0] for row in kinds] == ["new_answer", "new_answer"]


async def test_offer__a_second_one_from_the_same_actor_is_a_message(fed, db, drill):
    await handle(fed, offer(BOB, drill))
    await handle(fed, offer(BOB, drill, "Or on Sunday?"))

    assert [row[3] for row in await line(db)] == ["Could I borrow it?", "Or on Sunday?"]
    assert await db.fetchval("SELECT count(*) FROM conversations") == 1


async def test_offer__on_a_closed_listing_is_rejected_with_a_reason(fed, db, drill):
    await db.execute("UPDATE listings SET state = 'completed'")
    sent = offer(BOB, drill)

    assert await handle(fed, sent) == "done"

    assert await line(db) == []
    [reject] = await published(db)
    assert reject["type"] == "Reject" and reject["object"] == sent["id"]
    assert reject["actor"] == ALICE and reject["to"] == [BOB]
    assert "closed to new answers" in reject["content"]


async def test_offer__of_an_unknown_listing_or_a_bad_agreement_is_refused(fed, db, drill):
    await refused_and_unchanged(fed, db, offer(BOB, drill + "x"))
    await refused_and_unchanged(fed, db, offer(BOB, "https://south.example/listings/1"))
    bad = offer(BOB, drill)
    bad["object"] = {"type": "Agreement", "stipulates": {"type": "Commitment"}}
    await refused_and_unchanged(fed, db, bad)


async def test_direct_message__replying_to_the_listing_is_an_answer(fed, db, drill):
    note = "https://south.example/users/bob/statuses/1"
    assert await handle(fed, direct(BOB, note, drill, "Is it free on Saturday?")) == "done"

    assert await line(db) == [(BOB, "waiting", "note", "Is it free on Saturday?")]
    assert await db.fetchval("SELECT ap_id FROM conversations") == note
    # private: it is not kept with the public notes and listings of other servers
    assert await db.fetchval("SELECT count(*) FROM remote_objects") == 0


async def test_direct_message__delivered_twice_is_one_message(fed, db, drill):
    await handle(fed, offer(BOB, drill))
    reply = direct(BOB, "https://south.example/users/bob/statuses/2", drill, "Hello again")

    await handle(fed, reply)
    await handle(fed, {**reply, "id": reply["id"] + "-again"})

    assert [row[3] for row in await line(db)] == ["Could I borrow it?", "Hello again"]


async def test_direct_message__into_someone_elses_conversation_is_refused(fed, db, drill):
    sent = offer(BOB, drill)
    await handle(fed, sent)

    # bert replies to the Offer that opened bob's conversation
    await refused_and_unchanged(
        fed, db, direct(BERT, "https://south.example/users/bert/statuses/1", sent["id"], "Hi"))


async def test_direct_message__sent_in_someone_elses_name_is_refused(fed, db, drill):
    forged = direct(BOB, "https://south.example/users/bob/statuses/3", drill, "Hi")
    forged["object"]["attributedTo"] = BERT
    await refused_and_unchanged(fed, db, forged)
    elsewhere = direct(BOB, "https://east.example/statuses/3", drill, "Hi")
    await refused_and_unchanged(fed, db, elsewhere)


async def test_public_reply_to_a_listing_stays_a_public_note(fed, db, drill):
    public = direct(BOB, "https://south.example/users/bob/statuses/4", drill, "Nice drill!")
    public["object"]["to"] = [PUBLIC]

    assert await handle(fed, public) == "done"

    assert await line(db) == []
    assert await db.fetchval("SELECT in_reply_to FROM remote_objects") == drill


# --- on the respondent's node --------------------------------------------------------------


@pytest.fixture
async def our_offer(fed, db) -> dict:
    """alice here answered bob's listing on south.example; the Offer she sent."""
    listing_uri = "https://south.example/listings/ladder"
    alice_id = await db.fetchval("SELECT id FROM accounts WHERE username = 'alice'")
    sent = offer_agreement_to_ap(activity_id="http://localhost/activities/offer-1",
                                 actor_uri=ALICE, author_uri=BOB, listing_uri=listing_uri)
    conversation = await answers_q.insert_remote_listing_conversation(
        db, account_id=alice_id, listing_uri=listing_uri, author_uri=BOB,
        author_handle="bob@south.example", title="Ladder", state="open", ap_id=sent["id"])
    await answers_q.insert_message(db, conversation, alice_id, "May I?", ap_id=sent["id"])
    await outbox.publish(db, fed.settings, sent)
    return sent


def accept(actor: str, offer_id: str) -> dict:
    return activity("Accept", actor, offer_id, result={
        "id": f"{actor}/agreements/1", "type": "Agreement",
        "stipulates": {"type": "Commitment", "satisfies": "https://south.example/listings/ladder#primary"},
    })  # fmt: skip


async def conversation_state(conn) -> tuple[str, str | None]:
    row = await conn.fetchrow("SELECT state, agreement_id FROM conversations")
    return row["state"], row["agreement_id"]


async def test_accept__of_our_offer_reserves_and_its_undo_releases(fed, db, our_offer):
    accepted = accept(BOB, our_offer["id"])

    assert await handle(fed, accepted) == "done"
    assert await conversation_state(db) == ("reserved", f"{BOB}/agreements/1")

    undo = activity("Undo", BOB, {k: v for k, v in accepted.items() if k != "@context"})
    assert await handle(fed, undo) == "done"
    assert (await conversation_state(db))[0] == "waiting"
    kinds = [row[0] for row in await db.fetch("SELECT kind FROM notifications ORDER BY id")]
    assert kinds == ["reserved_for_you", "reservation_released"]


async def test_reject__of_our_offer_declines_with_the_reason_as_a_message(fed, db, our_offer):
    reject = activity("Reject", BOB, our_offer["id"], content="<p>Sorry, it is lent out.</p>")

    assert await handle(fed, reject) == "done"

    assert (await conversation_state(db))[0] == "declined"
    bodies = [row[0] for row in await db.fetch("SELECT body FROM messages ORDER BY id")]
    assert bodies == ["May I?", "Sorry, it is lent out."]


async def test_accept__by_someone_but_the_author_is_refused(fed, db, our_offer):
    await refused_and_unchanged(fed, db, accept(BERT, our_offer["id"]))


async def test_accept__without_the_agreement_is_refused(fed, db, our_offer):
    await refused_and_unchanged(fed, db, activity("Accept", BOB, our_offer["id"]))


async def test_accept__of_an_offer_we_never_sent_is_refused(fed, db, our_offer):
    embedded = {"id": "http://localhost/activities/other", "type": "Offer", "actor": ALICE,
                "object": {"type": "Agreement"}}  # fmt: skip
    await refused_and_unchanged(fed, db, accept(BOB, embedded))


async def test_undo_accept__must_embed_the_accept_of_its_own_actor(fed, db, our_offer):
    await handle(fed, accept(BOB, our_offer["id"]))
    accepted = accept(BOB, our_offer["id"])
    before = await snapshot(db)
    # a bare id: we keep no Accepts we received, so there is nothing it could name
    assert await handle(fed, activity("Undo", BOB, accepted["id"])) == "unhandled"
    assert await snapshot(db) == before
    stolen = {k: v for k, v in accept(BERT, our_offer["id"]).items() if k != "@context"}
    await refused_and_unchanged(fed, db, activity("Undo", BERT, stolen))


async def test_direct_message__from_the_author_continues_our_conversation(fed, db, our_offer):
    reply = direct(BOB, "https://south.example/users/bob/statuses/9", our_offer["id"],
                   "Sure, come by at six.", to=ALICE)

    assert await handle(fed, reply) == "done"

    bodies = [row[0] for row in await db.fetch("SELECT body FROM messages ORDER BY id")]
    assert bodies == ["May I?", "Sure, come by at six."]
    kinds = [row[0] for row in await db.fetch("SELECT kind FROM notifications")]
    assert kinds == ["new_message"]


async def test_update_of_the_remote_listing_shows_in_the_conversation(fed, db, our_offer):
    await add_remote_actor(db, BOB)
    ladder = {
        "id": "https://south.example/listings/ladder", "type": "Note", "attributedTo": BOB,
        "to": [PUBLIC], "content": "<p>Ladder</p>", "name": "Ladder", "purpose": "offer",
        "publishes": {"id": "https://south.example/listings/ladder#primary", "type": "Intent",
                      "action": "transferCustody"},
    }  # fmt: skip
    await handle(fed, activity("Create", BOB, ladder))
    await handle(fed, accept(BOB, our_offer["id"]))
    finished = {**ladder, "updated": "2026-11-28T10:00:00Z",
                "publishes": {**ladder["publishes"], "vf:finished": True,
                              "availableQuantity": {"hasUnit": "one", "hasNumericalValue": "0"}}}

    assert await handle(fed, activity("Update", BOB, finished)) == "done"

    row = await db.fetchrow("SELECT state, remote_listing_state FROM conversations")
    assert tuple(row) == ("completed", "completed")


async def test_direct_message__about_a_listing_to_someone_else_is_no_answer(fed, db, drill):
    # bob writes privately to carol (another resident here) about alice's drill
    await db.execute(
        "INSERT INTO accounts (username, email, password_hash, status)"
        " VALUES ('carol', 'carol@example.org', '-', 'active')")
    aside = direct(BOB, "https://south.example/users/bob/statuses/5", drill,
                   "Shall we share it?", to="http://localhost/users/carol")

    assert await handle(fed, aside) == "done"

    # no answer for alice; carol hears of it as a mention, the way any direct Note is
    assert await line(db) == []
    told = await db.fetch(
        "SELECT a.username, n.kind FROM notifications n JOIN accounts a ON a.id = n.account_id")
    assert [tuple(row) for row in told] == [("carol", "mention")]


async def test_undo_offer__by_its_sender_leaves_the_line_and_by_another_is_refused(fed, db, drill):
    node = replace(fed, handlers=node_handlers())
    sent = offer(BOB, drill)
    await handle(node, sent)
    await handle(node, offer(BERT, drill, "Me too."))

    stolen = activity("Undo", BERT, sent["id"])
    await refused_and_unchanged(node, db, stolen)
    assert await handle(fed, activity("Undo", BOB, sent["id"])) == "unhandled"  # base table

    assert await handle(node, activity("Undo", BOB, sent["id"])) == "done"
    states = await db.fetch("SELECT respondent_actor_uri, state FROM conversations ORDER BY id")
    assert [tuple(row) for row in states] == [(BOB, "withdrawn"), (BERT, "waiting")]
    kinds = [row[0] for row in await db.fetch("SELECT kind FROM notifications ORDER BY id")]
    assert kinds == ["new_answer", "new_answer", "withdrawn"]
    # a second Undo finds nothing left to do
    assert await handle(node, activity("Undo", BOB, sent["id"])) == "done"



async def test_offer__for_a_listing_removed_meanwhile_changes_nothing(fed, db, drill):
    sent = normalise(offer(BOB, drill))
    plan = await verify_offer(fed, sent)
    await db.execute("DELETE FROM listings")

    async with fed.pool.acquire() as conn, conn.transaction():
        await receive_answer(conn, fed, sent, plan)

    assert await line(db) == [] and await published(db) == []
