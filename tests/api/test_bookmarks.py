"""Bookmarks: a resident keeps listings for later, here only; the list is paged by the
bookmark's own id."""

from __future__ import annotations

from yarl import URL

from commonsfed.web.keys import POOL
from tests.api.helpers import posted, resident
from tests.api.schema import check


async def test_bookmark__flags_the_status_for_its_resident_only(client):
    alice, bob = await resident(client.app, "alice"), await resident(client.app, "bob")
    listing = await posted(client, alice)
    response = await client.post(f"/api/v1/statuses/{listing['id']}/bookmark", headers=bob)
    body = await response.json()
    check("Status", body)
    assert body["bookmarked"] is True
    as_alice = await (await client.get(f"/api/v1/statuses/{listing['id']}",
                                       headers=alice)).json()  # fmt: skip
    assert as_alice["bookmarked"] is False
    # nothing federates and nobody is told
    assert await client.app[POOL].fetchval("SELECT count(*) FROM notifications") == 0
    response = await client.post(f"/api/v1/statuses/{listing['id']}/unbookmark", headers=bob)
    assert (await response.json())["bookmarked"] is False
    assert await (await client.get("/api/v1/bookmarks", headers=bob)).json() == []


async def test_bookmarks__newest_bookmark_first_with_links(client):
    alice, bob = await resident(client.app, "alice"), await resident(client.app, "bob")
    first, second, third = [
        await posted(client, alice, f"#offer #give #tools Thing {n}") for n in (1, 2, 3)
    ]
    for status in (second, third, first):
        await client.post(f"/api/v1/statuses/{status['id']}/bookmark", headers=bob)
    response = await client.get("/api/v1/bookmarks?limit=2", headers=bob)
    page = await response.json()
    assert [s["id"] for s in page] == [first["id"], third["id"]]
    assert all(s["bookmarked"] for s in page)
    older = URL(response.headers["Link"].split(";")[0].strip("<>"))
    rest = await (await client.get(older.path_qs, headers=bob)).json()
    assert [s["id"] for s in rest] == [second["id"]]
    newer = URL(response.headers["Link"].split(",")[1].split(";")[0].strip(" <>"))
    assert await (await client.get(newer.path_qs, headers=bob)).json() == []


async def test_bookmark__a_deleted_listing_leaves_the_list(client):
    alice, bob = await resident(client.app, "alice"), await resident(client.app, "bob")
    listing = await posted(client, alice)
    await client.post(f"/api/v1/statuses/{listing['id']}/bookmark", headers=bob)
    await client.delete(f"/api/v1/statuses/{listing['id']}", headers=alice)
    assert await (await client.get("/api/v1/bookmarks", headers=bob)).json() == []


async def test_bookmarks__need_a_token_with_the_scope(client):
    assert (await client.get("/api/v1/bookmarks")).status == 401
    bob = await resident(client.app, "bob", scopes="read:statuses")
    assert (await client.get("/api/v1/bookmarks", headers=bob)).status == 403
