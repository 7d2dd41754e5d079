"""Matches: a new listing finds the open listings of the other side that match it, among
many, on a real PostgreSQL; their authors are told, and the new listing's author sees them
on its page."""

from __future__ import annotations

import random
from datetime import UTC, datetime

import orjson

from commonsfed.db import blocks as blocks_q
from commonsfed.db import search as search_q
from commonsfed.services import listings, matching
from commonsfed.services.mail_transport import compose
from commonsfed.web.keys import SETTINGS
from tests.builders import log_in, post_form
from tests.integration.test_listings import people, pool, post  # noqa: F401  (fixtures)
from tests.integration.test_node_settings import GOOD

HERE = {"latitude": "52.37", "longitude": "4.89"}
NEAR = {"latitude": "52.40", "longitude": "4.90"}  # about 3 km away
FAR = {"latitude": "51.92", "longitude": "4.48"}  # Rotterdam: about 57 km away


async def filler(pool, author_id: int, count: int) -> None:  # noqa: F811
    """`count` open listings that match nothing asked below: other words, every kind and
    category, loaded with COPY as the bench loads its 100,000."""
    now = datetime.now(UTC)
    kinds = ("give", "lend", "swap", "service")
    categories = ("food", "tools", "books", "garden")
    rows = [
        (f"filler{n:08d}", author_id, random.choice(("offer", "request")),
         kinds[n % 4], f"Spare item {n}", "Nothing special", categories[n % 4], "Elm Street",
         None, None, "open", now, now)
        for n in range(count)
    ]  # fmt: skip
    async with pool.acquire() as conn:
        await search_q.copy_listings(conn, rows)


async def notices(pool, kind: str) -> list[tuple[str, str]]:  # noqa: F811
    """(who was told, the title of the listing they were told of), in order."""
    async with pool.acquire() as conn:
        rows = await conn.fetch(
            "SELECT a.username, coalesce(l.title, n.body) AS title FROM notifications n"
            " JOIN accounts a ON a.id = n.account_id LEFT JOIN listings l ON l.id = n.listing_id"
            " WHERE n.kind = $1 ORDER BY a.username, title",
            kind,
        )
    return [tuple(row) for row in rows]


async def test_on_new_listing__a_request_finds_the_right_offers_among_many(
    pool,  # noqa: F811
    settings,
    people,  # noqa: F811
    client,
):
    # Given many offers of all sorts, of which two match a drill asked for nearby
    alice, carol, dave, bob = await people("alice", "carol", "dave", "bob")
    await filler(pool, dave.id, 2000)
    await post(pool, settings, alice, kind="give", category="tools", title="Cordless drill", **NEAR)
    await post(pool, settings, carol, kind="give", category="tools",
               title="Hammer drill with bits")  # no point: it still counts  # fmt: skip
    wrong = [
        dict(kind="lend", category="tools", title="Drill", loan_days="7"),  # another kind
        dict(kind="give", category="food", title="Drill bits cookies"),  # another category
        dict(kind="give", category="tools", title="Drill press", **FAR),  # too far
        dict(kind="give", category="tools", title="Garden chair"),  # no word in common
        dict(purpose="request", kind="give", category="tools", title="Drill wanted too"),
    ]
    for fields in wrong:
        await post(pool, settings, dave, **fields)
    closed = await post(pool, settings, dave, kind="give", category="tools", title="Old drill")
    await listings.change_state(pool, settings, dave, closed.uid, "withdrawn")

    # When bob asks for a drill
    asked = await post(pool, settings, bob, purpose="request", kind="give", category="tools",
                       title="Need a drill for the weekend", **HERE)  # fmt: skip

    # Then the two offers, and only they, are his matches; their authors are told
    found = await matching.matches_for(pool, asked.id)
    assert sorted(match.title for match in found) == ["Cordless drill", "Hammer drill with bits"]
    told = [who for who, title in await notices(pool, "listing_match") if title == asked.title]
    assert told == ["alice", "carol"]
    # and his listing's page shows them to him (and to no one else)
    await log_in(client, "bob", "correct horse battery")
    page = await (await client.get(f"/listings/{asked.uid}")).text()
    assert "Offers that match your request" in page
    assert "Cordless drill" in page and "Hammer drill with bits" in page
    assert "Drill press" not in page


async def test_on_new_listing__an_offer_finds_open_requests_and_mails_who_chose_it(
    pool,  # noqa: F811
    settings,
    people,  # noqa: F811
):
    # Given bob asks for a ladder and chose mail about matches; erin chose none
    bob, erin, alice = await people("bob", "erin", "alice")
    async with pool.acquire() as conn:
        await conn.execute(
            "UPDATE accounts SET email_confirmed_at = now(),"
            " mail_notifications = CASE WHEN username = 'bob' THEN '{match}'::text[]"
            " ELSE '{}'::text[] END"
        )
    asked = await post(pool, settings, bob, purpose="request", kind="lend", category="tools",
                       title="Ladder for a day", loan_days="1")  # fmt: skip
    await post(pool, settings, erin, purpose="request", kind="lend", category="tools",
               title="A tall ladder", loan_days="2")  # fmt: skip

    # When alice offers to lend her ladder
    offered = await post(pool, settings, alice, kind="lend", category="tools",
                         title="Aluminium ladder, 3 m", loan_days="3")  # fmt: skip

    # Then both requests match it both ways, both authors are told, and bob is mailed
    assert [m.title for m in await matching.matches_for(pool, asked.id)] == [offered.title]
    assert {m.title for m in await matching.matches_for(pool, offered.id)} == {
        "Ladder for a day", "A tall ladder"}  # fmt: skip
    assert [who for who, _ in await notices(pool, "listing_match")] == ["bob", "erin"]
    async with pool.acquire() as conn:
        mails = await conn.fetch(
            "SELECT recipient, context->>'kind' AS kind, context FROM outgoing_mail"
            " WHERE template = 'notification'"
        )
    assert [(m["recipient"], m["kind"]) for m in mails] == [("bob@e.org", "listing_match")]
    # which reads as a mail about a match, with its way out
    message = compose(settings, mail_id=1, recipient="bob@e.org", template="notification",
                      context=orjson.loads(mails[0]["context"]), created_at=datetime.now(UTC),
                      unsubscribe_url="http://localhost/mail/unsubscribe/x")  # fmt: skip
    assert message["Subject"] == (
        "@alice posted “Aluminium ladder, 3 m”, which matches one of your listings."
    )
    text = message.get_body(("plain",)).get_content()
    assert f"/listings/{offered.uid}" in text
    assert "about new listings that match yours or your saved searches" in " ".join(text.split())


async def test_words_query__keeps_words_not_syntax():
    assert matching.words_query("Need a drill & the saw!") == "drill:* | saw:*"
    assert matching.words_query("a | b") is None


async def test_on_new_listing__no_match_between_people_who_block_each_other(
    pool,  # noqa: F811
    settings,
    people,  # noqa: F811
):
    # Given bob blocked alice, who offers a drill
    alice, bob = await people("alice", "bob")
    async with pool.acquire() as conn:
        await blocks_q.upsert_blocked(conn, bob.id, "block", target_account_id=alice.id)
    await post(pool, settings, alice, kind="give", category="tools", title="Cordless drill")

    # When bob asks for a drill
    asked = await post(pool, settings, bob, purpose="request", kind="give", category="tools",
                       title="Drill wanted")  # fmt: skip

    # Then her offer is no match for him, and she is not told of him
    assert await matching.matches_for(pool, asked.id) == []
    assert await notices(pool, "listing_match") == []


async def test_on_edited_listing__matched_anew_and_nobody_told_twice(
    pool,  # noqa: F811
    settings,
    people,  # noqa: F811
):
    # Given bob asks for a ladder, which matches nothing, and alice offers a drill
    bob, alice = await people("bob", "alice")
    drill = await post(pool, settings, alice, kind="give", category="tools", title="Cordless drill")
    asked = await post(pool, settings, bob, purpose="request", kind="give", category="tools",
                       title="A tall ladder")  # fmt: skip
    assert await matching.matches_for(pool, asked.id) == []

    # When bob edits his request to ask for a drill, then edits its description only
    form = {"purpose": "request", "kind": "give", "category": "tools", "place": "Elm Street",
            "title": "A drill for two shelves"}  # fmt: skip
    await listings.update_listing(pool, settings, bob, asked.uid, form, [])
    await listings.update_listing(pool, settings, bob, asked.uid,
                                  {**form, "description": "Any drill will do."}, [])  # fmt: skip

    # Then the drill is his match, both ways, and alice was told once
    assert [m.title for m in await matching.matches_for(pool, asked.id)] == ["Cordless drill"]
    assert [m.title for m in await matching.matches_for(pool, drill.id)] == [
        "A drill for two shelves"]  # fmt: skip
    assert [who for who, _ in await notices(pool, "listing_match")] == ["alice"]

    # When he edits it back to a ladder, the drill is no longer a match on either side
    await listings.update_listing(pool, settings, bob, asked.uid,
                                  {**form, "title": "A tall ladder"}, [])  # fmt: skip
    assert await matching.matches_for(pool, asked.id) == []
    assert await matching.matches_for(pool, drill.id) == []


async def test_on_new_listing__the_nodes_match_km_reaches_as_far_as_an_admin_says(
    pool,  # noqa: F811
    settings,
    people,  # noqa: F811
    client,
):
    # Given a drill press offered in Rotterdam, 57 km away
    alice, bob = await people("alice", "bob")
    await post(pool, settings, alice, kind="give", category="tools", title="Drill press", **FAR)
    asked = {"purpose": "request", "kind": "give", "category": "tools", **HERE}

    # Then a request for one here does not meet it within the 10 km of a new node
    near = await post(pool, settings, bob, title="Need a drill press", **asked)
    assert await matching.matches_for(pool, near.id) == []

    # When the admin widens matching to 60 km (as /admin/settings stores it), it does
    await people("ada", admin=True)
    await log_in(client, "ada", "correct horse battery")
    refused = await post_form(client, "/admin/settings", {**GOOD, "match_km": "0"})
    assert refused.status == 422
    assert "Give a whole number of kilometres from 1 to 100." in await refused.text()
    saved = await post_form(client, "/admin/settings", {**GOOD, "match_km": "60"})
    assert saved.status == 200
    wider = await post(pool, client.app[SETTINGS], bob, title="A drill press please", **asked)
    assert [match.title for match in await matching.matches_for(pool, wider.id)] == ["Drill press"]
