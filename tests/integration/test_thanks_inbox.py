"""Thanks from other nodes, through the node's handler table on a real PostgreSQL: a Note
with `thanksFor` from someone who completed an exchange with a resident is kept for her
profile; anything else that looks like one is refused and changes nothing; a Mastodon reply
that mentions her is still a mention.

The node is http://localhost with alice (tests/integration/remote.py); bob on south.example
answered her drill and she completed the exchange with him; bert, on bob's server, did not.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from commonsfed.db import accounts as accounts_q
from commonsfed.federation.errors import Refused
from commonsfed.services import answers, listings
from commonsfed.services.answer_inbox import node_handlers
from tests.integration.remote import ALICE, BERT, BOB, PUBLIC, activity, handle
from tests.integration.test_answer_handlers import DRILL, offer

MENTION = '<span class="h-card"><a href="{0}" class="u-url mention">@<span>alice</span></a></span>'


@pytest.fixture
async def node(fed):
    return replace(fed, handlers=node_handlers())


@pytest.fixture
async def drill(node, db) -> str:
    """alice's drill, answered by bob and completed with him."""
    alice = await accounts_q.get_by_username(db, "alice")
    listing = await listings.create_listing(node.pool, node.settings, alice, DRILL, [])
    uri = f"http://localhost/listings/{listing.uid}"
    await handle(node, offer(BOB, uri))
    conv = await db.fetchval("SELECT id FROM conversations")
    await answers.reserve(node.pool, node.settings, alice, conv)
    await answers.complete(node.pool, node.settings, alice, conv)
    return uri


def thanks(
    actor: str, number: int, listing: str, text: str = "Thank you for the drill!", **changes
) -> dict:
    """A Create of a thanks Note as a commonsfed node sends it (ap/thanks.py)."""
    note = {
        "id": f"https://{actor.split('/')[2]}/thanks/{number}", "type": "Note",
        "attributedTo": actor, "to": [ALICE, PUBLIC], "cc": [], "inReplyTo": listing,
        "thanksFor": listing, "content": f"<p>{MENTION.format(ALICE)} {text}</p>",
        "tag": [{"type": "Mention", "href": ALICE, "name": "@alice@localhost"}],
        "published": "2026-12-04T12:00:00Z", **changes,
    }  # fmt: skip
    return activity("Create", actor, note)


async def kept(db) -> list[tuple]:
    rows = await db.fetch("""
        SELECT t.writer_actor_uri, a.username, t.body, t.ap_id FROM thanks t
        JOIN accounts a ON a.id = t.subject_account_id ORDER BY t.id
    """)  # fmt: skip
    return [tuple(row) for row in rows]


async def test_thanks__from_the_other_side_of_a_completed_exchange_is_kept(node, db, drill):
    assert await handle(node, thanks(BOB, 1, drill)) == "done"
    assert await handle(node, thanks(BOB, 1, drill)) == "done"  # the same one twice

    assert await kept(db) == [
        (BOB, "alice", "Thank you for the drill!", "https://south.example/thanks/1")
    ]
    # a thanks, not a mention: no notification of one, no copy among remote objects
    assert await db.fetchval("SELECT count(*) FROM notifications WHERE kind = 'mention'") == 0
    assert await db.fetchval("SELECT count(*) FROM remote_objects") == 0


async def test_thanks__html_is_made_plain_and_cut_to_500(node, db, drill):
    long = "<b>Great</b> <script>alert(1)</script>" + "a" * 800
    await handle(node, thanks(BOB, 2, drill, long))

    [(_, _, body, _)] = await kept(db)
    assert "<" not in body and body.startswith("Great")
    assert len(body) == 500 and body.endswith("…")


@pytest.mark.parametrize("case", ["stranger", "not_completed", "other_author", "other_host",
                                  "no_resident", "empty", "second"])  # fmt: skip
async def test_thanks__refused_and_nothing_kept(node, db, drill, case):
    if case == "second":
        await handle(node, thanks(BOB, 3, drill))
    if case == "not_completed":
        await db.execute("UPDATE conversations SET state = 'reserved'")
    before = await kept(db)
    document = {
        "stranger": thanks(BERT, 4, drill),  # bert never exchanged anything with alice
        "not_completed": thanks(BOB, 4, drill),
        "other_author": thanks(BERT, 4, drill, attributedTo=BOB),  # bert passing for bob
        "other_host": {**thanks(BOB, 4, drill), "object": {
            **thanks(BOB, 4, drill)["object"], "id": "https://east.example/thanks/4"}},
        "no_resident": thanks(BOB, 4, drill, to=[PUBLIC], tag=[]),
        "empty": thanks(BOB, 4, drill, "   "),
        "second": thanks(BOB, 4, drill, "Thanks again!"),
    }[case]  # fmt: skip

    with pytest.raises(Refused):
        await handle(node, document)

    assert await kept(db) == before


async def test_thanks__update_and_delete_come_only_from_its_writer(node, db, drill):
    created = thanks(BOB, 5, drill)
    await handle(node, created)
    edited = {**created["object"], "content": "<p>Thanks, it drilled like a dream.</p>"}

    with pytest.raises(Refused):
        await handle(node, activity("Update", BERT, {**edited, "attributedTo": BERT}))
    await handle(node, activity("Update", BOB, edited))
    assert [row[2] for row in await kept(db)] == ["Thanks, it drilled like a dream."]

    with pytest.raises(Refused):
        await handle(node, activity("Delete", BERT, {"id": created["object"]["id"],
                                                     "type": "Tombstone"}))  # fmt: skip
    assert len(await kept(db)) == 1
    await handle(node, activity("Delete", BOB, {"id": created["object"]["id"],
                                                "type": "Tombstone"}))  # fmt: skip
    assert await kept(db) == []


async def test_mastodon_reply__mentioning_a_resident_is_still_a_mention(node, db, drill):
    reply = thanks(BOB, 6, drill, "Great drill, thanks!")
    del reply["object"]["thanksFor"]
    reply["object"]["id"] = "https://south.example/users/bob/statuses/6"

    assert await handle(node, reply) == "done"

    assert await kept(db) == []
    kinds = await db.fetch("SELECT kind FROM notifications WHERE kind = 'mention'")
    assert len(kinds) == 1
