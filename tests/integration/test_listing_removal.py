"""Removing a listing for good: only its author or a moderator (with a reason), a Delete
with a Tombstone for everyone who had it, nothing left behind but its id, which answers 410
Gone."""

from __future__ import annotations

import orjson
import pytest

from commonsfed.services.photos import media_dir
from commonsfed.web.keys import POOL
from tests.builders import photo_bytes, post_form, post_listing

AS2 = {"Accept": "application/activity+json"}


@pytest.fixture
def resident(make_resident):
    return make_resident


async def posted(client) -> str:
    response = await post_listing(
        client, {"title": "Cordless drill", "alt_1": "A green drill"},
        photos=[("photo_1", "drill.jpg", photo_bytes())],
    )  # fmt: skip
    assert response.status == 303, await response.text()
    return response.headers["Location"].rsplit("/", 1)[1]


async def remove(client, uid: str):
    return await post_form(client, f"/listings/{uid}/remove", {},
                           form_path=f"/listings/{uid}", allow_redirects=False)


async def counts(pool) -> dict[str, int]:
    async with pool.acquire() as conn:
        row = await conn.fetchrow("""
            SELECT (SELECT count(*) FROM listings) AS listings,
                   (SELECT count(*) FROM listing_photos) AS photos,
                   (SELECT count(*) FROM conversations) AS conversations,
                   (SELECT count(*) FROM removed_listings) AS removed
        """)  # fmt: skip
    return dict(row)


async def test_remove__by_the_author_deletes_it_and_leaves_a_tombstone(resident, settings):
    alice = await resident("alice")
    uid = await posted(alice)
    bob = await resident("bob")
    await post_form(bob, f"/listings/{uid}/answers", {"message": "May I?"},
                    form_path=f"/listings/{uid}")
    pool = alice.server.app[POOL]
    assert len(list(media_dir(settings).iterdir())) == 3  # a photo, its 2 renditions

    page = await (await alice.get(f"/listings/{uid}")).text()
    assert "Remove for good" in page
    response = await remove(alice, uid)

    assert response.status == 303 and response.headers["Location"] == "/my/listings"
    assert await counts(pool) == {"listings": 0, "photos": 0, "conversations": 0, "removed": 1}
    assert list(media_dir(settings).iterdir()) == []
    gone = await alice.get(f"/listings/{uid}")
    assert gone.status == 410 and "was removed" in await gone.text()
    tombstone = await alice.get(f"/listings/{uid}", headers=AS2)
    document = await tombstone.json(content_type=None)
    assert tombstone.status == 410
    assert document["type"] == "Tombstone" and document["id"] == f"http://localhost/listings/{uid}"
    async with pool.acquire() as conn:
        delete = orjson.loads(await conn.fetchval(
            "SELECT document FROM activities WHERE type = 'Delete'"))
    assert delete["actor"] == "http://localhost/users/alice"
    assert delete["object"] == {**delete["object"], "type": "Tombstone", "formerType": "Note",
                                "id": f"http://localhost/listings/{uid}"}
    assert "http://localhost/users/neighbourhood/followers" in delete["cc"]


async def test_remove__by_someone_else_is_refused_and_changes_nothing(resident):
    alice = await resident("alice")
    uid = await posted(alice)
    bob = await resident("bob")
    pool = alice.server.app[POOL]
    before = await counts(pool)

    response = await remove(bob, uid)

    assert response.status == 403
    assert "Only the person who posted this listing or a moderator" in await response.text()
    assert await counts(pool) == before
    assert "Remove for good" not in await (await bob.get(f"/listings/{uid}")).text()


async def test_remove__by_a_moderator_needs_a_reason(resident):
    alice = await resident("alice")
    uid = await posted(alice)
    pool = alice.server.app[POOL]
    moderator = await resident("erin")
    async with pool.acquire() as conn:
        await conn.execute("UPDATE accounts SET role = 'moderator' WHERE username = 'erin'")

    without = await remove(moderator, uid)
    assert without.status == 422 and "Say why" in await without.text()
    assert (await counts(pool))["listings"] == 1

    with_reason = await post_form(moderator, f"/listings/{uid}/remove", {"reason": "Spam."},
                                  form_path=f"/listings/{uid}", allow_redirects=False)
    assert with_reason.status == 303
    assert (await counts(pool))["listings"] == 0


async def test_remove__of_no_such_listing_is_a_404(resident):
    alice = await resident("alice")
    response = await post_form(alice, "/listings/nothing/remove", {}, form_path="/",
                               allow_redirects=False)
    assert response.status == 404
