"""Favourites: a resident's Like of a listing, its author notified, the flags and counts on
every status, the resident's list paged by the favourite's own id."""

from __future__ import annotations

from yarl import URL

from commonsfed.web.keys import POOL
from tests.api.conftest import bearer, token_for
from tests.api.helpers import posted, resident
from tests.api.schema import check
from tests.builders import register_and_login


async def notified(client, name: str) -> list[tuple[str, str]]:
    rows = await client.app[POOL].fetch("""
        SELECT n.kind, n.actor_uri FROM notifications n JOIN accounts a ON a.id = n.account_id
        WHERE a.username = $1 ORDER BY n.id
    """, name)  # fmt: skip
    return [(row[0], row[1]) for row in rows]


async def test_favourite__of_a_listing_here_notifies_its_author(client):
    alice, bob = await resident(client.app, "alice"), await resident(client.app, "bob")
    listing = await posted(client, alice)
    response = await client.post(f"/api/v1/statuses/{listing['id']}/favourite", headers=bob)
    assert response.status == 200
    body = await response.json()
    check("Status", body)
    assert (body["favourited"], body["favourites_count"]) == (True, 1)
    assert await notified(client, "alice") == [("favourite", "http://localhost/users/bob")]
    # others see the count, not bob's flag
    as_alice = await (await client.get(f"/api/v1/statuses/{listing['id']}",
                                       headers=alice)).json()  # fmt: skip
    assert (as_alice["favourited"], as_alice["favourites_count"]) == (False, 1)
    # favouriting again changes nothing
    await client.post(f"/api/v1/statuses/{listing['id']}/favourite", headers=bob)
    assert len(await notified(client, "alice")) == 1
    # When bob takes it back, the favourite and its notification go
    response = await client.post(f"/api/v1/statuses/{listing['id']}/unfavourite", headers=bob)
    body = await response.json()
    assert (body["favourited"], body["favourites_count"]) == (False, 0)
    assert await notified(client, "alice") == []


async def test_favourite__ones_own_listing_notifies_nobody(client):
    alice = await resident(client.app, "alice")
    listing = await posted(client, alice)
    response = await client.post(f"/api/v1/statuses/{listing['id']}/favourite", headers=alice)
    assert (await response.json())["favourited"] is True
    assert await notified(client, "alice") == []


async def test_favourite__a_message_is_422(client):
    alice, bob = await resident(client.app, "alice"), await resident(client.app, "bob")
    listing = await posted(client, alice)
    answer = await posted(client, bob, "Me!", in_reply_to_id=listing["id"], visibility="direct")
    response = await client.post(f"/api/v1/statuses/{answer['id']}/favourite", headers=alice)
    assert response.status == 422
    assert "private" in (await response.json())["error"]


async def test_favourite__between_people_who_block_each_other_is_refused(client):
    alice, bob = await resident(client.app, "alice"), await resident(client.app, "bob")
    listing = await posted(client, alice)
    await client.app[POOL].execute("""
        INSERT INTO resident_blocks (account_id, kind, target_account_id)
        SELECT a.id, 'block', b.id FROM accounts a, accounts b
        WHERE a.username = 'alice' AND b.username = 'bob'
    """)  # fmt: skip
    response = await client.post(f"/api/v1/statuses/{listing['id']}/favourite", headers=bob)
    assert response.status == 403
    assert await notified(client, "alice") == []


async def test_favourite__an_unknown_status_is_404_and_a_read_token_403(client):
    bob = await resident(client.app, "bob")
    assert (await client.post("/api/v1/statuses/123/favourite", headers=bob)).status == 404
    reader = await resident(client.app, "carol", scopes="read")
    alice = await resident(client.app, "alice")
    listing = await posted(client, alice)
    response = await client.post(f"/api/v1/statuses/{listing['id']}/favourite", headers=reader)
    assert response.status == 403


async def test_favourites__the_residents_list_newest_favourite_first_with_links(client):
    # Given three listings; bob favourites the newest first, then the oldest, then the middle
    alice, bob = await resident(client.app, "alice"), await resident(client.app, "bob")
    first, second, third = [
        await posted(client, alice, f"#offer #give #tools Thing {n}") for n in (1, 2, 3)
    ]
    for status in (third, first, second):
        await client.post(f"/api/v1/statuses/{status['id']}/favourite", headers=bob)
    # When bob's app reads his favourites two at a time
    response = await client.get("/api/v1/favourites?limit=2", headers=bob)
    page = await response.json()
    for status in page:
        check("Status", status)
    # Then by when he favourited them, not by the statuses' age
    assert [s["id"] for s in page] == [second["id"], first["id"]]
    assert all(s["favourited"] for s in page)
    older = URL(response.headers["Link"].split(";")[0].strip("<>"))
    rest = await (await client.get(older.path_qs, headers=bob)).json()
    assert [s["id"] for s in rest] == [third["id"]]
    # and alice has none
    assert await (await client.get("/api/v1/favourites", headers=alice)).json() == []


async def test_favourite__shows_on_the_authors_notifications_page(client):
    # Given alice logged in on the web, and bob's app favouriting her listing
    await register_and_login(client, "alice")
    alice = bearer(await token_for(client.app, "alice"))
    bob = await resident(client.app, "bob")
    listing = await posted(client, alice)
    await client.post(f"/api/v1/statuses/{listing['id']}/favourite", headers=bob)
    # When she opens her notifications
    page = await (await client.get("/notifications")).text()
    # Then the favourite reads as one, by bob as people here call him
    assert "favourited your listing “Cordless drill”" in page
    assert "@bob" in page and "http://localhost/users/bob" not in page
