"""A profile change on north reaches south's cached actor: through a follow, through the
neighbourhoods' federation, and through a conversation alone; and only from the actor itself.

alice lives on north and edits her profile through north's pages (a real multipart form with
an avatar); south's copy of her actor is read from its remote_actors row and from the page
south shows of her listing. Both nodes are real, on loopback, with their real host names.
"""

from __future__ import annotations

import re

import orjson

from commonsfed.ap.profiles import update_actor_to_ap
from commonsfed.federation import outbox
from commonsfed.services import accounts, answers, follows, listings
from tests.builders import (
    DEFAULT_PASSWORD,
    LISTING_DEFAULTS,
    photo_bytes,
    post_profile,
    register_and_login,
)
from tests.nodes import settle

PROFILE = {
    "display_name": "Alice of Elm Street",
    "bio": "I lend **ladders** and fix bikes.",
    "area": "Elm Street, north end",
    "field_label_1": "Pronouns",
    "field_value_1": "she/her",
    "field_label_2": "Repair café",
    "field_value_2": "Saturdays at the library",
}
AS2 = {"Accept": "application/activity+json"}
AVATAR_RE = re.compile(r'src="/media/([A-Za-z0-9_-]{22}\.(?:webp|jpg))"')


async def resident(node, name: str):
    return await accounts.register(
        node.federation.pool, node.settings, username=name, email=f"{name}@example.org",
        password=DEFAULT_PASSWORD, by_admin=True,
    )  # fmt: skip


async def edit_profile_on_north(north) -> str:
    """alice saves PROFILE with an avatar through north's form; the avatar's URL on north."""
    response = await post_profile(north.client, PROFILE, avatar=photo_bytes("PNG", (500, 300)))
    assert response.status == 200, await response.text()
    (avatar,) = AVATAR_RE.findall(await (await north.client.get("/users/alice")).text())
    return north.url(f"/media/{avatar}")


async def cached_alice(south, north) -> dict:
    (row,) = await south.query(
        "SELECT name, summary, icon_url, area, fields FROM remote_actors WHERE uri = $1",
        north.url("/users/alice"),
    )
    return {**dict(row), "fields": orjson.loads(row["fields"])}


def expect_new_profile(cached: dict, avatar_url: str) -> None:
    assert cached["name"] == "Alice of Elm Street"
    assert cached["summary"] == "<p>I lend <strong>ladders</strong> and fix bikes.</p>\n"
    assert cached["icon_url"] == avatar_url
    assert cached["area"] == "Elm Street, north end"
    assert cached["fields"] == [
        {"name": "Pronouns", "value": "she/her"},
        {"name": "Repair café", "value": "Saturdays at the library"},
    ]


async def updates_received(south, north) -> list[tuple[str, str]]:
    rows = await south.query(
        "SELECT actor_uri, state FROM inbox_items WHERE activity->>'type' = 'Update'"
        " AND activity->'object'->>'id' = $1 ORDER BY id",
        north.url("/users/alice"),
    )
    return [(row["actor_uri"], row["state"]) for row in rows]


async def test_profile_change__reaches_souths_cached_actor_and_the_page_south_shows(start_nodes):
    # Given south's neighbourhood follows north's, bob on south follows alice, and alice
    # offers a drill (so south shows her as the author of a listing)
    north, south = await start_nodes(2)
    await follows.federate(south.federation, "north.test")
    await register_and_login(north.client, "alice")
    await resident(south, "bob")
    await follows.follow(south.federation, south.url("/users/bob"), "@alice@north.test")
    await settle(north, south)  # both follows accepted
    alice = await accounts.get_account(north.federation.pool, 1)
    drill = await listings.create_listing(
        north.federation.pool, north.settings, alice, {**LISTING_DEFAULTS, "title": "Drill"}, [])
    await settle(north, south)
    assert (await cached_alice(south, north))["name"] == "alice"  # the copy south had

    # When alice edits her profile on north
    avatar_url = await edit_profile_on_north(north)
    await settle(north, south)

    # Then south's cached actor is the new one, from an Update alice herself sent: one,
    # though she has both a follower and the neighbourhood on south (one shared inbox)
    expect_new_profile(await cached_alice(south, north), avatar_url)
    assert await updates_received(south, north) == [(north.url("/users/alice"), "done")]
    # and south's page of her listing shows it, from its cache
    page = await (await south.client.get(
        "/network/listing", params={"uri": north.url(f"/listings/{drill.uid}")})).text()
    card = page[page.index('<section class="person-card">'):]
    assert "Alice of Elm Street" in card and f'src="{avatar_url}"' in card
    assert "<strong>ladders</strong>" in card and "Elm Street, north end" in card
    assert "<dt>Repair café</dt><dd>Saturdays at the library</dd>" in card


async def test_profile_change__reaches_a_node_that_holds_only_a_conversation_with_her(
    start_nodes,
):
    # Given north follows south's neighbourhood (not the other way round), carol on south
    # offers a ladder and alice on north answers it: south knows alice only as a respondent
    north, south = await start_nodes(2)
    await follows.federate(north.federation, "south.test")
    await settle(north, south)
    await register_and_login(north.client, "alice")
    carol = await resident(south, "carol")
    ladder = await listings.create_listing(
        south.federation.pool, south.settings, carol, {**LISTING_DEFAULTS, "title": "Ladder"}, [])
    await settle(north, south)
    alice = await accounts.get_account(north.federation.pool, 1)
    await answers.answer_remote(north.federation, alice, south.url(f"/listings/{ladder.uid}"),
                                "May I borrow it on Sunday?")  # fmt: skip
    await settle(north, south)
    assert await south.query("SELECT 1 FROM follows WHERE followed_uri LIKE 'http://north%'") == []

    # When alice edits her profile on north
    avatar_url = await edit_profile_on_north(north)
    await settle(north, south)

    # Then carol's node has her new profile all the same
    expect_new_profile(await cached_alice(south, north), avatar_url)
    assert await updates_received(south, north) == [(north.url("/users/alice"), "done")]


async def test_profile_update__of_alice_sent_by_someone_else_changes_nothing_on_south(
    start_nodes,
):
    # Given bob on south follows alice, and mallory on north follows no rules
    north, south = await start_nodes(2)
    await resident(north, "alice")
    await resident(north, "mallory")
    await resident(south, "bob")
    await follows.follow(south.federation, south.url("/users/bob"), "@alice@north.test")
    await settle(north, south)
    before = await cached_alice(south, north)

    # When mallory sends south an Update of alice's Person with another name (signed with
    # her own key, as her node signs whatever she sends)
    person = await (await north.client.get("/users/alice", headers=AS2)).json(content_type=None)
    forged = update_actor_to_ap({**person, "name": "Mallory was here"},
                                outbox.new_activity_id(north.settings), cc=[], bcc=[])
    forged["actor"] = north.url("/users/mallory")
    async with north.federation.pool.acquire() as conn, conn.transaction():
        await outbox.publish(conn, north.settings, forged, extra_inboxes=[south.url("/inbox")])
    await settle(north, south)

    # Then south took it in (it is mallory's, signed by her) but refused it: alice is unchanged
    (item,) = await south.query("SELECT actor_uri, state, error FROM inbox_items"
                                " WHERE activity_id = $1", forged["id"])  # fmt: skip
    assert item["actor_uri"] == north.url("/users/mallory") and item["state"] == "failed"
    assert "may only update itself" in item["error"]
    assert await cached_alice(south, north) == before
