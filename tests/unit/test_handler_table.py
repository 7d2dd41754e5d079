"""The handler table's shape, the unhandled path, and the pure builders and readers.

No database here: the Federation has no pool, so any handler that tried to read would fail.
"""

from __future__ import annotations

import inspect
from datetime import UTC, datetime

import pytest

from commonsfed.ap.activities import (
    LISTING,
    ObjectError,
    accept_to_ap,
    follow_to_ap,
    new_activity_id,
    object_type,
    parse_time,
    reject_to_ap,
    remote_object_from_ap,
    undo_to_ap,
    valid_uri,
)
from commonsfed.ap.actors import ACTOR_TYPES
from commonsfed.ap.jsonld import OUR_CONTEXT, normalise
from commonsfed.config import Settings
from commonsfed.federation.context import Federation
from commonsfed.federation.fetch import FetchError, Gone, NotFound
from commonsfed.federation.handlers import (
    ANY,
    HANDLERS,
    Refused,
    Retry,
    fetch_failure,
    handle_activity,
)

SETTINGS = Settings(domain="north.test", dev=True)
BOB = "https://south.example/users/bob"
ALICE = "http://north.test/users/alice"
KEPT = ("Note", "Article", "Page", "Question", LISTING)


def offline_federation() -> Federation:
    return Federation(SETTINGS, pool=None, session=None, policy=None, instance_private_key=None)


def fixed_id(settings: Settings) -> str:
    return f"{settings.base_url}/activities/fixed"


# --- the table -----------------------------------------------------------------------------


def test_handlers__table_holds_exactly_these_pairs():
    expected = {
        ("Follow", "Person"), ("Follow", "Group"),
        ("Accept", "Follow"), ("Reject", "Follow"),
        ("Undo", "Follow"), ("Undo", "Like"), ("Undo", "Announce"), ("Undo", "Block"),
        ("Like", ANY), ("Announce", ANY), ("Flag", ANY),
        ("Block", "Person"), ("Block", "Group"),
        ("Delete", "Tombstone"), ("Delete", None),
        # answers across nodes (FEP-0837): an Offer, the author's decision, a release
        ("Offer", "Agreement"), ("Accept", "Offer"), ("Reject", "Offer"), ("Undo", "Accept"),
        *{("Create", kind) for kind in KEPT},
        *{("Update", kind) for kind in (*KEPT, *ACTOR_TYPES)},
        *{("Delete", kind) for kind in (*KEPT, *ACTOR_TYPES)},
    }  # fmt: skip

    assert set(HANDLERS) == expected


def test_handlers__verify_and_receive_are_coroutines_taking_the_documented_arguments():
    for pair, handler in HANDLERS.items():
        assert inspect.iscoroutinefunction(handler.verify), pair
        assert inspect.iscoroutinefunction(handler.receive), pair
        assert list(inspect.signature(handler.verify).parameters) == ["fed", "activity"], pair
        assert len(inspect.signature(handler.receive).parameters) == 4, pair


async def test_handle_activity__unknown_activity_type_is_unhandled_without_any_lookup():
    move = {"id": f"{BOB}/move/1", "type": "Move", "actor": BOB, "object": BOB}

    assert await handle_activity(offline_federation(), move) == "unhandled"


@pytest.mark.parametrize(
    "obj",
    [
        {"id": "https://south.example/chats/1", "type": "ChatMessage", "attributedTo": BOB},
        {"id": "https://south.example/users/zed", "type": "Person"},
    ],
)
async def test_handle_activity__create_of_an_embedded_object_we_do_not_keep_is_unhandled(obj):
    create = {"id": f"{BOB}/create/1", "type": "Create", "actor": BOB, "object": obj}

    assert await handle_activity(offline_federation(), create) == "unhandled"


@pytest.mark.parametrize(
    "activity",
    [
        {"type": "Like", "actor": BOB, "object": ALICE},  # no id
        {"id": f"{BOB}/likes/1", "type": "Like", "object": ALICE},  # no actor
        {"id": "urn:uuid:1", "type": "Like", "actor": BOB, "object": ALICE},
        {"id": f"{ALICE}/likes/1", "type": "Like", "actor": ALICE, "object": BOB},  # ours
    ],
)
async def test_handle_activity__malformed_or_local_activity_is_refused(activity):
    with pytest.raises(Refused):
        await handle_activity(offline_federation(), activity)


async def test_handle_activity__a_signer_other_than_the_actor_is_refused():
    from commonsfed.ap.actors import RemoteActor

    carol = RemoteActor(
        "https://east.example/users/carol", "east.example", "Person", "carol", None,
        "https://east.example/users/carol/inbox", None, None, "k", "pem",
    )  # fmt: skip
    like = {"id": f"{BOB}/likes/1", "type": "Like", "actor": BOB, "object": ALICE}

    with pytest.raises(Refused, match="signed by"):
        await handle_activity(offline_federation(), like, carol)


# --- readers -------------------------------------------------------------------------------


def test_object_type__a_listing_is_a_listing_whatever_its_type():
    intent = {"type": "Intent", "action": "transfer"}

    assert object_type({"type": "Note", "purpose": "offer", "publishes": intent}) == LISTING
    assert object_type({"type": "Proposal", "purpose": "request", "publishes": intent}) == LISTING
    assert object_type({"type": "Note", "purpose": "offer"}) == "Note"
    assert object_type({"type": ["Note", "Extra"]}) == "Note"


def test_remote_object_from_ap__reads_a_listing():
    note = normalise(
        {
            "@context": OUR_CONTEXT,
            "id": "https://south.example/listings/1",
            "type": "Note",
            "attributedTo": BOB,
            "inReplyTo": "https://north.test/listings/9",
            "published": "2024-05-04T08:00:00Z",
            "purpose": "offer",
            "publishes": {"id": "https://south.example/listings/1#primary", "type": "Intent"},
        }
    )

    obj = remote_object_from_ap(note)

    assert obj.uri == "https://south.example/listings/1" and obj.domain == "south.example"
    assert obj.attributed_to == BOB and obj.is_listing and obj.type == "Note"
    assert obj.in_reply_to == "https://north.test/listings/9"
    assert obj.published_at == datetime(2024, 5, 4, 8, tzinfo=UTC) and obj.updated_at is None
    assert "@context" not in obj.document


@pytest.mark.parametrize(
    "document",
    [
        {"type": "Note", "attributedTo": BOB},
        {"id": "https://south.example/notes/1#frag", "type": "Note", "attributedTo": BOB},
        {"id": "https://south.example/notes/1", "attributedTo": BOB},
        {"id": "https://south.example/notes/1", "type": "Note"},
        {"id": "https://south.example/notes/1", "type": "Note", "attributedTo": "javascript:x"},
    ],
)
def test_remote_object_from_ap__refuses_an_object_missing_what_we_need(document):
    with pytest.raises(ObjectError):
        remote_object_from_ap(document)


def test_parse_time__reads_xsd_datetimes_and_ignores_the_rest():
    assert parse_time("2024-05-04T08:00:00+02:00").utcoffset().total_seconds() == 7200
    assert parse_time("2024-05-04T08:00:00").tzinfo is UTC
    assert parse_time("yesterday") is None and parse_time(12) is None


def test_valid_uri__only_http_uris_of_sane_length():
    assert valid_uri(BOB) == BOB
    assert valid_uri("https://" + "a" * 3000) is None
    assert valid_uri("mailto:bob@south.example") is None
    assert valid_uri(["https://south.example"]) is None


# --- builders ------------------------------------------------------------------------------


FOLLOW = {
    "@context": OUR_CONTEXT,
    "id": f"{BOB}/follows/1",
    "type": "Follow",
    "actor": BOB,
    "object": ALICE,
}


@pytest.mark.parametrize(("build", "kind"), [(accept_to_ap, "Accept"), (reject_to_ap, "Reject")])
def test_accept_and_reject_to_ap__answer_the_follow_as_received_to_the_follower(build, kind):
    answer = build(ALICE, FOLLOW, SETTINGS, new_id=fixed_id)

    assert answer == {
        "@context": OUR_CONTEXT,
        "id": "http://north.test/activities/fixed",
        "type": kind,
        "actor": ALICE,
        "object": {key: value for key, value in FOLLOW.items() if key != "@context"},
        "to": [BOB],
    }


def test_follow_to_ap__is_addressed_to_whom_it_follows():
    follow = follow_to_ap(ALICE, BOB, SETTINGS, new_id=fixed_id)

    assert follow == {
        "@context": OUR_CONTEXT,
        "id": "http://north.test/activities/fixed",
        "type": "Follow",
        "actor": ALICE,
        "object": BOB,
        "to": [BOB],
    }


def test_undo_to_ap__embeds_the_activity_and_keeps_its_audience():
    like = {
        "@context": OUR_CONTEXT,
        "id": "http://north.test/activities/like",
        "type": "Like",
        "actor": ALICE,
        "object": "https://south.example/notes/1",
        "to": [BOB],
        "cc": ["https://www.w3.org/ns/activitystreams#Public"],
        "bcc": ["https://secret.example/users/x"],
    }

    undo = undo_to_ap(ALICE, like, SETTINGS, new_id=fixed_id)

    assert undo["type"] == "Undo" and undo["actor"] == ALICE
    assert undo["object"]["id"] == like["id"] and "@context" not in undo["object"]
    assert "bcc" not in undo["object"]
    assert undo["to"] == [BOB] and undo["cc"] == like["cc"]


def test_builders__default_ids_are_fresh_activity_urls_of_this_node():
    first = follow_to_ap(ALICE, BOB, SETTINGS)["id"]
    second = follow_to_ap(ALICE, BOB, SETTINGS)["id"]

    assert first != second
    assert first.startswith("http://north.test/activities/")
    assert new_activity_id(SETTINGS).startswith("http://north.test/activities/")


# --- failures of remote fetches ------------------------------------------------------------


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (FetchError("timed out fetching https://x.example/1"), Retry),
        (FetchError("could not fetch https://x.example/1: refused"), Retry),
        (FetchError("https://x.example/1 answered 503", status=503), Retry),
        (FetchError("https://x.example/1 answered 429", status=429), Retry),
        (NotFound("https://x.example/1 was not found (404)", status=404), Refused),
        (Gone("https://x.example/1 is gone (410)", status=410), Refused),
        (FetchError("https://x.example/1 answered 403", status=403), Refused),
        (FetchError("refused: 10.0.0.1 is an internal address"), Refused),
    ],
)
def test_fetch_failure__temporary_ones_are_retried_the_rest_refused(error, expected):
    failure = fetch_failure(error)

    assert type(failure) is expected and str(failure) == error.message
