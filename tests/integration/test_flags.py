"""Flags from other servers become reports, against real PostgreSQL: Mastodon's own shape
(tests/data/mastodon_flag.json), what a Flag must name, and the domains whose reports the
admins refuse. The node under test is http://localhost with a resident alice (see
tests/integration/remote.py)."""

from __future__ import annotations

import json
import uuid

import orjson
import pytest

from commonsfed.db import accounts as accounts_q
from commonsfed.services import listings
from tests.builders import register
from tests.integration.remote import BOB, DATA, activity, add_remote_actor, handle
from tests.integration.test_handlers import refused_and_unchanged
from tests.integration.test_inbox import private_key, send

ALICE = "http://localhost/users/alice"
BIKE = {"purpose": "offer", "kind": "give", "title": "Red bike", "category": "tools",
        "place": "Elm Street"}  # fmt: skip


async def alices_bike(fed, db) -> str:
    alice = await accounts_q.get_by_username(db, "alice")
    listing = await listings.create_listing(fed.pool, fed.settings, alice, BIKE, [])
    return listing.uid


async def reports(db) -> list[dict]:
    return [dict(row) for row in await db.fetch("SELECT * FROM reports ORDER BY id")]


async def test_flag__in_mastodons_shape_becomes_a_report_about_the_listing(fed, db):
    # Given alice's bike, and Mastodon's Flag about it (its ids moved to this node)
    uid = await alices_bike(fed, db)
    text = (
        (DATA / "mastodon_flag.json").read_text().replace("https://north.test", "http://localhost")
    )
    flag = json.loads(text.replace("01HX3Q9Z8K2M4N6P8R0T2V4X6Z", uid))
    await add_remote_actor(db, flag["actor"], "Application")

    # When it arrives, twice (a retry)
    assert await handle(fed, flag) == "done"
    assert await handle(fed, flag) == "done"

    # Then there is one report, from mastodon.example's instance actor, about the bike
    [report] = await reports(db)
    assert report["activity_uri"] == flag["id"]
    assert report["reporter_uri"] == "https://mastodon.example/actor"
    assert report["reporter_account_id"] is None
    assert (report["about"], report["listing_uid"], report["quoted"]) == (
        "listing",
        uid,
        "Red bike",
    )
    assert report["target_actor_uri"] == ALICE and report["category"] == "other"
    assert report["target_uris"] == [ALICE, f"http://localhost/listings/{uid}"]
    assert report["content"].startswith("Asks for a deposit") and report["resolved_at"] is None


async def test_flag__naming_only_things_that_are_not_here_is_refused(fed, db):
    uid = await alices_bike(fed, db)
    await listings.remove_listing(fed.pool, fed.settings,
                                  await accounts_q.get_by_username(db, "alice"), uid)  # fmt: skip
    nothing = ["http://localhost/users/nobody", f"http://localhost/listings/{uid}",
               "http://localhost/messages/1234", "https://east.example/users/carol"]  # fmt: skip

    await refused_and_unchanged(fed, db, activity("Flag", BOB, nothing, content="Look"))
    await refused_and_unchanged(fed, db, activity("Flag", BOB, [], content="Look"))


async def test_flag__from_a_domain_whose_reports_are_refused_is_dropped(fed, db):
    await db.execute(
        """INSERT INTO domain_policies (domain, policy, severity, reject_reports)
           VALUES ('south.example', 'block', 'none', true)"""
    )

    assert await handle(fed, activity("Flag", BOB, [ALICE], content="Spam")) == "done"

    assert await reports(db) == []


async def test_flag__about_a_message_a_resident_sent_keeps_its_text(fed, db):
    uid = await alices_bike(fed, db)
    conversation = await db.fetchval(
        """INSERT INTO conversations (listing_id, respondent_actor_uri)
           SELECT id, $1 FROM listings WHERE uid = $2 RETURNING id""", BOB, uid)  # fmt: skip
    sent = "http://localhost/messages/5d1c"
    await db.execute(
        """INSERT INTO messages (conversation_id, sender_account_id, body, ap_id)
           SELECT $1, id, 'Pay me first', $2 FROM accounts WHERE username = 'alice'""",
        conversation, sent,
    )  # fmt: skip

    assert await handle(fed, activity("Flag", BOB, [ALICE, sent], content="Scam")) == "done"

    [report] = await reports(db)
    assert (report["about"], report["quoted"], report["target_actor_uri"]) == (
        "message",
        "Pay me first",
        ALICE,
    )


# --- through the inbox: a Flag from a host that does not own its actor -----------------------


def flag_of(actor: str, activity_host: str, about: str) -> dict:
    return {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": f"http://{activity_host}/{uuid.uuid4()}",
        "type": "Flag",
        "actor": actor,
        "content": "Spam",
        "object": [about],
    }


@pytest.fixture
async def peers(start_nodes):
    """north receives; alice lives on south, carol on north."""
    north, south = await start_nodes(2)
    await register(south.client, "alice")
    await register(north.client, "carol")
    return north, south


@pytest.mark.parametrize("actor, activity_host, status, error", [
    # signed by south's alice, claiming to be east's instance actor
    ("http://east.test/actor", "east.test", 401, "but the actor is"),
    # south's alice as actor, but the Flag's id on east
    ("http://south.test/users/alice", "east.test", 403, "is not on south.test"),
])  # fmt: skip
async def test_flag__from_a_host_that_does_not_own_its_actor_is_refused_at_the_inbox(
    peers, actor, activity_host, status, error
):
    north, south = peers
    flag = flag_of(actor, activity_host, north.url("/users/carol"))
    key_id = south.url("/users/alice#main-key")

    answer, body = await send(north, "/inbox", flag, key_id, await private_key(south, "alice"))

    assert answer == status and error in orjson.loads(body)["error"]
    assert await north.query("SELECT * FROM inbox_items") == []
    assert await north.query("SELECT * FROM reports") == []
