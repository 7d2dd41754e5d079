"""Answering a listing of another node from this node's pages: the form, its refusals, and
what a good answer leaves (a conversation here, an Offer queued for the author's inbox).

The listing is the captured FEP-0837 offer by carmen on south.test, stored as the inbox would
store it; no south.test runs here, so carmen is reachable only when her actor is cached.
"""

from __future__ import annotations

from urllib.parse import urlencode

import orjson
import pytest

from commonsfed.web.keys import POOL
from tests.builders import post_form
from tests.integration.remote import add_remote_actor
from tests.integration.test_explore import remote_listing, store_remote

URI = "https://south.test/listings/01HX7B2C4D6E8F0G2H4J6K8M0N"
CARMEN = "https://south.test/users/carmen"
PAGE = "/network/listing?" + urlencode({"uri": URI})


@pytest.fixture
async def pool(resident):
    return resident.server.app[POOL]


async def answer(client, message: str, uri: str = URI):
    return await post_form(client, "/network/listing/answers", {"uri": uri, "message": message},
                           form_path=PAGE, allow_redirects=False)  # fmt: skip


async def stored(pool) -> dict[str, int]:
    async with pool.acquire() as conn:
        row = await conn.fetchrow("""
            SELECT (SELECT count(*) FROM conversations) AS conversations,
                   (SELECT count(*) FROM messages) AS messages,
                   (SELECT count(*) FROM activities) AS activities
        """)  # fmt: skip
    return dict(row)


async def test_remote_listing__page_shows_it_with_its_origin_and_the_form(resident, pool):
    await store_remote(pool, remote_listing())

    page = await (await resident.get(PAGE)).text()

    assert "from south.test" in page and "Send my answer" in page
    assert f"<dd>{CARMEN}</dd>" in page  # her actor is not cached: her address
    async with pool.acquire() as conn:
        await add_remote_actor(conn, CARMEN)
    assert "<dd>@carmen@south.test</dd>" in await (await resident.get(PAGE)).text()
    assert f'<input type="hidden" name="uri" value="{URI}">' in page


async def test_remote_listing__unknown_is_a_404(resident, pool):
    assert (await resident.get(PAGE)).status == 404
    assert (await answer(resident, "Hello")).status == 404
    assert await stored(pool) == {"conversations": 0, "messages": 0, "activities": 0}


async def test_remote_answer__empty_message_is_shown_next_to_the_field(resident, pool):
    await store_remote(pool, remote_listing())

    response = await answer(resident, "   ")

    assert response.status == 422
    page = await response.text()
    assert 'id="e-message"' in page and "Write a message first." in page
    assert await stored(pool) == {"conversations": 0, "messages": 0, "activities": 0}


async def test_remote_answer__unreachable_author_keeps_the_message(resident, pool):
    await store_remote(pool, remote_listing())  # carmen is not cached, and south.test is down

    response = await answer(resident, "Could I have two seedlings?")

    assert response.status == 422
    page = await response.text()
    assert "cannot be reached right now" in page
    assert "Could I have two seedlings?</textarea>" in page
    assert await stored(pool) == {"conversations": 0, "messages": 0, "activities": 0}


async def test_remote_answer__of_a_closed_listing_is_refused(resident, pool):
    finished = remote_listing()
    finished["publishes"] = {**finished["publishes"], "vf:finished": True}
    await store_remote(pool, finished)
    async with pool.acquire() as conn:
        await add_remote_actor(conn, CARMEN)

    page = await (await resident.get(PAGE)).text()
    response = await answer(resident, "Still there?")

    assert "It takes no more answers." in page and "Send my answer" not in page
    assert response.status == 409 and "closed to new answers" in await response.text()
    assert await stored(pool) == {"conversations": 0, "messages": 0, "activities": 0}


async def test_remote_answer__sends_an_offer_and_opens_a_conversation(resident, pool):
    await store_remote(pool, remote_listing())
    async with pool.acquire() as conn:
        await add_remote_actor(conn, CARMEN)

    response = await answer(resident, "Could I have two seedlings?")

    assert response.status == 303
    conversation = await (await resident.get(response.headers["Location"])).text()
    assert "Your answer to @carmen@south.test" in conversation
    assert "Could I have two seedlings?" in conversation
    async with pool.acquire() as conn:
        offer = orjson.loads(await conn.fetchval("SELECT document FROM activities"))
        inboxes = [row[0] for row in await conn.fetch("SELECT inbox FROM deliveries")]
    assert offer["type"] == "Offer" and offer["to"] == [CARMEN]
    assert offer["object"]["stipulates"]["satisfies"] == URI + "#primary"
    assert "two seedlings" in offer["content"]
    assert inboxes == ["https://south.test/inbox"]
    # the listing's page now links to the conversation instead of offering the form again
    again = await (await resident.get(PAGE)).text()
    assert "You answered this listing" in again and "Send my answer" not in again


async def test_remote_answer__an_author_with_a_huge_name_still_gets_the_answer(resident, pool):
    await store_remote(pool, remote_listing())
    async with pool.acquire() as conn:
        actor = await add_remote_actor(conn, CARMEN)
        await conn.execute("UPDATE remote_actors SET preferred_username = $2 WHERE uri = $1",
                           actor.uri, "c" * 5000)

    response = await answer(resident, "Hello!")

    assert response.status == 303
    async with pool.acquire() as conn:
        handle = await conn.fetchval("SELECT remote_author_handle FROM conversations")
    assert len(handle) == 300 and handle.startswith("ccc")
