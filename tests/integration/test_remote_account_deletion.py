"""A remote actor deletes themselves (a Delete of the Person, Mastodon's shape): their
answers and messages here go, their conversations close with a line that says so, and a
line they were in moves on. At the node's handler table, against real PostgreSQL.

The node is http://localhost (the `settings` fixture); alice posts; bob and bert are remote
actors on south.example (rows in remote_actors, as the inbox leaves them).
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from commonsfed.db import accounts as accounts_q
from commonsfed.db import actors as actors_q
from commonsfed.federation.answers import receive_answer, verify_offer
from commonsfed.federation.handlers import Refused
from commonsfed.services import answers
from commonsfed.services.answer_inbox import node_handlers
from commonsfed.services.errors import NotAllowed
from commonsfed.services.listings import InvalidTransition
from tests.integration import test_answer_handlers
from tests.integration.remote import BERT, BOB, activity, handle
from tests.integration.test_answer_handlers import direct, offer

drill = test_answer_handlers.drill  # a fixture: alice's drill, posted; its URI

LEFT = "@bob@south.example deleted their account. Their messages were removed"


@pytest.fixture
def node(fed):
    """The node's own table, as the entry points give it (services.answer_inbox)."""
    return replace(fed, handlers=node_handlers())


async def alice(db):
    return await accounts_q.get_by_username(db, "alice")


async def messages(db) -> list[tuple]:
    rows = await db.fetch("""
        SELECT kind, coalesce(sender_actor_uri, a.username), body FROM messages m
        LEFT JOIN accounts a ON a.id = m.sender_account_id ORDER BY m.id
    """)  # fmt: skip
    return [tuple(row) for row in rows]


async def test_delete_person__takes_their_answer_out_of_the_line_and_closes_it(node, db, drill):
    # Given bob answered alice's drill and holds its reservation, they wrote to each other,
    # and bert waits behind him
    await handle(node, offer(BOB, drill))
    await handle(node, offer(BERT, drill, "Me too, please."))
    [bobs, berts] = [row[0] for row in await db.fetch("SELECT id FROM conversations ORDER BY id")]
    await answers.reserve(node.pool, node.settings, await alice(db), bobs)
    await answers.reply(node.pool, node.settings, await alice(db), bobs, "Saturday at ten?")

    # When bob deletes himself
    assert await handle(node, activity("Delete", BOB, BOB)) == "done"

    # Then his answer leaves the line and bert is offered the drill, which is open again
    states = await db.fetch(
        "SELECT id, state, closed_at IS NOT NULL FROM conversations ORDER BY id"
    )
    assert [tuple(row) for row in states] == [(bobs, "withdrawn", True), (berts, "offered", False)]
    assert await db.fetchval("SELECT state FROM listings") == "open"
    # his messages are gone; alice keeps hers, and a line that says why the talk ended
    conversation = [m for m in await messages(db) if m[2] != "Me too, please."]
    assert conversation[:1] == [("message", "alice", "Saturday at ten?")]
    assert conversation[1][0] == "system" and conversation[1][2].startswith(LEFT)
    assert len(conversation) == 2
    # alice hears of it, and bob is forgotten
    kinds = [row[0] for row in await db.fetch("SELECT kind FROM notifications ORDER BY id")]
    assert kinds[-1] == "withdrawn"
    assert await actors_q.get_remote_actor(db, BOB) is None
    # alice can no longer write there
    with pytest.raises(NotAllowed, match="conversation is closed"):
        await answers.reply(node.pool, node.settings, await alice(db), bobs, "Hello?")


async def test_delete_person__closes_a_conversation_about_their_listing_on_their_node(node, db):
    # Given alice answered bob's ladder on south.example, and he wrote back
    ladder = "https://south.example/listings/ladder"
    conv_id = await db.fetchval("""
        INSERT INTO conversations (respondent_account_id, remote_listing_uri, remote_author_uri,
                                   remote_author_handle, remote_listing_title, ap_id,
                                   answered_with)
        VALUES ((SELECT id FROM accounts WHERE username = 'alice'), $1, $2, 'bob@south.example',
                'Ladder', 'http://localhost/activities/offer-1', 'offer')
        RETURNING id
    """, ladder, BOB)  # fmt: skip
    await db.execute("""
        INSERT INTO messages (conversation_id, sender_account_id, body, ap_id)
        VALUES ($1, (SELECT id FROM accounts WHERE username = 'alice'), 'May I?', 'http://localhost/activities/offer-1')
    """, conv_id)  # fmt: skip
    reply = direct(
        BOB,
        "https://south.example/users/bob/statuses/7",
        "http://localhost/activities/offer-1",
        "Of course, come by.",
    )
    assert await handle(node, reply) == "done"
    assert len(await messages(db)) == 2

    # When bob deletes himself
    assert await handle(node, activity("Delete", BOB, BOB)) == "done"

    # Then his message is gone, the listing shows as gone, and the conversation is closed
    [mine, line] = await messages(db)
    assert mine == ("message", "alice", "May I?")
    assert line[0] == "system" and line[2].startswith(LEFT)
    row = await db.fetchrow("SELECT state, remote_listing_state, closed_at FROM conversations")
    assert (row["state"], row["remote_listing_state"]) == ("waiting", "withdrawn")
    assert row["closed_at"] is not None
    # alice can neither write nor withdraw there any more (nobody would receive it)
    with pytest.raises(NotAllowed, match="conversation is closed"):
        await answers.reply(node.pool, node.settings, await alice(db), conv_id, "Still there?")
    with pytest.raises(InvalidTransition, match="conversation is closed"):
        await answers.withdraw(node.pool, node.settings, await alice(db), conv_id)
    # and a late message of his into it is refused
    late = direct(
        BOB,
        "https://south.example/users/bob/statuses/8",
        "http://localhost/activities/offer-1",
        "Sorry, one more thing.",
    )
    with pytest.raises(Refused, match="is closed"):
        await handle(node, late)


async def test_delete_person__a_late_copy_of_their_answer_brings_nothing_back(node, db, drill):
    # Given bob's answer, and a second copy of it checked before his Delete came
    sent = offer(BOB, drill)
    await handle(node, sent)
    copy = offer(BOB, drill, "Could I borrow it, please?")
    plan = await verify_offer(node, copy)

    # When bob deletes himself, then the copy is received
    await handle(node, activity("Delete", BOB, BOB))
    async with node.pool.acquire() as conn, conn.transaction():
        await receive_answer(conn, node, copy, plan)

    # Then nothing of his is back
    assert [m[0] for m in await messages(db)] == ["system"]


async def test_delete_person__of_someone_else_is_refused_and_closes_nothing(node, db, drill):
    await handle(node, offer(BERT, drill))

    with pytest.raises(Refused, match="only delete itself"):
        await handle(node, activity("Delete", BOB, BERT))

    assert await db.fetchval("SELECT closed_at FROM conversations") is None
    assert len(await messages(db)) == 1


async def test_delete_person__the_closing_line_speaks_the_nodes_language(
    make_fed, db, drill
):
    # Given the node speaks French, and bob answered alice's drill
    french = replace(await make_fed(language="fr"), handlers=node_handlers())
    await handle(french, offer(BOB, drill))

    # When bob deletes himself
    assert await handle(french, activity("Delete", BOB, BOB)) == "done"

    # Then the line that closes the conversation is in French, as alice reads it
    [line] = [body for kind, _, body in await messages(db) if kind == "system"]
    assert line == (
        "@bob@south.example a supprimé son compte. Ses messages ont été retirés et cette "
        "conversation est close."
    )
