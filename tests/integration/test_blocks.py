"""Blocks, mutes and hidden domains between residents of one node, through the web, on a real
PostgreSQL: what a block ends and refuses, what a mute hides (and from whom), the settings
section, and the bad input each form gets.

Alice, Bob and Carol are residents, each with a browser of their own.
"""

from __future__ import annotations

import html

import pytest

from commonsfed.services import blocks
from commonsfed.web.keys import POOL
from tests.builders import post_form
from tests.integration.test_answers import (
    answer,
    answered,
    decide,
    new_listing,
    notified,
    reply,
    states,
)


@pytest.fixture
def pool(alice):
    return alice.server.app[POOL]


async def change(client, who: str, action: str = "block"):
    return await post_form(client, "/settings/blocks", {"who": who, "action": action},
                           form_path="/settings/blocks")  # fmt: skip


async def text(response) -> str:
    return html.unescape(await response.text())


async def rows(pool, sql: str, *args) -> list[tuple]:
    async with pool.acquire() as conn:
        return [tuple(row) for row in await conn.fetch(sql, *args)]


# --- blocking --------------------------------------------------------------------------------


async def test_block__their_answer_leaves_the_line_and_the_next_in_line_is_told(
    pool, alice, bob, carol
):
    # Given alice's apples reserved for Bob, with Carol waiting behind him
    uid = await new_listing(alice, title="Apples")
    bobs = await answered(bob, uid)
    await answered(carol, uid)
    assert (await decide(alice, bobs, "reserve")).status == 303

    # When alice blocks Bob
    response = await change(alice, "@bob")

    # Then Bob is declined as a decline would, and Carol is offered the apples
    assert response.status == 200
    assert "You have blocked @bob." in await text(response)
    assert await states(pool, uid) == {"bob": "declined", "carol": "offered", "listing": "open"}
    assert await notified(pool, "carol") == ["offered_to_you"]
    assert "declined" in await notified(pool, "bob")


async def test_block__they_can_no_longer_answer_or_write_and_are_told_why(pool, alice, bob):
    uid = await new_listing(alice, title="Apples")
    bobs = await answered(bob, uid)
    other = await new_listing(alice, title="Pears")
    await change(alice, "bob")  # the @ is optional

    answering = await answer(bob, other, "Pears for me?")
    writing = await reply(bob, bobs, "But why?")
    page = await text(await bob.get(f"/conversations/{bobs}"))

    assert answering.status == 403 and writing.status == 403
    message = "You cannot answer @alice's listings or write to them: they have blocked you."
    assert message in await text(answering) and message in await text(writing)
    assert message in page and 'action="/conversations/' + str(bobs) + '/messages"' not in page
    assert await rows(pool, "SELECT body FROM messages ORDER BY id") == [("Yes please!",)]


async def test_block__withdraws_the_blocker_s_own_answers_and_keeps_them_from_writing(
    pool, alice, bob
):
    # alice answered Bob's drill; blocking Bob ends that too, both ways
    uid = await new_listing(bob, title="Drill")
    alices = await answered(alice, uid)

    await change(alice, "@bob")

    assert await states(pool, uid) == {"alice": "withdrawn", "listing": "open"}
    assert await notified(pool, "bob") == ["new_answer", "withdrawn"]
    refused = await answer(alice, await new_listing(bob, title="Saw"), "Me?")
    assert refused.status == 403
    assert "You have blocked @bob, so you cannot answer their listings" in await text(refused)
    assert (await reply(bob, alices, "Still there?")).status == 403


async def test_block__yourself_nobody_or_nothing_is_refused_and_nothing_changes(pool, alice):
    cases = {
        "@alice": "That is you: you cannot block or mute yourself.",
        "alice@localhost": "That is you",
        "@nobody": "There is no one called @nobody here.",
        "": "Enter a handle like @bob",
        "x" * 3000: "Enter a handle like @bob",
    }
    for who, message in cases.items():
        response = await change(alice, who)
        assert response.status == 422, who
        assert message in await text(response), who
    assert await rows(pool, "SELECT * FROM resident_blocks") == []


async def test_block__an_unknown_action_is_refused(pool, alice, bob):
    response = await change(alice, "@bob", action="report")

    assert response.status == 400 and "Choose whether to block or to mute." in await text(response)
    assert await rows(pool, "SELECT * FROM resident_blocks") == []


async def test_unblock__lets_them_answer_again(pool, alice, bob):
    uid = await new_listing(alice, title="Apples")
    await change(alice, "@bob")
    [(row_id,)] = await rows(pool, "SELECT id FROM resident_blocks")

    response = await post_form(alice, "/settings/blocks/undo", {"id": str(row_id)},
                               form_path="/settings/blocks")  # fmt: skip

    assert response.status == 200 and "You have unblocked @bob." in await text(response)
    assert (await answer(bob, uid)).status == 303
    again = await post_form(alice, "/settings/blocks/undo", {"id": str(row_id)},
                            form_path="/settings/blocks")  # fmt: skip
    assert again.status == 400 and "You do not block or mute this person" in await text(again)


# --- muting ----------------------------------------------------------------------------------


async def test_mute__hides_their_listings_from_the_muter_only(pool, alice, bob, carol, client):
    await new_listing(bob, title="Bob's plums")
    await new_listing(carol, title="Carol's pears")

    response = await change(alice, "@bob", action="mute")

    assert "You have muted @bob." in await text(response)
    for path in ("/explore", "/", "/feed.atom", "/categories/food/feed.rss", "/users/bob/feed.atom"):
        assert "Bob's plums" not in await text(await alice.get(path)), path
        assert "Bob's plums" in await text(await carol.get(path)), path
        assert "Bob's plums" in await text(await client.get(path)), path  # a visitor
    assert "Carol's pears" in await text(await alice.get("/explore"))
    # a feed read while logged in is that resident's: no shared cache may keep it
    assert (await alice.get("/feed.atom")).headers["Cache-Control"].startswith("private")
    assert (await client.get("/feed.atom")).headers["Cache-Control"].startswith("public")


async def test_mute__refuses_nothing(pool, alice, bob):
    uid = await new_listing(alice, title="Apples")
    assert (await change(alice, "@bob", action="mute")).status == 200

    assert (await answer(bob, uid)).status == 303


async def test_mute__of_someone_blocked_is_refused__a_block_of_someone_muted_replaces_it(
    pool, alice, bob, carol
):
    await change(alice, "@bob")
    refused = await change(alice, "@bob", action="mute")
    await change(alice, "@carol", action="mute")
    await change(alice, "@carol")

    assert refused.status == 422 and "Unblock them first" in await text(refused)
    kinds = await rows(pool, """
        SELECT a.username, b.kind FROM resident_blocks b
        JOIN accounts a ON a.id = b.target_account_id ORDER BY a.username
    """)  # fmt: skip
    assert kinds == [("bob", "block"), ("carol", "block")]


async def test_block_and_mute__at_most_max_people(pool, alice, bob, carol, monkeypatch):
    monkeypatch.setattr(blocks, "MAX_PEOPLE", 1)
    await change(alice, "@bob", action="mute")

    refused = await change(alice, "@carol", action="mute")
    turned = await change(alice, "@bob")  # the same person again takes no more room

    assert refused.status == 422 and "as many as one can" in await text(refused)
    assert turned.status == 200


# --- the settings section --------------------------------------------------------------------


async def test_blocks_page__lists_people_and_domains_and_prefills_from_a_block_link(
    alice, bob, carol
):
    await change(alice, "@bob")
    await change(alice, "@carol", action="mute")
    await post_form(alice, "/settings/blocks/domains", {"domain": "https://Spam.Example/@x"},
                    form_path="/settings/blocks")  # fmt: skip

    page = await text(await alice.get("/settings/blocks?who=%40maria%40mastodon.test"))

    assert '<a href="/settings/blocks" aria-current="page">Blocks and mutes</a>' in page
    blocked, muted = page.split("<h2>Blocked</h2>")[1].split("<h2>Muted</h2>")
    assert "@bob" in blocked and "Unblock" in blocked and "@carol" not in blocked
    assert "@carol" in muted.split("<h2>Hidden domains</h2>")[0]
    assert "spam.example" in page and "Show again" in page
    assert 'value="@maria@mastodon.test"' in page
    assert "Blocks and mutes" in await text(await alice.get("/settings"))


async def test_hide_domain__bad_domains_get_a_message(pool, alice):
    for value, message in {"not a domain!": "Enter a domain like mastodon.social.",
                           "": "Enter a domain like mastodon.social.",
                           "localhost": "That is this neighbourhood."}.items():  # fmt: skip
        response = await post_form(alice, "/settings/blocks/domains", {"domain": value},
                                   form_path="/settings/blocks")  # fmt: skip
        assert response.status == 422 and message in await text(response), value
    assert await rows(pool, "SELECT * FROM resident_domain_hides") == []


async def test_conversation__offers_to_block_the_other_party(pool, alice, bob):
    uid = await new_listing(alice, title="Apples")
    bobs = await answered(bob, uid)

    authors = await alice.get(f"/conversations/{bobs}")
    respondents = await bob.get(f"/conversations/{bobs}")

    assert '<a href="/settings/blocks?who=%40bob">Block or mute @bob</a>' in await authors.text()
    assert '<a href="/settings/blocks?who=%40alice">Block or mute @alice</a>' in (
        await respondents.text()
    )


async def test_profile_page__offers_another_resident_a_block_link_but_not_its_owner(alice, bob):
    bobs_view = await text(await bob.get("/users/alice"))
    alices_view = await text(await alice.get("/users/alice"))

    assert '<a href="/settings/blocks?who=%40alice">Block or mute' in bobs_view
    assert "/settings/blocks?who=" not in alices_view
