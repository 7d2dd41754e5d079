"""Answers to listings through the web, on a real PostgreSQL: answering, the line,
reservations, releases, declines, completion, replies and who may see what.

Alice posts; Bob and Carol answer. Each resident has a client (a browser) of their own.
"""

from __future__ import annotations

import pytest

from commonsfed.services import accounts, answers
from commonsfed.services.errors import NotAllowed
from commonsfed.web.keys import POOL
from tests.builders import post_form, post_listing


@pytest.fixture
def resident(make_resident):
    return make_resident


@pytest.fixture
def pool(alice):
    return alice.server.app[POOL]


# --- helpers -------------------------------------------------------------------------------


async def new_listing(client, **fields) -> str:
    response = await post_listing(client, fields)
    assert response.status == 303, await response.text()
    return response.headers["Location"].rsplit("/", 1)[1]


async def answer(client, uid: str, message: str = "I would love some, can I come by tonight?"):
    return await post_form(
        client,
        f"/listings/{uid}/answers",
        {"message": message},
        form_path=f"/listings/{uid}/answers",
        allow_redirects=False,
    )


async def answered(client, uid: str, message: str = "Yes please!") -> int:
    """Answer and return the conversation's id."""
    response = await answer(client, uid, message)
    assert response.status == 303, await response.text()
    return int(response.headers["Location"].rsplit("/", 1)[1])


async def decide(client, conversation_id: int, action: str, **data):
    return await post_form(
        client,
        f"/conversations/{conversation_id}/{action}",
        data,
        form_path="/my/answers",
        allow_redirects=False,
    )


async def reply(client, conversation_id: int, message: str):
    return await post_form(
        client,
        f"/conversations/{conversation_id}/messages",
        {"message": message},
        form_path="/my/answers",
        allow_redirects=False,
    )


async def states(pool, uid: str) -> dict[str, str]:
    """{respondent username: conversation state}, plus "listing": the listing's state."""
    async with pool.acquire() as conn:
        rows = await conn.fetch(
            "SELECT a.username, c.state FROM conversations c JOIN listings l ON l.id = c.listing_id"
            " JOIN accounts a ON a.id = c.respondent_account_id WHERE l.uid = $1",
            uid,
        )
        listing = await conn.fetchval("SELECT state FROM listings WHERE uid = $1", uid)
    return {**{row["username"]: row["state"] for row in rows}, "listing": listing}


async def notified(pool, username: str) -> list[str]:
    async with pool.acquire() as conn:
        rows = await conn.fetch(
            "SELECT n.kind FROM notifications n JOIN accounts a ON a.id = n.account_id"
            " WHERE a.username = $1 ORDER BY n.id",
            username,
        )
    return [row["kind"] for row in rows]


async def counts(pool) -> dict[str, int]:
    async with pool.acquire() as conn:
        row = await conn.fetchrow(
            "SELECT (SELECT count(*) FROM conversations) AS conversations,"
            " (SELECT count(*) FROM messages) AS messages,"
            " (SELECT count(*) FROM notifications) AS notifications"
        )
    return dict(row)


async def listing_events(pool, uid: str) -> list[tuple[str, str]]:
    async with pool.acquire() as conn:
        rows = await conn.fetch(
            "SELECT e.state, a.username FROM listing_events e JOIN listings l ON l.id = e.listing_id"
            " LEFT JOIN accounts a ON a.id = e.actor_id WHERE l.uid = $1 AND e.change = 'state'"
            " ORDER BY e.id",
            uid,
        )
    return [tuple(row) for row in rows]


# --- answering -----------------------------------------------------------------------------


async def test_answer__starts_a_private_conversation_and_tells_the_author(pool, alice, bob):
    uid = await new_listing(alice)

    response = await answer(bob, uid, "Could I have three apples?")

    assert response.status == 303
    page = await bob.get(response.headers["Location"])
    assert "Could I have three apples?" in await page.text()
    assert await states(pool, uid) == {"bob": "waiting", "listing": "open"}
    assert await notified(pool, "alice") == ["new_answer"]
    author_view = await (await alice.get(f"/listings/{uid}/answers")).text()
    assert "@bob" in author_view and "Waiting in line" in author_view


async def test_answer__a_second_time_adds_to_the_same_conversation(pool, alice, bob):
    uid = await new_listing(alice)
    first = await answered(bob, uid, "Hello!")

    second = await answered(bob, uid, "Still interested, by the way.")

    assert second == first
    assert (await counts(pool))["conversations"] == 1
    assert await notified(pool, "alice") == ["new_answer", "new_message"]


@pytest.mark.parametrize(
    ("message", "error"),
    [
        ("   ", "Write a message first."),
        ("x" * 5001, "Use at most 5,000 characters; this message has 5,001."),
    ],
)
async def test_answer__a_bad_message_is_shown_next_to_the_field_and_stores_nothing(
    pool, alice, bob, message, error
):
    uid = await new_listing(alice)

    response = await answer(bob, uid, message)

    assert response.status == 422
    html = await response.text()
    assert f'<p class="error" id="e-message">{error}</p>' in html
    assert await counts(pool) == {"conversations": 0, "messages": 0, "notifications": 0}


async def test_answer__the_author_cannot_answer_their_own_listing(pool, alice):
    uid = await new_listing(alice)
    page = await (await alice.get(f"/listings/{uid}/answers")).text()

    response = await answer(alice, uid)

    assert "Answer privately" not in page
    assert response.status == 403
    assert "your own listing" in await response.text()
    assert await counts(pool) == {"conversations": 0, "messages": 0, "notifications": 0}


async def test_answer__a_closed_listing_takes_no_new_answers(pool, alice, bob):
    uid = await new_listing(alice)
    await post_form(
        alice, f"/listings/{uid}/state", {"state": "withdrawn"}, form_path=f"/listings/{uid}"
    )
    page = await (await bob.get(f"/listings/{uid}/answers")).text()

    response = await answer(bob, uid)

    assert "Answer privately" not in page and "closed to new answers" in page
    assert response.status == 409
    assert "This listing is closed to new answers." in await response.text()
    assert await counts(pool) == {"conversations": 0, "messages": 0, "notifications": 0}


async def test_answer__without_a_csrf_token_is_refused(pool, alice, bob):
    uid = await new_listing(alice)

    response = await bob.post(f"/listings/{uid}/answers", data={"message": "Hi"})

    assert response.status == 403
    assert (await counts(pool))["conversations"] == 0


# --- the line ------------------------------------------------------------------------------


async def test_reserve__reserves_the_listing_for_one_while_a_second_waits_in_line(
    pool, alice, bob, carol
):
    uid = await new_listing(alice)
    bobs = await answered(bob, uid)

    response = await decide(alice, bobs, "reserve")
    carols = await answered(carol, uid)

    assert response.status == 303
    assert await states(pool, uid) == {"bob": "reserved", "carol": "waiting", "listing": "reserved"}
    assert await listing_events(pool, uid) == [("reserved", "alice")]
    assert await notified(pool, "bob") == ["reserved_for_you"]
    assert await notified(pool, "alice") == ["new_answer", "new_answer"]
    carol_page = await (await carol.get(f"/conversations/{carols}")).text()
    assert "Number 1 in line." in carol_page


async def test_reserve__only_the_author_decides(pool, alice, bob, carol):
    uid = await new_listing(alice)
    bobs = await answered(bob, uid)

    by_respondent = await decide(bob, bobs, "reserve")
    by_stranger = await decide(carol, bobs, "complete")

    assert (by_respondent.status, by_stranger.status) == (403, 403)
    assert await states(pool, uid) == {"bob": "waiting", "listing": "open"}


async def test_reserve__refused_while_reserved_for_someone_else(pool, alice, bob, carol):
    uid = await new_listing(alice)
    bobs, carols = await answered(bob, uid), await answered(carol, uid)
    await decide(alice, bobs, "reserve")

    response = await decide(alice, carols, "reserve")

    assert response.status == 409
    assert "reserved for @bob" in await response.text()
    assert await states(pool, uid) == {"bob": "reserved", "carol": "waiting", "listing": "reserved"}


async def test_release__the_next_in_line_is_offered_the_listing_and_told(pool, alice, bob, carol):
    uid = await new_listing(alice)
    bobs, carols = await answered(bob, uid), await answered(carol, uid)
    await decide(alice, bobs, "reserve")

    response = await decide(alice, bobs, "release", then="waiting")

    assert response.status == 303
    assert await states(pool, uid) == {"bob": "waiting", "carol": "offered", "listing": "open"}
    assert await notified(pool, "carol") == ["offered_to_you"]
    assert await notified(pool, "bob") == ["reserved_for_you", "reservation_released"]
    assert await listing_events(pool, uid) == [("reserved", "alice"), ("open", "alice")]
    notes = await (await carol.get("/notifications")).text()
    assert "is free again and you are next in line" in notes
    # the author then reserves it for the one offered; the offer is taken up
    await decide(alice, carols, "reserve")
    assert await states(pool, uid) == {"bob": "waiting", "carol": "reserved", "listing": "reserved"}


async def test_release__declined_as_chosen(pool, alice, bob, carol):
    uid = await new_listing(alice)
    bobs, _ = await answered(bob, uid), await answered(carol, uid)
    await decide(alice, bobs, "reserve")

    await decide(alice, bobs, "release", then="declined")

    assert await states(pool, uid) == {"bob": "declined", "carol": "offered", "listing": "open"}
    assert await notified(pool, "bob") == ["reserved_for_you", "declined"]


async def test_release__with_nobody_else_in_line_just_opens_the_listing(pool, alice, bob):
    uid = await new_listing(alice)
    bobs = await answered(bob, uid)
    await decide(alice, bobs, "reserve")

    await decide(alice, bobs, "release")

    assert await states(pool, uid) == {"bob": "waiting", "listing": "open"}


async def test_decline__the_holder_of_the_reservation_releases_it(pool, alice, bob, carol):
    uid = await new_listing(alice)
    bobs, _ = await answered(bob, uid), await answered(carol, uid)
    await decide(alice, bobs, "reserve")

    response = await decide(alice, bobs, "decline")

    assert response.status == 303
    assert await states(pool, uid) == {"bob": "declined", "carol": "offered", "listing": "open"}
    assert await notified(pool, "bob") == ["reserved_for_you", "declined"]
    assert await notified(pool, "carol") == ["offered_to_you"]


async def test_decline__someone_waiting_is_told_and_leaves_the_line(pool, alice, bob, carol):
    uid = await new_listing(alice)
    bobs, carols = await answered(bob, uid), await answered(carol, uid)
    await decide(alice, bobs, "reserve")

    await decide(alice, carols, "decline")
    again = await decide(alice, carols, "decline")

    assert await states(pool, uid) == {
        "bob": "reserved",
        "carol": "declined",
        "listing": "reserved",
    }
    assert await notified(pool, "carol") == ["declined"]
    assert again.status == 409


async def test_complete__completes_the_listing_and_the_conversation(
    pool, alice, bob, carol, resident
):
    uid = await new_listing(alice)
    bobs, _ = await answered(bob, uid), await answered(carol, uid)
    await decide(alice, bobs, "reserve")

    response = await decide(alice, bobs, "complete")

    assert response.status == 303
    assert await states(pool, uid) == {
        "bob": "completed",
        "carol": "waiting",
        "listing": "completed",
    }
    assert await listing_events(pool, uid) == [("reserved", "alice"), ("completed", "alice")]
    assert await notified(pool, "bob") == ["reserved_for_you", "completed"]
    # closed now: the conversation goes on, new answers do not
    assert (await reply(bob, bobs, "Thanks, the apples were great!")).status == 303
    assert (await answer(await resident("dave"), uid)).status == 409


async def test_complete__refused_while_reserved_for_someone_else(pool, alice, bob, carol):
    uid = await new_listing(alice)
    bobs, carols = await answered(bob, uid), await answered(carol, uid)
    await decide(alice, bobs, "reserve")

    response = await decide(alice, carols, "complete")

    assert response.status == 409
    assert await states(pool, uid) == {"bob": "reserved", "carol": "waiting", "listing": "reserved"}


async def test_withdraw__a_respondent_leaves_and_the_next_is_offered(pool, alice, bob, carol):
    uid = await new_listing(alice)
    bobs, _ = await answered(bob, uid), await answered(carol, uid)
    await decide(alice, bobs, "reserve")

    response = await decide(bob, bobs, "withdraw")

    assert response.status == 303
    assert await states(pool, uid) == {"bob": "withdrawn", "carol": "offered", "listing": "open"}
    assert await notified(pool, "alice") == ["new_answer", "new_answer", "withdrawn"]


# --- the conversation ----------------------------------------------------------------------


async def test_reply__each_side_writes_and_the_other_side_is_told(pool, alice, bob):
    uid = await new_listing(alice)
    bobs = await answered(bob, uid)

    by_author = await reply(alice, bobs, "Sure, after six?")
    by_respondent = await reply(bob, bobs, "Perfect.")

    assert (by_author.status, by_respondent.status) == (303, 303)
    assert await notified(pool, "bob") == ["new_message"]
    assert await notified(pool, "alice") == ["new_answer", "new_message"]
    html = await (await alice.get(f"/conversations/{bobs}")).text()
    assert html.index("Yes please!") < html.index("Sure, after six?") < html.index("Perfect.")


async def test_reply__an_empty_message_is_shown_next_to_the_field(pool, alice, bob):
    uid = await new_listing(alice)
    bobs = await answered(bob, uid)

    response = await reply(alice, bobs, "")

    assert response.status == 422
    assert '<p class="error" id="e-message">Write a message first.</p>' in await response.text()
    assert (await counts(pool))["messages"] == 1


async def test_conversation__a_third_resident_can_neither_read_nor_write_in_it(
    pool, alice, bob, carol
):
    uid = await new_listing(alice)
    bobs = await answered(bob, uid, "My phone number is 555-0101")
    before = await counts(pool)

    read = await carol.get(f"/conversations/{bobs}")
    write = await reply(carol, bobs, "Me too!")
    answers_page = await (await carol.get(f"/listings/{uid}/answers")).text()

    assert read.status == 403 and "555-0101" not in await read.text()
    assert write.status == 403
    assert "555-0101" not in answers_page and "@bob" not in answers_page
    assert await counts(pool) == before


async def test_conversation__an_unknown_id_is_not_found(alice):
    response = await alice.get("/conversations/999999")

    assert response.status == 404


async def test_conversation__an_admin_may_read_and_decide_but_not_write(pool, settings, alice, bob):
    uid = await new_listing(alice)
    bobs = await answered(bob, uid)
    admin = await accounts.register(
        pool,
        settings,
        username="dora",
        email="dora@e.org",
        password="correct horse battery",
        role="admin",
        by_admin=True,
    )

    view = await answers.conversation(pool, admin, bobs)
    await answers.reserve(pool, settings, admin, bobs)
    with pytest.raises(NotAllowed):
        await answers.reply(pool, settings, admin, bobs, "Hello from the admins")

    assert [m.body for m in view.messages] == ["Yes please!"]
    assert await states(pool, uid) == {"bob": "reserved", "listing": "reserved"}


async def test_my_answers__lists_the_conversations_with_their_state(pool, alice, bob):
    uid = await new_listing(alice, title="A cordless drill")
    bobs = await answered(bob, uid)
    await decide(alice, bobs, "reserve")

    html = await (await bob.get("/my/answers")).text()

    assert "A cordless drill" in html and "Reserved" in html
    assert f'href="/conversations/{bobs}"' in html


async def test_listing_answers__the_author_sees_the_line_in_order_with_buttons(
    pool, alice, bob, carol
):
    uid = await new_listing(alice)
    bobs, carols = await answered(bob, uid), await answered(carol, uid)
    await decide(alice, bobs, "reserve")

    html = await (await alice.get(f"/listings/{uid}/answers")).text()

    assert html.index("@bob") < html.index("@carol")
    assert f'action="/conversations/{bobs}/release"' in html
    assert f'action="/conversations/{carols}/decline"' in html
    assert f'action="/conversations/{carols}/reserve"' not in html  # reserved for bob


async def test_logged_out_visitor__is_sent_to_log_in(alice, bob, client):
    uid = await new_listing(alice)
    bobs = await answered(bob, uid)

    response = await client.get(f"/conversations/{bobs}", allow_redirects=False)

    assert response.status == 303 and response.headers["Location"].startswith("/login")


async def test_listing_page__shows_the_answer_form_to_neighbours_and_the_line_to_the_author(
    pool, alice, bob
):
    uid = await new_listing(alice)
    await answer(bob, uid)

    for_alice = await (await alice.get(f"/listings/{uid}")).text()
    bob_view = await (await bob.get(f"/listings/{uid}")).text()

    assert "In the order they answered" in for_alice and "@bob" in for_alice
    assert "Open your conversation" in bob_view
