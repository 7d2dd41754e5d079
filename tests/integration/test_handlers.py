"""The inbound handler table against real PostgreSQL (and real HTTP where it fetches).

The node under test is http://localhost (the `settings` fixture). Remote actors are rows in
remote_actors, as the inbox leaves them after checking a signature; a server we do not run
(elsewhere.test) is a small aiohttp app the resolver map points at. Every ownership rule has
a test that sends the bad activity and checks that no table changed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import orjson
import pytest
from aiohttp import web

from commonsfed.ap.activities import follow_to_ap
from commonsfed.ap.jsonld import AS2, normalise
from commonsfed.db import actors as actors_q
from commonsfed.db import follows as follows_q
from commonsfed.federation import outbox
from commonsfed.federation.actors import get_actor
from commonsfed.federation.context import Federation
from commonsfed.federation.handlers import Refused, Retry, handle_activity
from tests.builders import register
from tests.integration.remote import (
    ALICE,
    BERT,
    BOB,
    CAROL,
    DATA,
    GROUP,
    activity,
    add_remote_actor,
    add_resident,
    handle,
    listing,
    note,
)

TABLES = (
    "follows", "remote_objects", "tombstones", "reactions", "reports", "actor_blocks",
    "activities", "deliveries", "remote_actors",
)  # fmt: skip
async def snapshot(conn) -> dict[str, list[dict]]:
    return {table: [dict(row) for row in await conn.fetch(f"SELECT * FROM {table} ORDER BY 1")]
            for table in TABLES}  # fmt: skip


async def refused_and_unchanged(fed: Federation, conn, document: dict[str, Any]) -> None:
    before = await snapshot(conn)
    with pytest.raises(Refused):
        await handle(fed, document)
    assert await snapshot(conn) == before


async def follow_row(conn, follower: str, followed: str):
    return await follows_q.get_follow(conn, follower, followed)


async def stored(conn, uri: str):
    return await conn.fetchrow("SELECT * FROM remote_objects WHERE uri = $1", uri)


async def answers(conn) -> list[tuple[dict, list[str]]]:
    """Activities the node published, each with the inboxes it is queued for."""
    rows = await conn.fetch("SELECT uri, document FROM activities ORDER BY id")
    return [
        (orjson.loads(row["document"]), [r["inbox"] for r in await conn.fetch(
            "SELECT inbox FROM deliveries WHERE activity_uri = $1 ORDER BY inbox", row["uri"])])
        for row in rows
    ]  # fmt: skip


async def create_stored_note(fed, uri: str = "https://south.example/notes/1", author=BOB):
    assert await handle(fed, activity("Create", author, note(uri, author))) == "done"
    return uri


# --- Follow of a local actor ---------------------------------------------------------------


async def test_follow__from_a_real_peer_is_accepted_and_the_accept_queued_for_it(start_nodes):
    # Given alice on north and bob on south, whom north has fetched (as its inbox would)
    north, south = await start_nodes(2)
    await register(north.client, "alice")
    await register(south.client, "bob")
    bob = await get_actor(north.federation, "http://south.test/users/bob")
    follow = activity("Follow", bob.uri, "http://north.test/users/alice")

    # When bob's Follow is handled
    result = await handle_activity(north.federation, normalise(follow), bob)

    # Then the follow is accepted and an Accept of that very Follow waits for south's inbox
    assert result == "done"
    async with north.federation.pool.acquire() as conn:
        row = await follow_row(conn, bob.uri, "http://north.test/users/alice")
        [(accept, inboxes)] = await answers(conn)
    assert row["state"] == "accepted" and row["activity_id"] == follow["id"]
    assert accept["type"] == "Accept" and accept["actor"] == "http://north.test/users/alice"
    assert accept["object"]["id"] == follow["id"] and accept["object"]["type"] == "Follow"
    assert accept["object"]["actor"] == bob.uri and accept["to"] == [bob.uri]
    assert accept["id"].startswith("http://north.test/activities/")
    assert inboxes == ["http://south.test/inbox"]


async def test_follow__of_a_resident_who_approves_by_hand_waits_without_an_answer(fed, db, keys):
    await add_resident(db, "dora", keys, by_hand=True)
    follow = activity("Follow", BOB, "http://localhost/users/dora")

    assert await handle(fed, follow) == "done"

    row = await follow_row(db, BOB, "http://localhost/users/dora")
    assert row["state"] == "pending" and row["activity_id"] == follow["id"]
    assert await answers(db) == []


async def test_follow__sent_again_once_accepted_stays_accepted_and_is_answered(fed, db, keys):
    # Mastodon re-sends a Follow it believes lost; a resident who approves by hand had
    # already approved this one
    await add_resident(db, "dora", keys, by_hand=True)
    await follows_q.upsert_follow(db, BOB, "http://localhost/users/dora", "accepted", "old")

    assert await handle(fed, activity("Follow", BOB, "http://localhost/users/dora")) == "done"

    assert (await follow_row(db, BOB, "http://localhost/users/dora"))["state"] == "accepted"
    [(accept, _)] = await answers(db)
    assert accept["type"] == "Accept"


async def test_follow__of_the_neighbourhood_group_is_accepted(fed, db):
    follow = activity("Follow", CAROL, GROUP)

    assert await handle(fed, follow) == "done"

    assert (await follow_row(db, CAROL, GROUP))["state"] == "accepted"
    [(accept, inboxes)] = await answers(db)
    assert accept["actor"] == GROUP and accept["object"]["id"] == follow["id"]
    assert inboxes == ["https://east.example/inbox"]


async def test_follow__of_someone_who_blocked_the_follower_is_rejected(fed, db):
    # what residents block is theirs (resident_blocks); actor_blocks holds Blocks received
    await db.execute(
        """
        INSERT INTO resident_blocks (account_id, target_actor_uri, kind)
        SELECT id, $1, 'block' FROM accounts WHERE username = 'alice'
        """,
        BOB,
    )

    assert await handle(fed, activity("Follow", BOB, ALICE)) == "done"

    assert await follow_row(db, BOB, ALICE) is None
    [(reject, inboxes)] = await answers(db)
    assert reject["type"] == "Reject" and inboxes == ["https://south.example/inbox"]


@pytest.mark.parametrize(
    "target", ["http://localhost/users/nobody", "https://south.example/users/bert"]
)
async def test_follow__of_someone_who_is_not_a_local_actor_is_refused(fed, db, target):
    await refused_and_unchanged(fed, db, activity("Follow", BOB, target))


# --- Accept and Reject of a Follow a resident sent -----------------------------------------


async def alice_follows_bob(fed, db) -> dict[str, Any]:
    """What the follow service does: publish alice's Follow and keep it pending."""
    follow = follow_to_ap(ALICE, BOB, fed.settings)
    await outbox.publish(db, fed.settings, follow)
    await follows_q.upsert_follow(db, ALICE, BOB, "pending", follow["id"])
    return follow


async def test_accept__of_a_follow_by_its_id_marks_it_accepted(fed, db):
    follow = await alice_follows_bob(fed, db)

    assert await handle(fed, activity("Accept", BOB, follow["id"])) == "done"

    row = await follow_row(db, ALICE, BOB)
    assert row["state"] == "accepted" and row["accepted_at"] is not None


async def test_accept__with_the_follow_embedded_as_mastodon_sends_it(fed, db):
    follow = await alice_follows_bob(fed, db)
    embedded = {"id": follow["id"], "type": "Follow", "actor": ALICE, "object": BOB}

    assert await handle(fed, activity("Accept", BOB, embedded)) == "done"

    assert (await follow_row(db, ALICE, BOB))["state"] == "accepted"


async def test_accept__of_a_rebuilt_follow_with_another_id_matches_who_follows_whom(fed, db):
    await alice_follows_bob(fed, db)
    rebuilt = {"id": f"{BOB}/follows/xyz", "type": "Follow", "actor": ALICE, "object": BOB}

    assert await handle(fed, activity("Accept", BOB, rebuilt)) == "done"

    assert (await follow_row(db, ALICE, BOB))["state"] == "accepted"


async def test_reject__of_a_follow_removes_it(fed, db):
    follow = await alice_follows_bob(fed, db)
    embedded = {"id": follow["id"], "type": "Follow", "actor": ALICE, "object": BOB}

    assert await handle(fed, activity("Reject", BOB, embedded)) == "done"

    assert await follow_row(db, ALICE, BOB) is None


@pytest.mark.parametrize("kind", ["Accept", "Reject"])
async def test_accept_or_reject__by_someone_who_was_not_followed_is_refused(fed, db, kind):
    follow = await alice_follows_bob(fed, db)
    embedded = {"id": follow["id"], "type": "Follow", "actor": ALICE, "object": BOB}

    await refused_and_unchanged(fed, db, activity(kind, CAROL, follow["id"]))
    await refused_and_unchanged(fed, db, activity(kind, CAROL, embedded))
    await refused_and_unchanged(fed, db, activity(kind, CAROL, {**embedded, "object": CAROL}))
    assert (await follow_row(db, ALICE, BOB))["state"] == "pending"


async def test_accept__of_an_embedded_follow_of_someone_else_is_refused(fed, db):
    # the id is alice's Follow of bob, but what bob says he accepts is a follow of carol
    follow = await alice_follows_bob(fed, db)
    confused = {"id": follow["id"], "type": "Follow", "actor": ALICE, "object": CAROL}

    await refused_and_unchanged(fed, db, activity("Accept", BOB, confused))


async def test_accept__by_a_follower_of_a_follow_it_sent_itself_is_refused(fed, db):
    await handle(fed, activity("Follow", BOB, "http://localhost/users/alice"))
    [follow_id] = [row["activity_id"] for row in await db.fetch("SELECT * FROM follows")]

    await refused_and_unchanged(fed, db, activity("Accept", BOB, follow_id))


# --- Undo ----------------------------------------------------------------------------------


async def test_undo_follow__embedded_removes_the_follow(fed, db):
    follow = activity("Follow", BOB, ALICE)
    await handle(fed, follow)

    assert await handle(fed, activity("Undo", BOB, follow)) == "done"

    assert await follow_row(db, BOB, ALICE) is None


async def test_undo_follow__by_id_removes_the_follow(fed, db):
    follow = activity("Follow", BOB, GROUP)
    await handle(fed, follow)

    assert await handle(fed, activity("Undo", BOB, follow["id"])) == "done"

    assert await follow_row(db, BOB, GROUP) is None


async def test_undo_follow__of_someone_elses_follow_is_refused(fed, db):
    follow = activity("Follow", BOB, ALICE)
    await handle(fed, follow)

    await refused_and_unchanged(fed, db, activity("Undo", CAROL, follow))
    await refused_and_unchanged(fed, db, activity("Undo", CAROL, follow["id"]))
    await refused_and_unchanged(fed, db, activity("Undo", BERT, {**follow, "actor": BERT}))
    assert (await follow_row(db, BOB, ALICE))["state"] == "accepted"


@pytest.mark.parametrize("kind", ["Follow", "Like", "Announce", "Block"])
async def test_undo__of_an_activity_someone_else_sent_is_refused_even_if_unknown(fed, db, kind):
    theirs = {"id": f"{BOB}/unknown/1", "type": kind, "actor": BOB, "object": ALICE}

    await refused_and_unchanged(fed, db, activity("Undo", CAROL, theirs))


# --- Like and Announce ---------------------------------------------------------------------


async def reactions(conn) -> list[tuple[str, str, str]]:
    rows = await conn.fetch("SELECT kind, actor_uri, object_uri FROM reactions ORDER BY 1, 2")
    return [tuple(row) for row in rows]


async def test_like__is_kept_once_however_often_it_arrives(fed, db):
    target = "http://localhost/listings/1"
    like = activity("Like", BOB, target)

    assert await handle(fed, like) == "done"
    assert await handle(fed, like) == "done"
    assert await handle(fed, activity("Like", BOB, target)) == "done"  # a new id, same like

    assert await reactions(db) == [("Like", BOB, target)]


async def test_like__captured_from_mastodon_is_kept(fed, db):
    like = json.loads((DATA / "mastodon_like.json").read_text())
    await add_remote_actor(db, like["actor"])

    assert await handle(fed, like) == "done"

    assert await reactions(db) == [("Like", like["actor"], like["object"])]


@pytest.mark.parametrize("kind", ["Like", "Announce"])
async def test_undo_reaction__removes_it_by_id_or_embedded(fed, db, kind):
    first, second = (activity(kind, BOB, f"http://localhost/listings/{n}") for n in (1, 2))
    await handle(fed, first)
    await handle(fed, second)

    assert await handle(fed, activity("Undo", BOB, first)) == "done"
    assert await handle(fed, activity("Undo", BOB, second["id"])) == "done"

    assert await reactions(db) == []


@pytest.mark.parametrize("kind", ["Like", "Announce"])
async def test_undo_reaction__of_someone_elses_is_refused(fed, db, kind):
    like = activity(kind, BOB, "http://localhost/listings/1")
    await handle(fed, like)

    await refused_and_unchanged(fed, db, activity("Undo", CAROL, like["id"]))
    await refused_and_unchanged(fed, db, activity("Undo", CAROL, like))
    await refused_and_unchanged(fed, db, activity("Undo", CAROL, {**like, "actor": CAROL}))
    assert await reactions(db) == [(kind, BOB, "http://localhost/listings/1")]


@dataclass
class Elsewhere:
    """A server we do not run, at http://elsewhere.test: serves `documents` by path, or
    answers `status` to everything; remembers what it was asked."""

    resolve: dict[str, str] = field(default_factory=dict)  # for the node's resolver map
    documents: dict[str, dict] = field(default_factory=dict)
    status: int = 200
    requests: list[web.Request] = field(default_factory=list)

    async def serve(self, request: web.Request) -> web.Response:
        self.requests.append(request)
        document = self.documents.get(request.path)
        if self.status != 200 or document is None:
            return web.Response(status=404 if self.status == 200 else self.status)
        return web.Response(body=orjson.dumps(document), content_type="application/activity+json")


@pytest.fixture
async def elsewhere(aiohttp_server) -> Elsewhere:
    peer = Elsewhere()
    app = web.Application()
    app.router.add_get("/{tail:.*}", peer.serve)
    server = await aiohttp_server(app)
    peer.resolve = {"elsewhere.test": f"127.0.0.1:{server.port}"}
    return peer


async def test_announce__of_a_note_on_a_third_server_is_fetched_from_its_origin(
    make_fed, keys, elsewhere
):
    # Given a note on elsewhere.test, and bob on south.example announcing a forged copy
    uri = "http://elsewhere.test/notes/1"
    real = {"@context": AS2, **note(uri, "http://elsewhere.test/users/zoe", "<p>Real</p>")}
    elsewhere.documents = {"/notes/1": real}
    fed = await make_fed(resolve=elsewhere.resolve)
    async with fed.pool.acquire() as db:
        await add_remote_actor(db, BOB)
        forged = {**real, "content": "<p>Forged</p>"}
        del forged["@context"]

        # When the Announce is handled
        assert await handle(fed, activity("Announce", BOB, forged)) == "done"

        # Then the note kept is the one its origin serves, fetched signed by our instance actor
        kept = await stored(db, uri)
        assert orjson.loads(kept["document"])["content"] == "<p>Real</p>"
        assert kept["attributed_to"] == "http://elsewhere.test/users/zoe"
        assert await reactions(db) == [("Announce", BOB, uri)]
    # the note, then its author (not served here: the note is kept all the same), both
    # fetched signed by our instance actor
    assert [request.path for request in elsewhere.requests] == ["/notes/1", "/users/zoe"]
    for request in elsewhere.requests:
        assert 'keyId="http://localhost/actor#main-key"' in request.headers["Signature"]


async def test_announce__caches_the_author_of_what_it_brings(make_fed, keys, elsewhere):
    # Given a neighbourhood on elsewhere.test that announces its resident zoe's listing
    group, zoe = "http://elsewhere.test/users/neighbourhood", "http://elsewhere.test/users/zoe"
    elsewhere.documents = {"/users/zoe": {
        "@context": [AS2, "https://w3id.org/security/v1"], "id": zoe, "type": "Person",
        "preferredUsername": "zoe", "inbox": f"{zoe}/inbox",
        "publicKey": {"id": f"{zoe}#main-key", "owner": zoe, "publicKeyPem": keys[1]},
    }}  # fmt: skip
    fed = await make_fed(resolve=elsewhere.resolve)
    async with fed.pool.acquire() as db:
        await add_remote_actor(db, group, "Group")

        # When the Announce is handled
        announce = activity("Announce", group, listing("http://elsewhere.test/listings/7", zoe))
        assert await handle(fed, announce) == "done"

        # Then zoe is cached with her key: her own Delete of the listing, or of herself once
        # her actor answers 410, can still be checked
        cached = await actors_q.get_remote_actor(db, zoe)
    assert cached is not None and cached.public_key_pem == keys[1]


async def test_announce__of_what_an_author_who_left_wrote_keeps_nothing(make_fed, elsewhere):
    # Given a neighbourhood still announcing a listing of zoe, whose account is gone (410)
    group, zoe = "http://elsewhere.test/users/neighbourhood", "http://elsewhere.test/users/zoe"
    elsewhere.status = 410
    fed = await make_fed(resolve=elsewhere.resolve)
    async with fed.pool.acquire() as db:
        await add_remote_actor(db, group, "Group")

        announce = activity("Announce", group, listing("http://elsewhere.test/listings/7", zoe))
        assert await handle(fed, announce) == "done"

        # Then the listing is not kept (the Announce itself is, as any reaction)
        assert await stored(db, "http://elsewhere.test/listings/7") is None


async def test_announce__by_id_of_a_note_already_kept_fetches_nothing(make_fed, elsewhere):
    fed = await make_fed(resolve=elsewhere.resolve)
    async with fed.pool.acquire() as db:
        await add_remote_actor(db, BOB)
        await create_stored_note(fed)

        assert (
            await handle(fed, activity("Announce", BOB, "https://south.example/notes/1")) == "done"
        )

        assert await reactions(db) == [("Announce", BOB, "https://south.example/notes/1")]
    assert elsewhere.requests == []


async def test_announce__of_a_listing_embedded_by_its_own_server_is_kept_as_sent(fed, db):
    # a sibling neighbourhood's Group announces its resident's listing
    group = "https://south.example/users/neighbourhood"
    await add_remote_actor(db, group, "Group")
    offer = listing("https://south.example/listings/7", BERT, type="Proposal")

    assert await handle(fed, activity("Announce", group, offer)) == "done"

    kept = await stored(db, offer["id"])
    assert kept["is_listing"] and kept["type"] == "Proposal" and kept["attributed_to"] == BERT
    assert await reactions(db) == [("Announce", group, offer["id"])]


async def test_announce__of_a_note_its_author_deleted_does_not_bring_it_back(fed, db):
    uri = "https://south.example/notes/gone"
    await handle(fed, activity("Delete", BOB, uri))

    assert await handle(fed, activity("Announce", BERT, note(uri, BOB))) == "done"

    assert await stored(db, uri) is None


async def test_announce__a_squatters_tombstone_does_not_keep_the_note_out(fed, db):
    uri = "https://south.example/notes/announced"
    await handle(fed, activity("Delete", BERT, uri))

    assert await handle(fed, activity("Announce", BERT, note(uri, BOB))) == "done"

    assert (await stored(db, uri))["attributed_to"] == BOB


@pytest.mark.parametrize(("status", "error"), [(503, Retry), (404, Refused), (410, Refused)])
async def test_announce__when_the_origin_fails_nothing_is_kept(make_fed, elsewhere, status, error):
    elsewhere.status = status
    fed = await make_fed(resolve=elsewhere.resolve)
    async with fed.pool.acquire() as db:
        await add_remote_actor(db, BOB)
        before = await snapshot(db)

        with pytest.raises(error):
            await handle(fed, activity("Announce", BOB, "http://elsewhere.test/notes/1"))

        assert await snapshot(db) == before


async def test_announce__of_a_document_naming_an_author_elsewhere_is_refused(make_fed, elsewhere):
    uri = "http://elsewhere.test/notes/1"
    elsewhere.documents = {"/notes/1": {"@context": AS2, **note(uri, CAROL)}}
    fed = await make_fed(resolve=elsewhere.resolve)
    async with fed.pool.acquire() as db:
        await add_remote_actor(db, BOB)

        await refused_and_unchanged(fed, db, activity("Announce", BOB, uri))


# --- Create, Update, Delete of notes and listings ------------------------------------------


@pytest.mark.parametrize(
    "name",
    ["mastodon_create_note", "misskey_create_note", "pleroma_create_note",
     "gotosocial_create_note", "lemmy_create_page"],
)  # fmt: skip
async def test_create__captured_from_real_servers_is_kept(fed, db, name):
    create = json.loads((DATA / f"{name}.json").read_text())
    await add_remote_actor(db, create["actor"])

    assert await handle(fed, create) == "done"

    kept = await stored(db, create["object"]["id"])
    assert kept["attributed_to"] == create["actor"] and not kept["is_listing"]
    assert kept["type"] == create["object"]["type"]


async def test_create__of_a_fep0837_listing_is_kept_as_a_listing(fed, db):
    offer = json.loads((DATA / "fep0837_offer_note.json").read_text())
    context = offer.pop("@context")
    await add_remote_actor(db, offer["attributedTo"])
    create = {"@context": context, "id": offer["id"] + "/activity", "type": "Create",
              "actor": offer["attributedTo"], "object": offer}  # fmt: skip

    assert await handle(fed, create) == "done"

    kept = await stored(db, offer["id"])
    assert kept["is_listing"] and kept["type"] == "Note"
    assert orjson.loads(kept["document"])["publishes"]["action"] == "transfer"


async def test_create__of_a_listing_of_any_type_is_a_listing(fed, db):
    offer = listing("https://south.example/listings/2", BOB, type="Proposal")

    assert await handle(fed, activity("Create", BOB, offer)) == "done"

    kept = await stored(db, offer["id"])
    assert kept["is_listing"] and kept["type"] == "Proposal"


async def test_create__twice_keeps_the_first(fed, db):
    uri = await create_stored_note(fed)

    changed = note(uri, BOB, "<p>Changed</p>")
    assert await handle(fed, activity("Create", BOB, changed)) == "done"

    assert orjson.loads((await stored(db, uri))["document"])["content"] == "<p>Hello</p>"


async def test_create__attributed_to_another_actor_is_refused(fed, db):
    forged = note("https://south.example/notes/1", BERT)

    await refused_and_unchanged(fed, db, activity("Create", BOB, forged))


async def test_create__of_an_object_on_another_host_is_refused(fed, db):
    elsewhere = note("https://east.example/notes/1", BOB)

    await refused_and_unchanged(fed, db, activity("Create", BOB, elsewhere))


async def test_update__by_the_author_replaces_the_document(fed, db):
    uri = await create_stored_note(fed)
    edited = note(uri, BOB, "<p>Edited</p>", updated="2024-05-05T09:00:00Z")

    assert await handle(fed, activity("Update", BOB, edited)) == "done"

    kept = await stored(db, uri)
    assert orjson.loads(kept["document"])["content"] == "<p>Edited</p>"
    assert kept["updated_at"].isoformat() == "2024-05-05T09:00:00+00:00"


async def test_update__older_than_the_one_kept_changes_nothing(fed, db):
    # Given a note edited at 09:00, whose 08:00 edit arrives late (a retry, a slow relay)
    uri = await create_stored_note(fed)
    newer = note(uri, BOB, "<p>Nine</p>", updated="2024-05-05T09:00:00Z")
    older = note(uri, BOB, "<p>Eight</p>", updated="2024-05-05T08:00:00Z")
    assert await handle(fed, activity("Update", BOB, newer)) == "done"

    # When the older edit comes
    assert await handle(fed, activity("Update", BOB, older)) == "done"

    # Then the newer one stays
    kept = await stored(db, uri)
    assert orjson.loads(kept["document"])["content"] == "<p>Nine</p>"
    assert kept["updated_at"].isoformat() == "2024-05-05T09:00:00+00:00"


async def test_update__can_turn_a_note_into_a_listing(fed, db):
    uri = await create_stored_note(fed)

    assert await handle(fed, activity("Update", BOB, listing(uri, BOB))) == "done"

    assert (await stored(db, uri))["is_listing"]


async def test_update__of_someone_elses_note_is_refused(fed, db):
    uri = await create_stored_note(fed)

    # bert, on bob's own server, claims it as his; then claims to be bob; carol from afar
    await refused_and_unchanged(fed, db, activity("Update", BERT, note(uri, BERT, "<p>X</p>")))
    await refused_and_unchanged(fed, db, activity("Update", BERT, note(uri, BOB, "<p>X</p>")))
    await refused_and_unchanged(fed, db, activity("Update", CAROL, note(uri, CAROL, "<p>X</p>")))


async def test_update__of_a_note_we_never_had_changes_nothing(fed, db):
    before = await snapshot(db)

    assert await handle(fed, activity("Update", BOB, note(f"{BOB}/notes/9", BOB))) == "done"

    assert await snapshot(db) == before


async def test_delete__by_the_author_removes_the_note_its_reactions_and_leaves_a_tombstone(fed, db):
    uri = await create_stored_note(fed)
    await handle(fed, activity("Like", CAROL, uri))
    tombstone = {"id": uri, "type": "Tombstone"}  # as Mastodon sends it

    assert await handle(fed, activity("Delete", BOB, tombstone)) == "done"

    assert await stored(db, uri) is None and await reactions(db) == []
    assert await db.fetchval("SELECT actor_uri FROM tombstones WHERE uri = $1", uri) == BOB


async def test_delete__by_bare_id_of_a_listing_removes_it(fed, db):
    offer = listing("https://south.example/listings/3", BOB)
    await handle(fed, activity("Create", BOB, offer))

    assert await handle(fed, activity("Delete", BOB, offer["id"])) == "done"

    assert await stored(db, offer["id"]) is None


async def test_delete__of_someone_elses_note_is_refused(fed, db):
    uri = await create_stored_note(fed)

    await refused_and_unchanged(fed, db, activity("Delete", BERT, uri))
    await refused_and_unchanged(
        fed, db, activity("Delete", CAROL, {"id": uri, "type": "Tombstone"})
    )


async def test_delete__of_an_unknown_object_on_another_host_leaves_no_tombstone(fed, db):
    await refused_and_unchanged(fed, db, activity("Delete", CAROL, "https://south.example/n/5"))


async def test_delete_before_create__the_late_create_is_ignored(fed, db):
    uri = "https://south.example/notes/early"

    assert await handle(fed, activity("Delete", BOB, uri)) == "done"
    assert await handle(fed, activity("Create", BOB, note(uri, BOB))) == "done"

    assert await stored(db, uri) is None
    assert await db.fetchval("SELECT count(*) FROM tombstones WHERE uri = $1", uri) == 1


async def test_delete_before_create__by_another_actor_of_the_host_does_not_block_the_author(
    fed, db
):
    # Given bert, on bob's server, deletes an id north never saw
    uri = "https://south.example/notes/squatted"
    assert await handle(fed, activity("Delete", BERT, uri)) == "done"

    # When bob, its real author, creates it
    assert await handle(fed, activity("Create", BOB, note(uri, BOB))) == "done"

    # Then bob's note is kept: bert's tombstone stands for bert only
    assert (await stored(db, uri))["attributed_to"] == BOB


async def test_delete__after_a_squatters_tombstone_the_authors_own_still_stands(fed, db):
    # Given bert left a tombstone on bob's id, then bob created and deleted it
    uri = "https://south.example/notes/twice"
    await handle(fed, activity("Delete", BERT, uri))
    await handle(fed, activity("Create", BOB, note(uri, BOB)))
    assert await handle(fed, activity("Delete", BOB, uri)) == "done"

    # When bob's Create comes again (a retry, or a relay)
    assert await handle(fed, activity("Create", BOB, note(uri, BOB))) == "done"

    # Then it stays deleted: bob's own tombstone keeps it out
    assert await stored(db, uri) is None
    tombstones = await db.fetch("SELECT actor_uri FROM tombstones WHERE uri = $1 ORDER BY 1", uri)
    assert [row["actor_uri"] for row in tombstones] == [BERT, BOB]


# --- Update and Delete of an actor ---------------------------------------------------------


async def test_update_actor__refreshes_the_cached_actor(fed, db):
    profile = {
        "id": BOB, "type": "Person", "preferredUsername": "bob", "name": "Bob the Builder",
        "inbox": f"{BOB}/inbox", "endpoints": {"sharedInbox": "https://south.example/inbox"},
        "publicKey": {"id": f"{BOB}#main-key", "owner": BOB, "publicKeyPem": "new-key"},
    }  # fmt: skip

    assert await handle(fed, activity("Update", BOB, profile)) == "done"

    cached = await actors_q.get_remote_actor(db, BOB)
    assert cached.name == "Bob the Builder" and cached.public_key_pem == "new-key"


async def test_update_actor__of_another_actor_is_refused(fed, db):
    profile = {
        "id": BERT,
        "type": "Person",
        "inbox": f"{BERT}/inbox",
        "publicKey": {"id": f"{BERT}#main-key", "owner": BERT, "publicKeyPem": "x"},
    }

    await refused_and_unchanged(fed, db, activity("Update", BOB, profile))


async def test_delete_actor__forgets_the_actor_and_all_it_left_here(fed, db):
    # Given bob follows alice and she follows him, bob wrote a note that carol liked,
    # bob liked alice's listing and blocked the group
    await handle(fed, activity("Follow", BOB, ALICE))
    await follows_q.upsert_follow(db, ALICE, BOB, "accepted", None)
    uri = await create_stored_note(fed)
    await handle(fed, activity("Like", CAROL, uri))
    await handle(fed, activity("Like", BOB, "http://localhost/listings/1"))
    await handle(fed, activity("Block", BOB, GROUP))
    # and carol's own things, which must stay
    await handle(fed, activity("Follow", CAROL, ALICE))
    carols = await create_stored_note(fed, "https://east.example/notes/1", CAROL)
    await handle(fed, activity("Like", CAROL, "http://localhost/listings/1"))

    # When bob deletes himself (Mastodon's captured shape: the object is the actor's id)
    delete = json.loads((DATA / "mastodon_delete_actor.json").read_text())
    delete.update(id=f"{BOB}#delete", actor=BOB, object=BOB)
    assert await handle(fed, delete) == "done"

    # Then nothing of bob's is left, and all of carol's is
    after = await snapshot(db)
    assert BOB not in repr({table: after[table] for table in TABLES if table != "activities"
                            and table != "deliveries"})  # fmt: skip
    assert await follow_row(db, CAROL, ALICE) is not None
    assert await stored(db, carols) is not None
    assert await reactions(db) == [("Like", CAROL, "http://localhost/listings/1")]


async def test_delete__of_another_actor_is_refused(fed, db):
    await handle(fed, activity("Follow", BERT, ALICE))

    await refused_and_unchanged(fed, db, activity("Delete", BOB, BERT))
    await refused_and_unchanged(fed, db, activity("Delete", BOB, {"id": BERT, "type": "Person"}))
    assert await actors_q.get_remote_actor(db, BERT) is not None


# --- Flag and Block ------------------------------------------------------------------------


async def test_flag__is_kept_for_the_admins(fed, db):
    instance = "https://south.example/actor"
    await add_remote_actor(db, instance, "Application")
    flag = activity("Flag", instance, [ALICE, "http://localhost/listings/1"],
                    content="Spam, again")  # fmt: skip

    assert await handle(fed, flag) == "done"
    assert await handle(fed, flag) == "done"

    [report] = await db.fetch("SELECT * FROM reports")
    assert report["reporter_uri"] == instance and report["content"] == "Spam, again"
    assert report["target_uris"] == [ALICE, "http://localhost/listings/1"]


async def test_flag__naming_nothing_on_this_node_is_refused(fed, db):
    await refused_and_unchanged(fed, db, activity("Flag", BOB, [CAROL], content="meh"))


async def test_block__is_kept_and_ends_follows_both_ways(fed, db):
    await handle(fed, activity("Follow", BOB, ALICE))
    await follows_q.upsert_follow(db, ALICE, BOB, "accepted", None)
    block = activity("Block", BOB, ALICE)

    assert await handle(fed, block) == "done"

    row = await db.fetchrow("SELECT * FROM actor_blocks")
    assert (row["blocker_uri"], row["blocked_uri"], row["activity_uri"]) == (
        BOB,
        ALICE,
        block["id"],
    )
    assert await follow_row(db, BOB, ALICE) is None and await follow_row(db, ALICE, BOB) is None


async def test_block__of_no_local_actor_is_refused(fed, db):
    await refused_and_unchanged(fed, db, activity("Block", BOB, "http://localhost/users/nobody"))
    await refused_and_unchanged(fed, db, activity("Block", BOB, CAROL))


async def test_undo_block__removes_it_and_only_the_blocker_may(fed, db):
    block = activity("Block", BOB, ALICE)
    await handle(fed, block)

    await refused_and_unchanged(fed, db, activity("Undo", CAROL, block["id"]))
    assert await handle(fed, activity("Undo", BOB, block)) == "done"

    assert await db.fetchval("SELECT count(*) FROM actor_blocks") == 0


# --- what the table does not know ----------------------------------------------------------


async def test_handle_activity__an_object_we_know_nothing_about_is_unhandled(fed, db):
    before = await snapshot(db)

    assert await handle(fed, activity("Accept", BOB, f"{BOB}/follows/unknown")) == "unhandled"
    assert await handle(fed, activity("Undo", BOB, f"{BOB}/likes/unknown")) == "unhandled"
    assert await handle(fed, activity("Follow", BOB, "http://localhost/actor")) == "unhandled"

    assert await snapshot(db) == before
