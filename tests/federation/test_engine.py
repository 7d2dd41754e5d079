"""Three real nodes exchange signed activities through their inboxes, queues and workers."""

from __future__ import annotations

from commonsfed.ap.jsonld import OUR_CONTEXT
from commonsfed.ap.uris import AS_PUBLIC
from commonsfed.db.pool import connect
from commonsfed.federation import outbox
from commonsfed.services import follows
from tests.builders import register
from tests.nodes import settle

AS2 = {"Accept": "application/activity+json"}


async def rows(url: str, query: str, *args) -> list:
    conn = await connect(url)
    try:
        return [tuple(row) for row in await conn.fetch(query, *args)]
    finally:
        await conn.close()


async def collection_items(node, path: str) -> list[str]:
    collection = await (await node.client.get(path, headers=AS2)).json()
    if not collection["totalItems"]:
        return []
    page = await (await node.client.get(path + "?page=1", headers=AS2)).json()
    return page["orderedItems"]


async def test_follow__a_resident_follows_a_remote_resident_and_is_accepted(start_nodes):
    north, south = await start_nodes(2)
    await register(north.client, "alice")
    await register(south.client, "bob")

    await follows.follow(north.federation, north.url("/users/alice"), "@bob@south.test")
    await settle(north, south)

    assert await collection_items(north, "/users/alice/following") == [south.url("/users/bob")]
    assert await collection_items(south, "/users/bob/followers") == [north.url("/users/alice")]


async def test_unfollow__the_follow_goes_on_both_sides(start_nodes):
    north, south = await start_nodes(2)
    await register(north.client, "alice")
    await register(south.client, "bob")
    await follows.follow(north.federation, north.url("/users/alice"), "@bob@south.test")
    await settle(north, south)

    await follows.unfollow(north.federation, north.url("/users/alice"), south.url("/users/bob"))
    await settle(north, south)

    assert await collection_items(north, "/users/alice/following") == []
    assert await collection_items(south, "/users/bob/followers") == []


async def publish(node, activity: dict) -> None:
    conn = await connect(node.settings.database_url)
    try:
        async with conn.transaction():
            await outbox.publish(conn, node.settings, activity)
    finally:
        await conn.close()


def note_activity(node, kind: str, note_id: str, content: str) -> dict:
    author = node.url("/users/bob")
    note = {"id": note_id, "type": "Note", "attributedTo": author, "content": content,
            "to": [AS_PUBLIC], "cc": [author + "/followers"]}
    return {"@context": OUR_CONTEXT, "id": outbox.new_activity_id(node.settings),
            "type": kind, "actor": author, "object": note,
            "to": [AS_PUBLIC], "cc": [author + "/followers"]}


async def test_create_update_delete__propagate_to_followers(start_nodes):
    # Given alice on north follows bob on south
    north, south = await start_nodes(2)
    await register(north.client, "alice")
    await register(south.client, "bob")
    await follows.follow(north.federation, north.url("/users/alice"), "@bob@south.test")
    await settle(north, south)
    note_id = south.url("/notes/1")
    stored = "SELECT document->>'content' FROM remote_objects WHERE uri = $1"

    # When bob creates, edits and deletes a note
    await publish(south, note_activity(south, "Create", note_id, "<p>Spare seeds</p>"))
    await settle(north, south)
    created = await rows(north.settings.database_url, stored, note_id)
    await publish(south, note_activity(south, "Update", note_id, "<p>Seeds gone</p>"))
    await settle(north, south)
    updated = await rows(north.settings.database_url, stored, note_id)
    delete = {"@context": OUR_CONTEXT, "id": outbox.new_activity_id(south.settings),
              "type": "Delete", "actor": south.url("/users/bob"),
              "object": {"id": note_id, "type": "Tombstone"},
              "to": [AS_PUBLIC], "cc": [south.url("/users/bob/followers")]}
    await publish(south, delete)
    await settle(north, south)

    # Then north saw each step
    assert created == [("<p>Spare seeds</p>",)]
    assert updated == [("<p>Seeds gone</p>",)]
    assert await rows(north.settings.database_url, stored, note_id) == []
    assert await rows(north.settings.database_url,
                      "SELECT uri FROM tombstones WHERE uri = $1", note_id) == [(note_id,)]


async def test_neighbourhoods__federate_and_unfederate(start_nodes):
    north, south = await start_nodes(2)

    await follows.federate(north.federation, "south.test")
    await settle(north, south)

    group = "/users/neighbourhood"
    assert await collection_items(north, group + "/following") == [south.url(group)]
    assert await collection_items(south, group + "/followers") == [north.url(group)]

    await follows.unfederate(north.federation, "south.test")
    await settle(north, south)

    assert await collection_items(north, group + "/following") == []
    assert await collection_items(south, group + "/followers") == []


async def test_allowlist__refuses_an_unlisted_node_and_accepts_a_listed_one(start_nodes):
    # Given east federates only with north
    north, south, east = await start_nodes(3, **{"east.test": {"federation": "allowlist"}})
    await follows.federate(east.federation, "north.test")

    # When north and south both ask to join east
    await follows.federate(north.federation, "east.test")
    await follows.federate(south.federation, "east.test")
    await settle(north, south, east)

    # Then east has north among its followers, and south's Follow was refused at the door
    group = "/users/neighbourhood"
    assert await collection_items(east, group + "/followers") == [north.url(group)]
    assert await rows(east.settings.database_url,
                      "SELECT 1 FROM inbox_items WHERE actor_uri LIKE 'http://south.test/%'") == []
    assert await rows(south.settings.database_url,
                      "SELECT state, last_status FROM deliveries") == [("failed", 403)]
