"""Thanks after a completed exchange, through the web on a real PostgreSQL: who may thank
whom and when, one thanks per side, edits and removal, and the profile that shows them.

Alice posts; Bob answers and she completes the exchange with him; Carol is a bystander.
"""

from __future__ import annotations

import pytest

from commonsfed.services import account_deletion, accounts, blocks
from commonsfed.web.keys import FEDERATION, POOL, SETTINGS
from tests.builders import DEFAULT_PASSWORD, post_form, post_listing

APPLES = {"purpose": "offer", "kind": "give", "title": "A crate of apples", "category": "food",
          "description": "From the tree in the yard.", "place": "Elm Street"}  # fmt: skip


@pytest.fixture
def pool(alice):
    return alice.server.app[POOL]


async def new_listing(client, **fields) -> str:
    response = await post_listing(client, {**APPLES, **fields})
    assert response.status == 303, await response.text()
    return response.headers["Location"].rsplit("/", 1)[1]


async def answered(client, uid: str) -> int:
    response = await post_form(client, f"/listings/{uid}/answers", {"message": "Yes please!"},
                               allow_redirects=False)  # fmt: skip
    assert response.status == 303, await response.text()
    return int(response.headers["Location"].rsplit("/", 1)[1])


async def decide(client, conversation_id: int, action: str):
    response = await post_form(client, f"/conversations/{conversation_id}/{action}", {},
                               form_path=f"/conversations/{conversation_id}",
                               allow_redirects=False)  # fmt: skip
    assert response.status == 303, await response.text()


async def completed(alice, bob, **fields) -> int:
    """Alice's listing, answered by Bob, reserved for him and completed: the conversation."""
    conv = await answered(bob, await new_listing(alice, **fields))
    await decide(alice, conv, "reserve")
    await decide(alice, conv, "complete")
    return conv


async def thank(client, conversation_id: int, text: str, action: str = ""):
    path = f"/conversations/{conversation_id}/thanks" + (f"/{action}" if action else "")
    return await post_form(client, path, {"thanks": text},
                           form_path=f"/conversations/{conversation_id}",
                           allow_redirects=False)  # fmt: skip


async def stored(pool) -> list[tuple[str, str]]:
    """(writer, text) of every thanks, oldest first."""
    rows = await pool.fetch("""
        SELECT a.username, t.body FROM thanks t JOIN accounts a ON a.id = t.writer_account_id
        ORDER BY t.id
    """)  # fmt: skip
    return [(row[0], row[1]) for row in rows]


async def test_thanks__left_after_completion_and_shown_on_the_profile(
    pool, alice, bob, make_client
):
    conv = await completed(alice, bob)
    page = await (await bob.get(f"/conversations/{conv}")).text()
    assert "Say thanks to @alice" in page

    response = await thank(bob, conv, "Lovely apples, and a lovely chat. Thank you!")

    assert response.status == 303
    assert response.headers["Location"] == f"/conversations/{conv}#thanks"
    assert await stored(pool) == [("bob", "Lovely apples, and a lovely chat. Thank you!")]
    visitor = await make_client()  # profiles are public
    profile = await (await visitor.get("/users/alice")).text()
    assert "Thanks received" in profile
    assert "Lovely apples, and a lovely chat. Thank you!" in profile
    assert "@bob" in profile and "A crate of apples" in profile
    # on the conversation page, alice sees it and may thank back; bob sees his own
    assert "@bob thanked you" in await (await alice.get(f"/conversations/{conv}")).text()
    assert "Your public thanks" in await (await bob.get(f"/conversations/{conv}")).text()
    # and alice is told, on her notifications page, with a link to the conversation
    notes = await (await alice.get("/notifications")).text()
    assert "@bob thanked you for" in notes and f'href="/conversations/{conv}"' in notes


async def test_thanks__both_sides_thank_each_other(pool, alice, bob):
    conv = await completed(alice, bob)

    assert (await thank(bob, conv, "Thank you, Alice!")).status == 303
    assert (await thank(alice, conv, "Thank you for coming by, Bob.")).status == 303

    assert await stored(pool) == [("bob", "Thank you, Alice!"),
                                  ("alice", "Thank you for coming by, Bob.")]  # fmt: skip
    assert "Thank you for coming by, Bob." in await (await alice.get("/users/bob")).text()
    assert "Thank you, Alice!" not in await (await alice.get("/users/bob")).text()


async def test_thanks__refused_before_the_exchange_is_completed(pool, alice, bob):
    conv = await answered(bob, await new_listing(alice))
    await decide(alice, conv, "reserve")
    assert "Say thanks" not in await (await bob.get(f"/conversations/{conv}")).text()

    response = await thank(bob, conv, "Thanks in advance!")

    assert response.status == 409
    assert "once the exchange is marked completed" in await response.text()
    assert await stored(pool) == []


async def test_thanks__refused_to_someone_outside_the_conversation(pool, alice, bob, carol):
    conv = await completed(alice, bob)

    response = await post_form(carol, f"/conversations/{conv}/thanks", {"thanks": "Thanks!"},
                               form_path="/my/answers", allow_redirects=False)  # fmt: skip

    assert response.status == 403
    assert "Only the two people of an exchange" in await response.text()
    assert await stored(pool) == []


async def test_thanks__refused_the_second_time(pool, alice, bob):
    conv = await completed(alice, bob)
    assert (await thank(bob, conv, "Thank you!")).status == 303

    response = await thank(bob, conv, "Thank you again!")

    assert response.status == 409
    assert "already thanked them" in await response.text()
    assert await stored(pool) == [("bob", "Thank you!")]


async def test_thanks__refused_when_empty(pool, alice, bob):
    conv = await completed(alice, bob)

    response = await thank(bob, conv, "  \r\n ")

    assert response.status == 422
    page = await response.text()
    assert "Write a few words of thanks first." in page and 'id="f-thanks"' in page
    assert await stored(pool) == []


async def test_thanks__refused_when_too_long(pool, alice, bob):
    conv = await completed(alice, bob)

    response = await thank(bob, conv, "x" * 501)

    assert response.status == 422
    page = await response.text()
    assert "Use at most 500 characters; this thanks has 501." in page
    assert "x" * 501 in page  # what was typed is given back
    assert await stored(pool) == []


async def test_thanks__edited_and_removed_by_its_writer(pool, alice, bob):
    conv = await completed(alice, bob)
    await thank(bob, conv, "Thanks!")

    assert (await thank(bob, conv, "Thanks, the apples made a fine pie.", "edit")).status == 303
    assert await stored(pool) == [("bob", "Thanks, the apples made a fine pie.")]
    assert "a fine pie" in await (await bob.get("/users/alice")).text()
    assert (await thank(bob, conv, "", "edit")).status == 422  # an edit cannot empty it
    assert await stored(pool) == [("bob", "Thanks, the apples made a fine pie.")]

    assert (await thank(bob, conv, "", "delete")).status == 303
    assert await stored(pool) == []
    assert "No thanks yet." in await (await bob.get("/users/alice")).text()
    # alice has none of her own to remove
    assert (await thank(alice, conv, "", "delete")).status == 409


async def test_profile__thanks_newest_first_open_listings_and_member_since(pool, alice, bob):
    first = await completed(alice, bob, title="A crate of apples")
    second = await completed(alice, bob, title="A jar of honey")
    await thank(bob, first, "Thanks for the apples.")
    await thank(bob, second, "Thanks for the honey.")
    await new_listing(alice, title="Plum jam")

    page = await (await bob.get("/users/alice")).text()

    assert page.index("Thanks for the honey.") < page.index("Thanks for the apples.")
    assert "Member since" in page
    listings = page[page.index("Open listings") : page.index("Thanks received")]
    assert "Plum jam" in listings and "A jar of honey" not in listings  # completed ones are not


async def test_thanks__its_note_is_served_at_its_id_until_removed(pool, alice, bob, make_client):
    conv = await completed(alice, bob)
    await thank(bob, conv, "Thank you!")
    ap_id = await pool.fetchval("SELECT ap_id FROM thanks")
    path = "/" + ap_id.split("/", 3)[3]
    peer = await make_client()

    response = await peer.get(path, headers={"Accept": "application/activity+json"})

    assert response.status == 200
    note = await response.json(content_type=None)
    assert (note["id"], note["type"], note["thanksFor"]) == (ap_id, "Note", note["inReplyTo"])
    assert note["attributedTo"].endswith("/users/bob")
    assert [tag["href"] for tag in note["tag"]] == [note["to"][0]]
    assert note["to"][0].endswith("/users/alice")
    browser = await peer.get(path, allow_redirects=False)
    assert browser.status == 303 and browser.headers["Location"].endswith("/users/alice")
    await thank(bob, conv, "", "delete")
    assert (await peer.get(path, headers={"Accept": "application/activity+json"})).status == 404


async def test_thanks__refused_when_a_block_stands_between_them(pool, alice, bob):
    conv = await completed(alice, bob)
    app = alice.server.app
    blocker = await accounts.get_by_username(pool, "alice")
    await blocks.block(app[FEDERATION], blocker, "@bob")

    response = await thank(bob, conv, "Thank you!")

    assert response.status == 403
    assert await stored(pool) == []


async def test_thanks__go_with_an_account_that_is_deleted(pool, alice, bob, make_client):
    conv = await completed(alice, bob)
    await thank(bob, conv, "Thank you!")
    await thank(alice, conv, "Thanks to you.")
    writer = await accounts.get_by_username(pool, "bob")

    await account_deletion.delete_account(pool, alice.server.app[SETTINGS], writer,
                                          password=DEFAULT_PASSWORD, address="127.0.0.1")  # fmt: skip

    assert await stored(pool) == []
    assert "No thanks yet." in await (await (await make_client()).get("/users/alice")).text()
