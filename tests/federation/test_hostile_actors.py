"""Actors that name what is not theirs: a key on another host, a key another actor holds,
addresses on a third party's host, a handle that points elsewhere.

north.test and south.test are real nodes; evil.test, victim.test and other.test are a server
we do not run (`StandIn`), serving whatever each test makes them serve.
"""

from __future__ import annotations

import uuid

import pytest

from commonsfed import signatures
from commonsfed.db import actors as actors_q
from commonsfed.federation.actors import ActorUnavailable, lookup
from commonsfed.federation.inbox_worker import InboxWorker
from commonsfed.services import follows
from commonsfed.services.errors import ValidationError
from tests.builders import register
from tests.nodes import settle
from tests.standin import send_signed, stand_in  # noqa: F401  (a fixture)

MALLORY = "http://evil.test/users/mallory"
ANN, BEN, CAT = (f"http://other.test/users/{name}" for name in ("ann", "ben", "cat"))


def create_note(actor: str) -> dict:
    activity_id = f"{actor.rsplit('/users/', 1)[0]}/activities/{uuid.uuid4()}"
    note = {"id": activity_id + "/note", "type": "Note", "attributedTo": actor,
            "content": "Ladder to lend", "to": ["https://www.w3.org/ns/activitystreams#Public"]}
    return {"id": activity_id, "type": "Create", "actor": actor, "object": note, "to": note["to"]}


def update_of(actor_document: dict) -> dict:
    actor = actor_document["id"]
    activity_id = f"{actor.rsplit('/users/', 1)[0]}/activities/{uuid.uuid4()}"
    return {"id": activity_id, "type": "Update", "actor": actor, "object": actor_document}


async def cached(node, uri: str):
    async with node.federation.pool.acquire() as conn:
        return await actors_q.get_remote_actor(conn, uri)


async def age_cache(node) -> None:
    """As if every cached actor was fetched more than a minute ago (the re-fetch limit)."""
    await node.query("UPDATE remote_actors SET fetched_at = now() - interval '2 minutes'")


async def key_of(node, username: str):
    rows = await node.query("SELECT private_key_pem FROM accounts WHERE username = $1", username)
    return signatures.private_key_from_pem(rows[0]["private_key_pem"])


async def inbox_outcomes(node) -> list[tuple[str, str]]:
    rows = await node.query("SELECT state, coalesce(error, '') AS error FROM inbox_items ORDER BY id")
    return [(row["state"], row["error"]) for row in rows]


@pytest.fixture
async def nodes(start_nodes, stand_in):  # noqa: F811
    """north and south (where alice lives), which find evil.test, victim.test and other.test
    at the stand-in."""
    north, south = await start_nodes(
        2, others=stand_in.resolve("evil.test", "victim.test", "other.test")
    )
    await register(south.client, "alice")
    return north, south


# --- keys on the actor's own host ---------------------------------------------------------


async def test_actor__naming_a_key_on_another_host_is_refused_and_not_cached(nodes, stand_in):  # noqa: F811
    north, _ = nodes
    key = signatures.generate_private_key()
    stand_in.actor(MALLORY, key, publicKey={
        "id": "http://south.test/users/alice#main-key", "owner": MALLORY,
        "publicKeyPem": signatures.public_key_to_pem(key)})  # fmt: skip

    with pytest.raises(ActorUnavailable, match="no public key on its own host"):
        await lookup(north.federation, MALLORY)

    assert await cached(north, MALLORY) is None


async def test_update_actor__moving_the_key_to_another_host_is_refused_and_its_owner_gets_in(
    nodes, stand_in  # noqa: F811
):
    # Given north knows mallory, who then updates herself to name alice's key id
    north, south = nodes
    key = signatures.generate_private_key()
    document = stand_in.actor(MALLORY, key)
    await lookup(north.federation, MALLORY)
    hijack = document | {"publicKey": document["publicKey"] | {
        "id": "http://south.test/users/alice#main-key"}}  # fmt: skip
    status, _ = await send_signed(north, "/inbox", update_of(hijack), f"{MALLORY}#main-key", key)
    assert status == 202
    await InboxWorker(north.federation).tick()
    await age_cache(north)

    # When alice, the key's real owner, delivers to north
    status, body = await send_signed(
        north, "/inbox", create_note("http://south.test/users/alice"),
        "http://south.test/users/alice#main-key", await key_of(south, "alice"),
    )  # fmt: skip

    # Then the Update was refused, mallory kept her own key, and alice got in
    (state, error), *_ = await inbox_outcomes(north)
    assert state == "failed" and "no public key on its own host" in error
    assert (await cached(north, MALLORY)).key_id == f"{MALLORY}#main-key"
    assert (status, body) == (202, None)
    assert (await cached(north, "http://south.test/users/alice")).key_id.startswith("http://south")


# --- a key id two actors of one host name ---------------------------------------------------


def key_document(key_id: str, owner: str, key) -> dict:
    """A key served at its own URL, naming its owner, as GoToSocial serves them."""
    return {"@context": "https://w3id.org/security/v1", "id": key_id, "type": "Key",
            "owner": owner, "publicKeyPem": signatures.public_key_to_pem(key)}


def serve_with_key(stand_in, uri: str, key_id: str, key) -> None:  # noqa: F811
    stand_in.actor(uri, key, publicKey={
        "id": key_id, "owner": uri, "publicKeyPem": signatures.public_key_to_pem(key)})
    stand_in.documents[key_id] = key_document(key_id, uri, key)


async def test_key__moved_to_another_actor_of_its_host_goes_to_its_new_owner(nodes, stand_in):  # noqa: F811
    # Given north cached ann with the key id /keys/1
    north, _ = nodes
    first, second = signatures.generate_private_key(), signatures.generate_private_key()
    serve_with_key(stand_in, ANN, "http://other.test/keys/1", first)
    await lookup(north.federation, ANN)
    # and other.test then gave /keys/1 to ben, and ann a new key
    serve_with_key(stand_in, BEN, "http://other.test/keys/1", second)
    serve_with_key(stand_in, ANN, "http://other.test/keys/2", first)
    await age_cache(north)

    # When ben delivers, signed with /keys/1
    status, body = await send_signed(
        north, "/inbox", create_note(BEN), "http://other.test/keys/1", second
    )

    # Then the key's origin decided: ben has it now, ann has her new one; no error
    assert (status, body) == (202, None)
    assert (await cached(north, BEN)).key_id == "http://other.test/keys/1"
    assert (await cached(north, ANN)).key_id == "http://other.test/keys/2"


async def test_key__claimed_by_an_actor_it_does_not_belong_to_is_refused_without_an_error(
    nodes, stand_in  # noqa: F811
):
    # Given north cached ben with the key /keys/1, which other.test says is ben's
    north, _ = nodes
    key = signatures.generate_private_key()
    serve_with_key(stand_in, BEN, "http://other.test/keys/1", key)
    await lookup(north.federation, BEN)
    # and cat names the same key id in her actor
    stand_in.actor(CAT, key, publicKey={
        "id": "http://other.test/keys/1", "owner": CAT,
        "publicKeyPem": signatures.public_key_to_pem(key)})  # fmt: skip

    # When north looks cat up, then cat delivers
    with pytest.raises(ActorUnavailable, match="belongs to http://other.test/users/ben"):
        await lookup(north.federation, CAT)
    status, body = await send_signed(
        north, "/inbox", create_note(CAT), "http://other.test/keys/1", key
    )

    # Then cat is refused (signed by ben's key, not hers) and ben keeps his key
    assert status == 401 and "but the actor is" in body["error"]
    assert await cached(north, CAT) is None
    assert (await cached(north, BEN)).key_id == "http://other.test/keys/1"


async def test_update_actor__taking_anothers_key_id_on_the_same_host_is_refused(
    nodes, stand_in  # noqa: F811
):
    # Given north knows ben (/keys/1) and cat (/keys/3)
    north, _ = nodes
    ben_key, cat_key = signatures.generate_private_key(), signatures.generate_private_key()
    serve_with_key(stand_in, BEN, "http://other.test/keys/1", ben_key)
    serve_with_key(stand_in, CAT, "http://other.test/keys/3", cat_key)
    await lookup(north.federation, BEN)
    cat = await lookup(north.federation, CAT)

    # When cat sends an Update of herself naming /keys/1
    taken = stand_in.documents[CAT] | {"publicKey": {
        "id": "http://other.test/keys/1", "owner": CAT,
        "publicKeyPem": signatures.public_key_to_pem(cat_key)}}  # fmt: skip
    status, _ = await send_signed(north, "/inbox", update_of(taken), cat.key_id, cat_key)
    await InboxWorker(north.federation).tick()

    # Then it is refused, as the key's origin says, and nothing changed
    (state, error), *_ = await inbox_outcomes(north)
    assert status == 202 and state == "failed" and "belongs to" in error
    assert (await cached(north, CAT)).key_id == "http://other.test/keys/3"
    assert (await cached(north, BEN)).key_id == "http://other.test/keys/1"


async def test_key__a_refresh_fetches_a_mastodon_actor_once(nodes, stand_in):  # noqa: F811
    north, _ = nodes
    key = signatures.generate_private_key()
    stand_in.actor(MALLORY, key)

    status, _ = await send_signed(
        north, "/inbox", create_note(MALLORY), f"{MALLORY}#main-key", key
    )

    assert status == 202 and stand_in.gets(MALLORY) == 1


# --- addresses on the actor's own host ------------------------------------------------------


async def test_follow__a_shared_inbox_on_another_host_gets_nothing(nodes, stand_in):  # noqa: F811
    # Given mallory, whose shared inbox and followers are on victim.test
    north, _ = nodes
    key = signatures.generate_private_key()
    stand_in.actor(MALLORY, key, endpoints={"sharedInbox": "http://victim.test/inbox"},
                   followers="http://victim.test/users/v/followers")  # fmt: skip

    # When she follows the neighbourhood
    follow = {"id": f"http://evil.test/follows/{uuid.uuid4()}", "type": "Follow",
              "actor": MALLORY, "object": "http://north.test/users/neighbourhood"}  # fmt: skip
    status, _ = await send_signed(north, "/inbox", follow, f"{MALLORY}#main-key", key)
    await settle(north)

    # Then north's Accept went to her own inbox, and victim.test was never asked anything
    assert status == 202
    assert stand_in.inboxes() == [f"{MALLORY}/inbox"]
    assert not [url for _, url in stand_in.requests if "victim.test" in url]
    remembered = await cached(north, MALLORY)
    assert remembered.shared_inbox is None and remembered.followers is None


async def test_lookup__a_handle_pointing_to_an_actor_elsewhere_needs_that_hosts_word(
    nodes, stand_in  # noqa: F811
):
    # Given evil.test's WebFinger names south's alice for @alice, and other.test's ben for
    # @ben, and other.test does not know ben as @ben@other.test
    north, _ = nodes
    finger = "http://evil.test/.well-known/webfinger?resource=acct:{}@evil.test"
    for user, actor in (("alice", "http://south.test/users/alice"), ("ben", BEN)):
        stand_in.documents[finger.format(user)] = {"links": [
            {"rel": "self", "type": "application/activity+json", "href": actor}]}  # fmt: skip
    stand_in.actor(BEN, signatures.generate_private_key())

    # When north looks both handles up
    alice = await lookup(north.federation, "@alice@evil.test")
    with pytest.raises(ActorUnavailable, match="other.test denies"):
        await lookup(north.federation, "@ben@evil.test")

    # Then alice, whose own host says she is @alice@south.test, is found under that name
    assert alice.uri == "http://south.test/users/alice" and alice.handle == "@alice@south.test"


@pytest.mark.parametrize("where", ["neighbourhood", "nodeinfo"])
async def test_federate__a_node_naming_a_neighbourhood_on_another_host_is_refused(
    nodes, stand_in, where  # noqa: F811
):
    # Given evil.test's NodeInfo, or the link to it, points at south.test
    north, _ = nodes
    south_group = "http://south.test/users/neighbourhood"
    document = "http://evil.test/nodeinfo/2.1" if where == "neighbourhood" else \
        "http://south.test/nodeinfo/2.1"  # fmt: skip
    stand_in.documents["http://evil.test/.well-known/nodeinfo"] = {"links": [
        {"rel": "http://nodeinfo.diaspora.software/ns/schema/2.1", "href": document}]}
    stand_in.documents["http://evil.test/nodeinfo/2.1"] = {"metadata": {"neighbourhood": (
        south_group if where == "neighbourhood" else "http://evil.test/users/neighbourhood")}}

    # When north's admin federates with evil.test
    with pytest.raises(ValidationError) as refused:
        await follows.federate(north.federation, "evil.test")

    # Then north says why, and its Group follows no one
    expected = ("evil.test names a neighbourhood on another host" if where == "neighbourhood"
                else "evil.test did not answer NodeInfo: no NodeInfo link on evil.test")
    assert refused.value.errors == {"domain": expected}
    assert await north.query("SELECT * FROM follows") == []
