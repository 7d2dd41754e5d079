"""The inboxes, fed real signed requests: south's residents sign, north verifies by fetching
their actors from south over loopback. Every refusal sends the bad input and checks both
the answer and that nothing was stored."""

from __future__ import annotations

import asyncio
import logging
import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import orjson
import pytest

from commonsfed import signatures
from commonsfed.db.inbox import INBOX_CHANNEL, insert_item
from commonsfed.db.pool import connect, create_pool
from commonsfed.federation.actors import lookup
from commonsfed.federation.inbox import MAX_RECIPIENTS, WakeUps, permitted_policies
from commonsfed.federation.inbox_worker import InboxWorker
from commonsfed.federation.policy import is_allowed
from tests.builders import register

AS2 = "application/activity+json"


# --- builders ------------------------------------------------------------------------


async def stored(node) -> list[str]:
    rows = await node.query("SELECT activity_id FROM inbox_items ORDER BY id")
    return [row["activity_id"] for row in rows]


async def cached_actors(node) -> list[str]:
    return [row["uri"] for row in await node.query("SELECT uri FROM remote_actors")]


async def private_key(node, username: str):
    rows = await node.query("SELECT private_key_pem FROM accounts WHERE username = $1", username)
    return signatures.private_key_from_pem(rows[0]["private_key_pem"])


def create_note(actor: str, host: str | None = None) -> dict:
    host = host or actor.split("/")[2]
    activity_id = f"http://{host}/activities/{uuid.uuid4()}"
    return {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": activity_id,
        "type": "Create",
        "actor": actor,
        "to": ["https://www.w3.org/ns/activitystreams#Public"],
        "object": {
            "id": activity_id + "/note",
            "type": "Note",
            "content": "Ladder to lend",
            "attributedTo": actor,
        },
    }


def signed_headers(
    url: str,
    body: bytes,
    key_id: str,
    key,
    *,
    content_type: str = AS2,
    now: datetime | None = None,
) -> dict[str, str]:
    headers = {"Content-Type": content_type}
    return headers | signatures.sign_cavage("POST", url, headers, body, key_id, key, now=now)


async def post(node, path: str, body: bytes, headers: dict[str, str]):
    response = await node.client.post(path, data=body, headers=headers)
    return response.status, (await response.read())


async def send(node, path: str, activity: dict, key_id: str, key, **options):
    """POST `activity` to `node`'s `path`, signed as a peer signs it."""
    body = orjson.dumps(activity)
    return await post(
        node, path, body, signed_headers(node.url(path), body, key_id, key, **options)
    )


@pytest.fixture
async def north_and_south(start_nodes):
    """north receives; alice and bob live on south."""
    north, south = await start_nodes(2)
    for name in ("alice", "bob"):
        await register(south.client, name)
    return north, south


def alice_of(south) -> tuple[str, str]:
    uri = south.url("/users/alice")
    return uri, uri + "#main-key"


# --- accepted ------------------------------------------------------------------------


async def test_inbox__signed_activity_is_stored_once_and_answered_202(north_and_south):
    # Given alice on south, whom north has never seen
    north, south = north_and_south
    alice, key_id = alice_of(south)
    activity = create_note(alice)

    # When she delivers a Create to north's shared inbox
    status, body = await send(north, "/inbox", activity, key_id, await private_key(south, "alice"))

    # Then north fetched her actor from south to verify, and stored the activity as sent
    assert (status, body) == (202, b"")
    assert await stored(north) == [activity["id"]]
    assert alice in await cached_actors(north)
    rows = await north.query("SELECT actor_uri, state, activity FROM inbox_items")
    assert rows[0]["actor_uri"] == alice and rows[0]["state"] == "pending"
    assert orjson.loads(rows[0]["activity"]) == activity


async def test_inbox__same_activity_to_shared_then_personal_inbox_is_stored_once(
    north_and_south,
):
    north, south = north_and_south
    await register(north.client, "carol")
    alice, key_id = alice_of(south)
    key = await private_key(south, "alice")
    activity = create_note(alice)

    shared = await send(north, "/inbox", activity, key_id, key)
    personal = await send(north, "/users/carol/inbox", activity, key_id, key)
    retried = await send(north, "/inbox", activity, key_id, key)

    assert [shared[0], personal[0], retried[0]] == [202, 202, 202]
    assert await stored(north) == [activity["id"]]


async def test_inbox__instance_actor_inbox_accepts(north_and_south):
    north, south = north_and_south
    alice, key_id = alice_of(south)
    activity = create_note(alice)

    status, _ = await send(
        north, "/actor/inbox", activity, key_id, await private_key(south, "alice")
    )

    assert status == 202 and await stored(north) == [activity["id"]]


async def test_inbox__actor_given_as_an_object_with_id(north_and_south):
    north, south = north_and_south
    alice, key_id = alice_of(south)
    activity = create_note(alice) | {"actor": {"id": alice, "type": "Person"}}

    status, _ = await send(north, "/inbox", activity, key_id, await private_key(south, "alice"))

    assert status == 202 and await stored(north) == [activity["id"]]


async def test_inbox__ld_json_with_a_profile_is_accepted(north_and_south):
    north, south = north_and_south
    alice, key_id = alice_of(south)
    content_type = 'application/ld+json; profile="https://www.w3.org/ns/activitystreams"'

    status, _ = await send(
        north,
        "/inbox",
        create_note(alice),
        key_id,
        await private_key(south, "alice"),
        content_type=content_type,
    )

    assert status == 202


async def test_inbox__storing_notifies_the_workers(north_and_south):
    north, south = north_and_south
    alice, key_id = alice_of(south)
    heard: asyncio.Queue[str] = asyncio.Queue()
    listener = await connect(north.settings.database_url)
    await listener.add_listener(INBOX_CHANNEL, lambda *args: heard.put_nowait(args[2]))
    try:
        status, _ = await send(
            north, "/inbox", create_note(alice), key_id, await private_key(south, "alice")
        )
        channel = await asyncio.wait_for(heard.get(), 5)
    finally:
        await listener.close()

    assert status == 202 and channel == INBOX_CHANNEL


async def test_inbox__second_activity_verifies_from_the_key_cache_without_south(
    north_and_south,
):
    # Given north verified alice once
    north, south = north_and_south
    alice, key_id = alice_of(south)
    key = await private_key(south, "alice")
    await send(north, "/inbox", create_note(alice), key_id, key)

    # When south goes away and alice's next activity arrives (relayed, say)
    await south.client.close()
    second = create_note(alice)
    status, _ = await send(north, "/inbox", second, key_id, key)

    # Then north needed nothing from south
    assert status == 202 and second["id"] in await stored(north)


async def test_inbox__rfc9421_signature_is_accepted(north_and_south):
    # Mastodon signs with RFC 9421 from version 4.7
    north, south = north_and_south
    alice, key_id = alice_of(south)
    activity = create_note(alice)
    body = orjson.dumps(activity)
    headers = {"Content-Type": AS2, "Host": "north.test"}
    headers |= signatures.sign_rfc9421(
        "POST", north.url("/inbox"), headers, body, key_id, await private_key(south, "alice")
    )

    status, _ = await post(north, "/inbox", body, headers)

    assert status == 202 and await stored(north) == [activity["id"]]


# --- 413, 415, 400: refused before the signature is looked at ------------------------


async def test_inbox__body_over_1_mib_is_413(north_and_south):
    north, south = north_and_south
    alice, key_id = alice_of(south)
    activity = create_note(alice) | {"padding": "x" * (2 * 1024 * 1024)}

    status, body = await send(north, "/inbox", activity, key_id, await private_key(south, "alice"))

    assert status == 413 and "larger than" in orjson.loads(body)["error"]
    assert await stored(north) == []
    assert await cached_actors(north) == []  # refused before any key was fetched


async def test_inbox__chunked_body_over_1_mib_is_413(north_and_south):
    north, _ = north_and_south

    async def chunks():
        for _ in range(40):
            yield b"x" * 65536

    response = await north.client.post("/inbox", data=chunks(), headers={"Content-Type": AS2})

    assert response.status == 413
    assert response.headers.get("Content-Length") is not None  # an answer, not a hang-up
    assert await stored(north) == []


@pytest.mark.parametrize("content_type", ["text/plain", "application/json", ""])
async def test_inbox__other_content_types_are_415(north_and_south, content_type):
    north, south = north_and_south
    alice, key_id = alice_of(south)

    status, body = await send(
        north,
        "/inbox",
        create_note(alice),
        key_id,
        await private_key(south, "alice"),
        content_type=content_type,
    )

    assert status == 415 and "application/activity+json" in orjson.loads(body)["error"]
    assert await stored(north) == []


BAD_BODIES = {
    "invalid JSON": b'{"id": "http://south.test/a", "type": "Create",',
    "a JSON array": b'[{"id": "http://south.test/a", "type": "Create"}]',
    "a JSON string": b'"Create"',
    "no id": b'{"type": "Create", "actor": "http://south.test/users/alice"}',
    "no type": b'{"id": "http://south.test/a/1", "actor": "http://south.test/users/alice"}',
    "no actor": b'{"id": "http://south.test/a/1", "type": "Create"}',
    "a numeric id": b'{"id": 7, "type": "Create", "actor": "http://south.test/users/alice"}',
    "an actor object without id": (
        b'{"id": "http://south.test/a/1", "type": "Create", "actor": {"type": "Person"}}'
    ),
    "an id of 3000 characters": orjson.dumps(
        {
            "id": "http://south.test/" + "a" * 3000,
            "type": "Create",
            "actor": "http://south.test/users/alice",
        }
    ),
}


@pytest.mark.parametrize("case", BAD_BODIES)
async def test_inbox__body_that_is_not_an_activity_is_400(north_and_south, case):
    north, south = north_and_south
    _, key_id = alice_of(south)
    body = BAD_BODIES[case]
    headers = signed_headers(north.url("/inbox"), body, key_id, await private_key(south, "alice"))

    status, answer = await post(north, "/inbox", body, headers)

    assert status == 400, case
    assert orjson.loads(answer)["error"]
    assert await stored(north) == []


async def test_inbox__nul_character_jsonb_cannot_hold_is_400(north_and_south):
    north, south = north_and_south
    alice, key_id = alice_of(south)
    activity = create_note(alice) | {"summary": "a\u0000b"}

    status, _ = await send(north, "/inbox", activity, key_id, await private_key(south, "alice"))

    assert status == 400 and await stored(north) == []


# --- 401: who signed it ----------------------------------------------------------------


async def test_inbox__unsigned_activity_is_401(north_and_south):
    north, south = north_and_south
    alice, _ = alice_of(south)

    status, body = await post(
        north, "/inbox", orjson.dumps(create_note(alice)), {"Content-Type": AS2}
    )

    assert status == 401 and "not signed" in orjson.loads(body)["error"]
    assert await stored(north) == []


async def test_inbox__signature_by_a_key_that_is_not_the_actors_is_401(north_and_south):
    north, south = north_and_south
    alice, key_id = alice_of(south)
    stranger = signatures.generate_private_key()

    status, body = await send(north, "/inbox", create_note(alice), key_id, stranger)

    assert status == 401 and "does not verify" in orjson.loads(body)["error"]
    assert await stored(north) == []


async def test_inbox__stale_date_is_401(north_and_south):
    north, south = north_and_south
    alice, key_id = alice_of(south)
    long_ago = datetime.now(UTC) - timedelta(hours=1, minutes=6)

    status, body = await send(
        north, "/inbox", create_note(alice), key_id, await private_key(south, "alice"), now=long_ago
    )

    assert status == 401 and "Date" in orjson.loads(body)["error"]
    assert await stored(north) == []


async def test_inbox__body_tampered_after_signing_is_401(north_and_south):
    north, south = north_and_south
    alice, key_id = alice_of(south)
    activity = create_note(alice)
    headers = signed_headers(
        north.url("/inbox"), orjson.dumps(activity), key_id, await private_key(south, "alice")
    )
    tampered = orjson.dumps(activity | {"object": {**activity["object"], "content": "Mine"}})

    status, body = await post(north, "/inbox", tampered, headers)

    assert status == 401 and "igest" in orjson.loads(body)["error"]
    assert await stored(north) == []


async def test_inbox__signature_made_for_another_inbox_is_401(north_and_south):
    # Given a delivery alice signed for north's /users/bob/inbox
    north, south = north_and_south
    await register(north.client, "bob")
    alice, key_id = alice_of(south)
    body = orjson.dumps(create_note(alice))
    headers = signed_headers(
        north.url("/users/bob/inbox"), body, key_id, await private_key(south, "alice")
    )

    # When someone replays it to the shared inbox
    status, answer = await post(north, "/inbox", body, headers)

    # Then the request target does not match what was signed
    assert status == 401 and "does not verify" in orjson.loads(answer)["error"]
    assert await stored(north) == []


async def test_inbox__delivery_signed_for_another_host_is_401(north_and_south):
    # Given a delivery alice signed for east.test's shared inbox
    north, south = north_and_south
    alice, key_id = alice_of(south)
    body = orjson.dumps(create_note(alice))
    headers = signed_headers(
        "http://east.test/inbox", body, key_id, await private_key(south, "alice")
    )

    # When it is replayed to north, with the Host it was signed for (a proxy passes it on)
    status, answer = await post(north, "/inbox", body, headers)

    # Then north refuses it before looking for the key: it was not meant for north
    assert status == 401
    assert orjson.loads(answer)["error"] == "the request is for east.test, not for north.test"
    assert await stored(north) == [] and await cached_actors(north) == []


async def test_inbox__too_many_recipients_is_400_before_the_signature_is_checked(
    north_and_south,
):
    north, south = north_and_south
    alice, key_id = alice_of(south)
    crowd = [f"http://south.test/users/u{n}" for n in range(MAX_RECIPIENTS)]
    activity = create_note(alice) | {"to": crowd[:3000], "cc": crowd[3000:] + [alice]}

    status, body = await send(north, "/inbox", activity, key_id, await private_key(south, "alice"))

    assert status == 400
    expected = f"the activity addresses {MAX_RECIPIENTS + 1} recipients; at most {MAX_RECIPIENTS}"
    assert orjson.loads(body)["error"] == expected
    assert await stored(north) == [] and await cached_actors(north) == []


async def test_inbox__recipients_of_the_object_count_too(north_and_south):
    north, south = north_and_south
    alice, key_id = alice_of(south)
    activity = create_note(alice)
    activity["object"]["bcc"] = [f"http://south.test/users/u{n}" for n in range(MAX_RECIPIENTS)]

    status, body = await send(north, "/inbox", activity, key_id, await private_key(south, "alice"))

    assert status == 400 and "recipients" in orjson.loads(body)["error"]
    assert await stored(north) == []


@pytest.mark.parametrize("shape", ["deep", "wide"])
async def test_inbox__document_the_worker_would_refuse_is_400_at_once(north_and_south, shape):
    north, south = north_and_south
    alice, key_id = alice_of(south)
    nested: dict = {"name": "bottom"}
    for _ in range(40):
        nested = {"type": "Object", "object": nested}
    bulky = {"tag": [{"type": "Hashtag", "name": f"#t{n}"} for n in range(4000)]}
    activity = create_note(alice) | ({"instrument": nested} if shape == "deep" else bulky)

    status, body = await send(north, "/inbox", activity, key_id, await private_key(south, "alice"))

    assert status == 400
    assert ("nested deeper" if shape == "deep" else "more than") in orjson.loads(body)["error"]
    assert await stored(north) == []


async def test_inbox__key_id_that_is_not_a_url_is_401(north_and_south):
    north, south = north_and_south
    alice, _ = alice_of(south)

    status, body = await send(
        north,
        "/inbox",
        create_note(alice),
        "http://[south.test#main-key",
        signatures.generate_private_key(),
    )

    assert status == 401 and "keyId" in orjson.loads(body)["error"]
    assert await stored(north) == []


async def test_inbox__key_owner_not_the_activitys_actor_is_401(north_and_south):
    # bob signs an activity that claims to be alice's
    north, south = north_and_south
    alice, _ = alice_of(south)
    bob_key_id = south.url("/users/bob#main-key")

    status, body = await send(
        north, "/inbox", create_note(alice), bob_key_id, await private_key(south, "bob")
    )

    assert status == 401 and "but the actor is" in orjson.loads(body)["error"]
    assert await stored(north) == []


# --- 403: what the signer may say, and whom the node federates with --------------------


async def test_inbox__activity_id_on_another_host_than_the_actor_is_403(north_and_south):
    north, south = north_and_south
    alice, key_id = alice_of(south)
    activity = create_note(alice, host="east.test")

    status, body = await send(north, "/inbox", activity, key_id, await private_key(south, "alice"))

    assert status == 403 and "is not on south.test" in orjson.loads(body)["error"]
    assert await stored(north) == []


async def test_inbox__activity_id_that_is_not_a_url_is_403(north_and_south):
    north, south = north_and_south
    alice, key_id = alice_of(south)
    activity = create_note(alice) | {"id": "http://[south.test/activities/1"}

    status, _ = await send(north, "/inbox", activity, key_id, await private_key(south, "alice"))

    assert status == 403 and await stored(north) == []


async def test_inbox__blocked_domain_is_403_without_fetching_the_key(north_and_south):
    north, south = north_and_south
    await north.query(
        "INSERT INTO domain_policies (domain, policy) VALUES ('south.test', 'block')"
    )
    alice, key_id = alice_of(south)

    status, body = await send(
        north, "/inbox", create_note(alice), key_id, await private_key(south, "alice")
    )

    assert status == 403 and "south.test" in orjson.loads(body)["error"]
    assert await stored(north) == []
    assert await cached_actors(north) == []  # nothing was fetched from a blocked domain


async def test_inbox__domain_blocked_after_its_key_was_cached_is_403(north_and_south):
    # Given north has alice's key in memory from an earlier delivery
    north, south = north_and_south
    alice, key_id = alice_of(south)
    key = await private_key(south, "alice")
    first = create_note(alice)
    await send(north, "/inbox", first, key_id, key)

    # When the admin blocks south and alice sends again
    await north.query(
        "INSERT INTO domain_policies (domain, policy) VALUES ('south.test', 'block')"
    )
    status, _ = await send(north, "/inbox", create_note(alice), key_id, key)

    # Then the cached key does not get her past the block
    assert status == 403 and await stored(north) == [first["id"]]


async def test_inbox__allowlist_mode_refuses_a_peer_not_listed(start_nodes):
    north, south = await start_nodes(2, **{"north.test": {"federation": "allowlist"}})
    await register(south.client, "alice")
    alice, key_id = alice_of(south)

    status, _ = await send(
        north, "/inbox", create_note(alice), key_id, await private_key(south, "alice")
    )

    assert status == 403
    assert await stored(north) == [] and await cached_actors(north) == []


async def test_inbox__allowlist_mode_accepts_a_listed_peer(start_nodes):
    north, south = await start_nodes(2, **{"north.test": {"federation": "allowlist"}})
    await register(south.client, "alice")
    await north.query(
        "INSERT INTO domain_policies (domain, policy) VALUES ('south.test', 'allow')"
    )
    alice, key_id = alice_of(south)
    activity = create_note(alice)

    status, _ = await send(north, "/inbox", activity, key_id, await private_key(south, "alice"))

    assert status == 202 and await stored(north) == [activity["id"]]


@pytest.mark.parametrize("mode", ["open", "allowlist"])
@pytest.mark.parametrize("policy", [None, "block", "allow"])
@pytest.mark.parametrize("domain", ["south.test", "localhost"])
async def test_inbox_gate__agrees_with_policy_is_allowed(settings, mode, policy, domain):
    # The insert applies the domain policy itself (one round trip); it must say what
    # policy.is_allowed says, for every mode, policy, and our own domain.
    settings = replace(settings, federation=mode)
    conn = await connect(settings.database_url)
    try:
        if policy:
            await conn.execute(
                "INSERT INTO domain_policies (domain, policy) VALUES ($1, $2)", domain, policy
            )
        allowed = await is_allowed(conn, settings, domain)
        result = await insert_item(
            conn,
            f"http://{domain}/a/1",
            f"http://{domain}/users/a",
            "{}",
            domain=domain,
            permitted=permitted_policies(settings, domain),
        )
    finally:
        await conn.close()

    assert (result == "stored") is allowed
    assert result in ("stored", "refused")


# --- personal inboxes --------------------------------------------------------------------


async def test_personal_inbox__unknown_resident_is_404(north_and_south):
    north, south = north_and_south
    alice, key_id = alice_of(south)

    status, body = await send(
        north, "/users/nobody/inbox", create_note(alice), key_id, await private_key(south, "alice")
    )

    assert status == 404 and orjson.loads(body)["error"]
    assert await stored(north) == []


async def test_personal_inbox__resident_who_left_is_410(north_and_south):
    north, south = north_and_south
    await register(north.client, "carol")
    await north.query("UPDATE accounts SET status = 'deleted' WHERE username = 'carol'")
    alice, key_id = alice_of(south)

    status, _ = await send(
        north, "/users/carol/inbox", create_note(alice), key_id, await private_key(south, "alice")
    )

    assert status == 410 and await stored(north) == []


async def test_personal_inbox__the_neighbourhood_group_accepts(north_and_south):
    north, south = north_and_south
    alice, key_id = alice_of(south)

    status, _ = await send(
        north,
        "/users/neighbourhood/inbox",
        create_note(alice),
        key_id,
        await private_key(south, "alice"),
    )

    assert status == 202


# --- Mastodon's Delete of a deleted account --------------------------------------------------


def self_delete(actor: str) -> dict:
    return {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": actor + "#delete",
        "type": "Delete",
        "actor": actor,
        "object": actor,
        "to": ["https://www.w3.org/ns/activitystreams#Public"],
    }


async def test_self_delete__of_an_actor_never_seen_is_202_dropped_without_a_fetch(
    north_and_south,
):
    north, south = north_and_south
    alice, key_id = alice_of(south)
    key = await private_key(south, "alice")
    await south.query("UPDATE accounts SET status = 'deleted' WHERE username = 'alice'")

    status, _ = await send(north, "/inbox", self_delete(alice), key_id, key)

    assert status == 202
    assert await stored(north) == [] and await cached_actors(north) == []


async def test_self_delete__of_a_cached_actor_now_gone_is_stored(north_and_south):
    # Given north knows alice, and south then deleted her account (her actor answers 410)
    north, south = north_and_south
    alice, key_id = alice_of(south)
    key = await private_key(south, "alice")
    await lookup(north.federation, alice)
    await south.query("UPDATE accounts SET status = 'deleted' WHERE username = 'alice'")

    # When south delivers the Delete signed with her (cached) key
    status, _ = await send(north, "/inbox", self_delete(alice), key_id, key)

    # Then it is stored for the worker to remove her
    assert status == 202 and await stored(north) == [alice + "#delete"]


async def test_self_delete__that_does_not_verify_with_the_cached_key_is_dropped(
    north_and_south,
):
    north, south = north_and_south
    alice, key_id = alice_of(south)
    await lookup(north.federation, alice)
    await south.query("UPDATE accounts SET status = 'deleted' WHERE username = 'alice'")

    status, _ = await send(
        north, "/inbox", self_delete(alice), key_id, signatures.generate_private_key()
    )

    assert status == 202 and await stored(north) == []


# --- logs ------------------------------------------------------------------------------------


async def test_inbox__refusals_are_logged_at_info_with_the_reason_only(north_and_south, caplog):
    north, south = north_and_south
    alice, _ = alice_of(south)
    caplog.set_level(logging.INFO, logger="commonsfed.web.inbox")

    await post(
        north,
        "/inbox",
        orjson.dumps(create_note(alice)),
        {"Content-Type": AS2, "Authorization": "Bearer secret-token"},
    )

    records = [r for r in caplog.records if r.name == "commonsfed.web.inbox"]
    assert len(records) == 1 and records[0].levelno == logging.INFO
    message = records[0].getMessage()
    assert "401" in message and "not signed" in message
    assert "secret-token" not in message and "Ladder" not in message


# --- through to the worker ---------------------------------------------------------------


async def test_inbox_then_worker__a_create_note_is_handled(north_and_south):
    # Given alice's Create, with her actor embedded as Misskey sends it, accepted by north
    north, south = north_and_south
    alice, key_id = alice_of(south)
    activity = create_note(alice) | {"actor": {"id": alice, "type": "Person"}}
    await send(north, "/inbox", activity, key_id, await private_key(south, "alice"))

    # When north's inbox worker takes one step
    assert await InboxWorker(north.federation).tick() is True

    # Then the note is kept and the item is done
    rows = await north.query("SELECT state, error FROM inbox_items")
    assert [(r["state"], r["error"]) for r in rows] == [("done", None)]
    notes = await north.query("SELECT uri FROM remote_objects")
    assert [r["uri"] for r in notes] == [activity["object"]["id"]]


# --- waking the workers --------------------------------------------------------------------


@pytest.fixture
async def listening(settings):
    """(pool, queue of payloads heard on the inbox channel)."""
    heard: asyncio.Queue[str] = asyncio.Queue()
    pool = await create_pool(settings.database_url)
    listener = await connect(settings.database_url)
    await listener.add_listener(INBOX_CHANNEL, lambda *args: heard.put_nowait(args[3]))
    yield pool, heard
    await listener.close()
    await pool.close()


def test_wake_ups__a_quiet_node_notifies_with_the_insert_itself():
    wake = WakeUps(window=timedelta(seconds=30))

    assert wake.lead() is True  # this insert carries the NOTIFY: no delay when quiet
    assert wake.lead() is False  # the next ones in the window do not


async def test_wake_ups__a_burst_gets_one_notify_after_its_rows(listening):
    # Given a window already opened by a leading insert
    pool, heard = listening
    wake = WakeUps(window=timedelta(milliseconds=100))
    wake.lead()

    # When five rows are stored without a NOTIFY of their own
    for _ in range(5):
        assert wake.lead() is False
        wake.follow(pool)

    # Then one NOTIFY comes at the end of the window, and no other before a probe sent after
    assert await asyncio.wait_for(heard.get(), 5) == ""
    await pool.execute(f"NOTIFY {INBOX_CHANNEL}, 'probe'")
    assert await asyncio.wait_for(heard.get(), 5) == "probe"
