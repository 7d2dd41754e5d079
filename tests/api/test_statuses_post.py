"""Statuses posted by apps: an #offer or #request status is a listing, a direct reply to a
listing an answer, a direct reply to a message a message; deleting a listing by its status;
a status's context and source. Each refusal is sent and its message checked."""

from __future__ import annotations

from commonsfed.web.keys import POOL
from tests.api.helpers import DRILL, post_status, posted, resident, upload
from tests.api.schema import check


async def test_post_status__an_offer_with_a_photo_becomes_a_listing(client):
    # Given alice with a photo uploaded
    alice = await resident(client.app, "alice")
    media = await (await upload(client, alice, description="The drill, green")).json()
    # When her app posts a #offer #lend #tools status with it
    body = await posted(client, alice, DRILL, media_ids=[media["id"]])
    # Then it is a listing: title from the first line, the rest its description
    check("Status", body)
    row = await client.app[POOL].fetchrow(
        "SELECT uid, purpose, kind, category, title, description, place, details FROM listings"
    )
    assert (row["purpose"], row["kind"], row["category"]) == ("offer", "lend", "tools")
    assert row["title"] == "Cordless drill"
    assert row["description"] == "With two batteries."
    assert row["place"] == "Elm Street 4"
    assert body["url"] == f"http://localhost/listings/{row['uid']}"
    assert "Cordless drill" in body["content"]
    # and the photo is its photo, with its description as alt text
    [photo] = body["media_attachments"]
    assert photo["description"] == "The drill, green"
    assert await client.app[POOL].fetchval(
        "SELECT listing_id IS NOT NULL FROM media_uploads WHERE id = $1", int(media["id"])
    )


async def test_post_status__a_form_body_with_hashtags_on_a_line_of_their_own(client):
    alice = await resident(client.app, "alice")
    response = await client.post("/api/v1/statuses", data={
        "status": "#request #give #books\nA cookbook\nVegetarian, please.",
        "visibility": "public",
    }, headers=alice)  # fmt: skip
    assert response.status == 200, await response.text()
    row = await client.app[POOL].fetchrow("SELECT purpose, kind, title, place FROM listings")
    assert (row["purpose"], row["kind"], row["title"]) == ("request", "give", "A cookbook")
    assert row["place"]  # the neighbourhood, when no Where: line says otherwise


async def test_post_status__without_offer_or_request_is_422_saying_how(client):
    alice = await resident(client.app, "alice")
    response = await post_status(client, alice, "Anyone have a drill I could borrow?")
    assert response.status == 422
    error = (await response.json())["error"]
    assert "#offer or #request" in error and "#tools" in error and "first line" in error
    assert await client.app[POOL].fetchval("SELECT count(*) FROM listings") == 0


async def test_post_status__an_unknown_kind_is_422_naming_the_kinds(client):
    alice = await resident(client.app, "alice")
    response = await post_status(client, alice, "#offer #sell #tools Cordless drill")
    assert response.status == 422
    assert "#give #lend #swap #help" in (await response.json())["error"]


async def test_post_status__an_unknown_category_is_422_naming_the_categories(client):
    alice = await resident(client.app, "alice")
    response = await post_status(client, alice, "#offer #give #spaceships Rocket")
    assert response.status == 422
    error = (await response.json())["error"]
    assert "category" in error and "#food" in error


async def test_post_status__a_ride_without_its_lines_is_422_naming_them(client):
    alice = await resident(client.app, "alice")
    response = await post_status(client, alice, "#offer #ride #transport To the coast")
    assert response.status == 422
    error = (await response.json())["error"]
    assert "From:" in error and "To:" in error and "Leaves:" in error and "Seats:" in error
    # and with them, it is a ride
    text = ("#offer #ride #transport To the coast\nFrom: Station Square\nTo: Seaside\n"
            "Leaves: 2099-06-30 08:15\nSeats: 3")  # fmt: skip
    body = await posted(client, alice, text)
    details = await client.app[POOL].fetchval("SELECT details FROM listings")
    assert "Station Square" in details and "To the coast" in body["content"]


async def test_post_status__the_same_idempotency_key_gives_the_same_status(client):
    alice = await resident(client.app, "alice")
    headers = {**alice, "Idempotency-Key": "abc-123"}
    first = await posted(client, headers)
    again = await posted(client, headers)
    assert first["id"] == again["id"]
    assert await client.app[POOL].fetchval("SELECT count(*) FROM listings") == 1


async def test_post_status__someone_elses_media_is_422(client):
    alice, bob = await resident(client.app, "alice"), await resident(client.app, "bob")
    bobs = await (await upload(client, bob)).json()
    response = await post_status(client, alice, DRILL, media_ids=[bobs["id"]])
    assert response.status == 422
    assert bobs["id"] in (await response.json())["error"]
    assert await client.app[POOL].fetchval("SELECT count(*) FROM listings") == 0


async def test_post_status__one_photo_more_than_a_listing_takes_is_422(client):
    alice = await resident(client.app, "alice")
    ids = [(await (await upload(client, alice)).json())["id"] for _ in range(5)]
    response = await post_status(client, alice, DRILL, media_ids=ids)
    assert response.status == 422
    assert "at most 4 photos" in (await response.json())["error"]
    # nothing was attached: the photos can still be posted
    assert (
        await client.app[POOL].fetchval(
            "SELECT count(*) FROM media_uploads WHERE listing_id IS NULL"
        )
        == 5
    )


async def test_post_status__needs_the_write_scope(client):
    alice = await resident(client.app, "alice", scopes="read")
    response = await post_status(client, alice)
    assert response.status == 403


async def test_post_status__private_visibility_is_422(client):
    alice = await resident(client.app, "alice")
    response = await post_status(client, alice, DRILL, visibility="private")
    assert response.status == 422
    assert "public" in (await response.json())["error"]


# --- answers and messages ------------------------------------------------------------------


async def test_post_status__a_direct_reply_to_a_listing_is_an_answer(client):
    # Given alice's listing
    alice, bob = await resident(client.app, "alice"), await resident(client.app, "bob")
    listing = await posted(client, alice)
    # When bob's app replies to it directly, mentioning her as apps do
    body = await posted(client, bob, "@alice Could I borrow it on Saturday?",
                        in_reply_to_id=listing["id"], visibility="direct")  # fmt: skip
    # Then it is his answer: a direct status in a conversation with alice
    check("Status", body)
    assert (body["visibility"], body["in_reply_to_id"]) == ("direct", listing["id"])
    assert [m["username"] for m in body["mentions"]] == ["alice"]
    pool = client.app[POOL]
    assert await pool.fetchval("SELECT body FROM messages") == "Could I borrow it on Saturday?"
    assert (
        await pool.fetchval(
            "SELECT kind FROM notifications n JOIN accounts a ON a.id = n.account_id "
            "WHERE a.username = 'alice'"
        )
        == "new_answer"
    )
    # and alice's reply to it is a message in that conversation
    reply = await posted(client, alice, "Yes, come by at ten.", in_reply_to_id=body["id"],
                         visibility="direct")  # fmt: skip
    assert reply["in_reply_to_id"] == body["id"]
    assert await pool.fetchval("SELECT count(DISTINCT conversation_id) FROM messages") == 1


async def test_post_status__a_reply_to_a_message_of_others_is_404(client):
    alice, bob = await resident(client.app, "alice"), await resident(client.app, "bob")
    carol = await resident(client.app, "carol")
    listing = await posted(client, alice)
    answer = await posted(client, bob, "Me!", in_reply_to_id=listing["id"], visibility="direct")
    response = await post_status(client, carol, "Me too", in_reply_to_id=answer["id"],
                                 visibility="direct")  # fmt: skip
    assert response.status == 404


async def test_post_status__a_public_reply_is_422_saying_replies_are_direct(client):
    alice, bob = await resident(client.app, "alice"), await resident(client.app, "bob")
    listing = await posted(client, alice)
    response = await post_status(client, bob, "Me!", in_reply_to_id=listing["id"],
                                 visibility="public")  # fmt: skip
    assert response.status == 422
    assert "direct" in (await response.json())["error"]


async def test_post_status__a_direct_status_replying_to_nothing_is_422(client):
    bob = await resident(client.app, "bob")
    response = await post_status(client, bob, "Hello", visibility="direct")
    assert response.status == 422
    assert "in_reply_to_id" in (await response.json())["error"]


async def test_post_status__answering_ones_own_listing_is_refused(client):
    alice = await resident(client.app, "alice")
    listing = await posted(client, alice)
    response = await post_status(client, alice, "Hm", in_reply_to_id=listing["id"],
                                 visibility="direct")  # fmt: skip
    assert response.status == 403
    assert "your own listing" in (await response.json())["error"]


async def test_post_status__a_blocked_resident_cannot_answer(client):
    alice, bob = await resident(client.app, "alice"), await resident(client.app, "bob")
    listing = await posted(client, alice)
    pool = client.app[POOL]
    await pool.execute("""
        INSERT INTO resident_blocks (account_id, kind, target_account_id)
        SELECT a.id, 'block', b.id FROM accounts a, accounts b
        WHERE a.username = 'alice' AND b.username = 'bob'
    """)  # fmt: skip
    response = await post_status(client, bob, "Me!", in_reply_to_id=listing["id"],
                                 visibility="direct")  # fmt: skip
    assert response.status == 403
    assert await pool.fetchval("SELECT count(*) FROM messages") == 0


# --- deleting ------------------------------------------------------------------------------


async def test_delete_status__removes_the_listing_and_gives_its_source(client):
    alice = await resident(client.app, "alice")
    listing = await posted(client, alice)
    response = await client.delete(f"/api/v1/statuses/{listing['id']}", headers=alice)
    assert response.status == 200
    body = await response.json()
    check("Status", body)
    assert body["text"].startswith("#offer #lend #tools Cordless drill\nWith two batteries.")
    assert "Where: Elm Street 4" in body["text"]
    pool = client.app[POOL]
    assert await pool.fetchval("SELECT count(*) FROM listings") == 0
    assert await pool.fetchval("SELECT count(*) FROM removed_listings") == 1
    # and the text posts it again (delete and redraft)
    again = await posted(client, alice, body["text"])
    assert await pool.fetchval("SELECT title FROM listings") == "Cordless drill"
    assert again["id"] != listing["id"]


async def test_delete_status__of_another_residents_listing_is_refused(client):
    alice, bob = await resident(client.app, "alice"), await resident(client.app, "bob")
    listing = await posted(client, alice)
    response = await client.delete(f"/api/v1/statuses/{listing['id']}", headers=bob)
    assert response.status == 403
    assert "Only the person who posted" in (await response.json())["error"]
    assert await client.app[POOL].fetchval("SELECT count(*) FROM listings") == 1


async def test_delete_status__a_message_is_refused_with_the_reason(client):
    alice, bob = await resident(client.app, "alice"), await resident(client.app, "bob")
    listing = await posted(client, alice)
    answer = await posted(client, bob, "Me!", in_reply_to_id=listing["id"], visibility="direct")
    response = await client.delete(f"/api/v1/statuses/{answer['id']}", headers=bob)
    assert response.status == 422
    assert "cannot be deleted" in (await response.json())["error"]
    assert await client.app[POOL].fetchval("SELECT count(*) FROM messages") == 1


# --- context, source, favourited_by --------------------------------------------------------


async def test_context__a_listing_and_its_conversation_as_each_side_sees_it(client):
    alice, bob = await resident(client.app, "alice"), await resident(client.app, "bob")
    carol = await resident(client.app, "carol")
    listing = await posted(client, alice)
    answer = await posted(client, bob, "Me!", in_reply_to_id=listing["id"], visibility="direct")
    reply = await posted(client, alice, "Sure.", in_reply_to_id=answer["id"], visibility="direct")
    await posted(client, carol, "Me too", in_reply_to_id=listing["id"], visibility="direct")
    # the author sees every conversation's messages under her listing
    as_alice = await (await client.get(f"/api/v1/statuses/{listing['id']}/context",
                                       headers=alice)).json()  # fmt: skip
    check("Context", as_alice)
    assert [s["content"] for s in as_alice["descendants"]] == ["<p>Me!</p>", "<p>Sure.</p>",
                                                               "<p>Me too</p>"]  # fmt: skip
    # bob his own conversation only
    as_bob = await (await client.get(f"/api/v1/statuses/{listing['id']}/context",
                                     headers=bob)).json()  # fmt: skip
    assert [s["id"] for s in as_bob["descendants"]] == [answer["id"], reply["id"]]
    # a message: the listing and what came before, then what came after
    around = await (await client.get(f"/api/v1/statuses/{answer['id']}/context",
                                     headers=bob)).json()  # fmt: skip
    check("Context", around)
    assert [s["id"] for s in around["ancestors"]] == [listing["id"]]
    assert [s["id"] for s in around["descendants"]] == [reply["id"]]
    # a visitor sees none, and the counts are the viewer's
    anonymous = await (await client.get(f"/api/v1/statuses/{listing['id']}/context")).json()
    assert anonymous == {"ancestors": [], "descendants": []}
    seen = await (await client.get(f"/api/v1/statuses/{listing['id']}", headers=alice)).json()
    assert seen["replies_count"] == 3


async def test_source__of_ones_own_listing_only(client):
    alice, bob = await resident(client.app, "alice"), await resident(client.app, "bob")
    listing = await posted(client, alice)
    response = await client.get(f"/api/v1/statuses/{listing['id']}/source", headers=alice)
    body = await response.json()
    check("StatusSource", body)
    assert body["text"].startswith("#offer #lend #tools Cordless drill")
    response = await client.get(f"/api/v1/statuses/{listing['id']}/source", headers=bob)
    assert response.status == 404


async def test_reblogged_by__is_empty(client):
    alice = await resident(client.app, "alice")
    listing = await posted(client, alice)
    response = await client.get(f"/api/v1/statuses/{listing['id']}/reblogged_by")
    assert (response.status, await response.json()) == (200, [])


async def test_post_status__a_multipart_body_with_media_ids_as_mastodon_py_sends_it(client):
    import aiohttp

    alice = await resident(client.app, "alice")
    media = await (await upload(client, alice)).json()
    data = aiohttp.FormData(default_to_multipart=True)
    data.add_field("status", "#offer #give #tools Saw")
    data.add_field("media_ids[]", media["id"])
    data.add_field("sensitive", "false")
    response = await client.post("/api/v1/statuses", data=data, headers=alice)
    assert response.status == 200, await response.text()
    assert len((await response.json())["media_attachments"]) == 1
