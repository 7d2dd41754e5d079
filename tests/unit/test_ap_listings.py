"""Listings on the wire: Note + FEP-0837 out, remote listings and answers in, hostile shapes."""

from __future__ import annotations

import copy
import dataclasses
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from commonsfed.ap.activities import is_listing, object_type
from commonsfed.ap.agreements import (
    AgreementOffer,
    agreement_accept_to_ap,
    agreement_answer_from_ap,
    agreement_reject_to_ap,
    is_direct_reply_to,
    offer_agreement_from_ap,
    offer_agreement_to_ap,
)
from commonsfed.ap.jsonld import OUR_CONTEXT, PUBLIC, is_fast_path, normalise
from commonsfed.ap.listings import (
    KIND_NS,
    MAX_TITLE,
    ListingContext,
    announce_to_ap,
    create_to_ap,
    delete_to_ap,
    listing_to_ap,
    update_to_ap,
)
from commonsfed.ap.remote_listings import html_to_text, listing_from_ap
from commonsfed.models import KINDS, Listing

DATA = Path(__file__).parent.parent / "data"
T0 = datetime(2024, 5, 4, 8, 0, tzinfo=UTC)
LISTING_URL = "https://north.test/listings/01HX3Q9Z8K2M4N6P8R0T2V4X6Z"
ALICE = "https://north.test/users/alice"
FOLLOWERS = ALICE + "/followers"
GROUP = "https://north.test/neighbourhood"


def load(name: str) -> dict[str, Any]:
    return json.loads((DATA / name).read_text())


def make_listing(**changes: Any) -> Listing:
    listing = Listing(
        id=1,
        uid="01HX3Q9Z8K2M4N6P8R0T2V4X6Z",
        author_id=1,
        author_username="alice",
        purpose="offer",
        kind="give",
        title="Cordless drill",
        description="Bosch, two batteries.",
        category="tools",
        quantity=1,
        available_quantity=1,
        place="Rue des Lilas, North",
        latitude=48.856613,
        longitude=2.352222,
        available_from=None,
        available_until=None,
        expires_at=T0 + timedelta(days=30),
        state="open",
        details={},
        created_at=T0,
        updated_at=T0,
    )
    return dataclasses.replace(listing, **changes)


def make_context(**changes: Any) -> ListingContext:
    ctx = ListingContext(
        listing_url=LISTING_URL,
        author_uri=ALICE,
        author_handle="@alice@north.test",
        followers_uri=FOLLOWERS,
        group_uri=GROUP,
        category_name="Tools",
        category_tag="tools",
        photo_urls=[
            (
                "https://north.test/media/9f1e.jpg",
                "image/jpeg",
                "A green drill on a bench",
                800,
                600,
            )
        ],
        description_html="<p>Bosch, two batteries.</p>",
        instance_name="North Commons",
    )
    return dataclasses.replace(ctx, **changes)


def visible_text(note: dict[str, Any]) -> str:
    """What a Mastodon user reads: the content as text, no other field."""
    return html_to_text(note["content"], limit=100_000)


# kind -> (details, other Listing fields, action, unit, words the post must show)
KIND_CASES = {
    "give": ({}, {"quantity": 3, "available_quantity": 2}, "transfer", "one", ["Quantity: 3"]),
    "lend": (
        {"loan_days": 14, "return_by": "2024-05-20"},
        {},
        "transferCustody",
        "one",
        ["Loan: up to 14 days, back by 20 May 2024"],
    ),
    "swap": (
        {"in_return": "a jar of jam"},
        {},
        "transfer",
        "one",
        ["In return: a jar of jam"],
    ),
    "service": ({"hours": 2}, {"quantity": None}, "work", "hour", ["Time: 2 hours"]),
    "ride": (
        {"origin": "North", "destination": "Lyon", "departure": "2024-05-10T07:30:00Z", "seats": 3},
        {"available_quantity": 2},
        "deliverService",
        "one",
        ["Ride: from North to Lyon", "Leaving: 10 May 2024, 07:30 UTC", "Seats: 3 (2 left)"],
    ),
    "stay": (
        {"arrival": "2024-06-01", "departure": "2024-06-03", "places": 2},
        {},
        "deliverService",
        "one",
        ["Stay: 1 June 2024 to 3 June 2024", "Places: 2"],
    ),
    "group_purchase": (
        {"target_quantity": 25, "deadline": "2024-05-31", "unit": "kg"},
        {"purpose": "request"},
        "transfer",
        "kilogram",
        ["Target: 25 kg by 31 May 2024", "Pledged so far: 10 kg"],
    ),
    "pay_it_forward": (
        {"portions": 10},
        {"quantity": 10, "available_quantity": 4},
        "transfer",
        "one",
        ["Portions left: 4 of 10"],
    ),
    "shared": ({}, {}, "use", "one", ["Offer · shared use:"]),
    "project": (
        {"goal": "A bench by the lime tree", "deadline": "2024-05-31",
         "needs": [{"kind": "hours", "quantity": 12, "label": ""}]},
        {"purpose": "request", "quantity": None},
        "transfer",
        "one",
        ["Request · neighbourhood project:", "Goal: A bench by the lime tree",
         "Pledges until: 31 May 2024"],
    ),
}


def test_kind_cases__cover_every_kind():
    assert set(KIND_CASES) == set(KINDS)


@pytest.mark.parametrize("kind", sorted(KIND_CASES))
def test_listing_to_ap__each_kind_has_its_action_and_terms(kind):
    details, fields, action, unit, words = KIND_CASES[kind]
    listing = make_listing(kind=kind, details=details, **fields)

    note = listing_to_ap(listing, make_context(pledged=10))

    intent = note["publishes"]
    assert intent["action"] == action
    assert intent["resourceQuantity"]["hasUnit"] == unit
    assert intent["vf:resourceClassifiedAs"] == [KIND_NS + kind]
    text = visible_text(note)
    for word in words:
        assert word in text


def test_listing_to_ap__shared_shelf_is_a_transfer():
    note = listing_to_ap(make_listing(kind="shared", details={"shelf": True}), make_context())
    assert note["publishes"]["action"] == "transfer"
    assert note["unitBased"] is True
    assert "Offer · shared shelf:" in visible_text(note)


def test_listing_to_ap__reciprocal_only_when_something_is_asked_in_return():
    for kind in KINDS:
        details, fields, *_ = KIND_CASES[kind]
        note = listing_to_ap(make_listing(kind=kind, details=details, **fields), make_context())
        assert ("reciprocal" in note) == (kind in ("swap", "service")), kind
    swap = listing_to_ap(make_listing(kind="swap", details={"in_return": "jam"}), make_context())
    assert swap["reciprocal"]["id"] == LISTING_URL + "#reciprocal"
    assert swap["reciprocal"]["action"] == "transfer"
    assert swap["reciprocal"]["receiver"] == ALICE
    service = listing_to_ap(make_listing(kind="service", details={"hours": 1.5}), make_context())
    assert service["reciprocal"]["action"] == "work"
    assert service["reciprocal"]["resourceQuantity"] == {
        "hasUnit": "hour",
        "hasNumericalValue": "1.5",
    }


def test_listing_to_ap__pay_it_forward_counts_portions_down():
    listing = make_listing(kind="pay_it_forward", details={"portions": 10}, available_quantity=3)
    intent = listing_to_ap(listing, make_context())["publishes"]
    assert intent["resourceQuantity"] == {"hasUnit": "one", "hasNumericalValue": "1"}
    assert intent["availableQuantity"] == {"hasUnit": "one", "hasNumericalValue": "3"}


def test_listing_to_ap__group_purchase_has_minimum_and_deadline():
    listing = make_listing(
        kind="group_purchase",
        purpose="request",
        details={"target_quantity": 25, "deadline": "2024-05-31", "unit": "kg"},
    )
    note = listing_to_ap(listing, make_context())
    assert note["publishes"]["minimumQuantity"] == {
        "hasUnit": "kilogram",
        "hasNumericalValue": "25",
    }
    assert note["endTime"] == "2024-06-01T00:00:00Z"  # the deadline's whole last day
    assert note["unitBased"] is True
    assert note["publishes"]["receiver"] == ALICE  # a request: the author receives


def test_listing_to_ap__is_a_public_note_with_fep0837_inline():
    note = listing_to_ap(make_listing(), make_context())

    assert note["@context"] == OUR_CONTEXT
    assert note["type"] == "Note"
    assert note["id"] == note["url"] == LISTING_URL
    assert note["attributedTo"] == ALICE
    assert note["to"] == [PUBLIC]
    assert note["cc"] == [FOLLOWERS]
    assert note["published"] == "2024-05-04T08:00:00Z"
    assert note["purpose"] == "offer"
    assert note["publishes"]["id"] == LISTING_URL + "#primary"
    assert note["publishes"]["type"] == "Intent"
    assert note["publishes"]["resourceConformsTo"] == "https://north.test/categories/tools"
    assert note["publishes"]["provider"] == ALICE
    assert is_listing(note)


def test_listing_to_ap__content_reads_as_a_complete_post():
    listing = make_listing(kind="lend", details={"loan_days": 7})

    note = listing_to_ap(listing, make_context())

    assert "summary" not in note
    text = visible_text(note)
    lines = text.splitlines()
    assert lines[0] == "Offer · lend:"
    assert lines[1] == "Cordless drill"
    assert "<strong>Cordless drill</strong>" in note["content"]
    for expected in (
        "Bosch, two batteries.",
        "Loan: up to 7 days",
        "Where: Rue des Lilas, North",
        "Until: 3 June 2024",
        "Category: Tools",
        f"Reply privately to answer — or open the listing on North Commons: {LISTING_URL}",
        "#tools",
    ):
        assert expected in text
    assert f'<a href="{LISTING_URL}">' in note["content"]
    assert "Status" not in text  # open: no status line
    assert not any(ord(char) > 0x2FFF for char in text)  # no emoji


def test_listing_to_ap__hashtag_is_a_link_and_a_tag():
    note = listing_to_ap(make_listing(), make_context())
    assert note["tag"] == [
        {"type": "Hashtag", "name": "#tools", "href": "https://north.test/tags/tools"}
    ]
    assert (
        '<a href="https://north.test/tags/tools" class="mention hashtag" rel="tag">'
        "#<span>tools</span></a>"
    ) in note["content"]


def test_listing_to_ap__escapes_what_residents_typed():
    listing = make_listing(title="<script>alert(1)</script> & co", place='"Bob\'s" <b>shed</b>')
    note = listing_to_ap(listing, make_context())
    assert "<script>" not in note["content"]
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; co" in note["content"]
    assert "<b>shed</b>" not in note["content"]
    assert note["name"] == listing.title  # a plain-text field: peers escape it themselves


def test_listing_to_ap__location_attachment_and_times():
    listing = make_listing(available_from=T0, available_until=T0 + timedelta(days=5))
    note = listing_to_ap(listing, make_context())
    assert note["location"] == {
        "type": "Place",
        "name": "Rue des Lilas, North",
        "latitude": 48.857,
        "longitude": 2.352,
    }
    assert note["attachment"] == [
        {
            "type": "Image",
            "mediaType": "image/jpeg",
            "url": "https://north.test/media/9f1e.jpg",
            "name": "A green drill on a bench",
            "width": 800,
            "height": 600,
        }
    ]
    assert note["startTime"] == "2024-05-04T08:00:00Z"
    assert note["endTime"] == "2024-05-09T08:00:00Z"  # the earlier of availability and expiry


def test_listing_to_ap__until_shows_the_last_day_of_a_midnight_end():
    # services store "until 31 May" as the midnight after it
    listing = make_listing(expires_at=datetime(2024, 6, 1, tzinfo=UTC))
    note = listing_to_ap(listing, make_context())
    assert "Until: 31 May 2024" in visible_text(note)
    assert note["endTime"] == "2024-06-01T00:00:00Z"


def test_listing_to_ap__standing_offer_says_so():
    note = listing_to_ap(make_listing(expires_at=None), make_context(photo_urls=[]))
    assert "Until: no end date" in visible_text(note)
    assert "endTime" not in note
    assert "attachment" not in note


def test_listing_to_ap__updated_only_after_a_change():
    assert "updated" not in listing_to_ap(make_listing(), make_context())
    changed = make_listing(updated_at=T0 + timedelta(hours=2))
    assert listing_to_ap(changed, make_context())["updated"] == "2024-05-04T10:00:00Z"


@pytest.mark.parametrize(
    ("state", "available", "finished", "line"),
    [
        ("reserved", "0", False, "Status: Reserved. You can still answer and wait in line."),
        ("completed", "0", True, "Status: Completed. Closed to new answers."),
        ("expired", "1", True, "Status: Expired. Closed to new answers."),
    ],
)
def test_listing_to_ap__state_shows_in_content_and_structure(state, available, finished, line):
    listing = make_listing(state=state, updated_at=T0 + timedelta(days=2))

    note = listing_to_ap(listing, make_context())

    text = visible_text(note)
    assert line in text
    assert ("Reply privately" in text) == (state == "reserved")
    assert note["publishes"]["availableQuantity"]["hasNumericalValue"] == available
    assert note["publishes"].get("vf:finished", False) is finished
    if finished:
        assert note["endTime"] == "2024-05-06T08:00:00Z"  # when it closed


# --- activities --------------------------------------------------------------------------


def test_create_to_ap__wraps_the_note_as_addressed():
    note = listing_to_ap(make_listing(), make_context())
    create = create_to_ap(note, "https://north.test/activities/1")
    assert create["type"] == "Create"
    assert create["actor"] == ALICE
    assert create["to"] == [PUBLIC] and create["cc"] == [FOLLOWERS]
    assert "@context" not in create["object"]
    assert create["object"]["id"] == LISTING_URL
    assert is_fast_path(create)


def test_update_to_ap__carries_updated():
    note = listing_to_ap(make_listing(), make_context())
    update = update_to_ap(note, "https://north.test/activities/2", updated=T0 + timedelta(hours=1))
    assert update["type"] == "Update"
    assert update["object"]["updated"] == "2024-05-04T09:00:00Z"
    edited = listing_to_ap(make_listing(updated_at=T0 + timedelta(hours=3)), make_context())
    assert update_to_ap(edited, "https://north.test/activities/3")["object"]["updated"]


def test_update_to_ap__without_updated_is_refused():
    note = listing_to_ap(make_listing(), make_context())
    with pytest.raises(ValueError, match="updated"):
        update_to_ap(note, "https://north.test/activities/2")


def test_delete_to_ap__leaves_a_tombstone():
    delete = delete_to_ap(
        LISTING_URL, ALICE, FOLLOWERS, "https://north.test/activities/4", deleted=T0
    )
    assert delete["type"] == "Delete"
    assert delete["actor"] == ALICE
    assert delete["object"] == {
        "id": LISTING_URL,
        "type": "Tombstone",
        "formerType": "Note",
        "deleted": "2024-05-04T08:00:00Z",
    }
    assert delete["to"] == [PUBLIC]
    assert is_fast_path(delete)


def test_announce_to_ap__the_group_shares_the_note():
    note = listing_to_ap(make_listing(), make_context())
    announce = announce_to_ap(
        GROUP, note, "https://north.test/activities/5", GROUP + "/followers", published=T0
    )
    assert announce["type"] == "Announce"
    assert announce["actor"] == GROUP
    assert announce["to"] == [PUBLIC]
    assert announce["cc"] == [GROUP + "/followers", ALICE]
    assert announce["object"]["id"] == LISTING_URL
    assert "@context" not in announce["object"]
    assert object_type(normalise(announce)["object"]) == "Listing"


# --- reading listings --------------------------------------------------------------------


@pytest.mark.parametrize("force_slow", [False, True])
def test_listing_from_ap__round_trips_our_own_output(force_slow):
    listing = make_listing(
        kind="pay_it_forward",
        details={"portions": 10},
        quantity=10,
        available_quantity=4,
        available_until=T0 + timedelta(days=3),
        updated_at=T0 + timedelta(hours=1),
    )
    note = listing_to_ap(listing, make_context())
    assert is_fast_path(note)

    remote = listing_from_ap(normalise(note, force_slow=force_slow), now=T0)

    assert remote is not None
    assert remote.uri == remote.url == LISTING_URL
    assert remote.author_uri == ALICE
    assert (remote.purpose, remote.kind, remote.action) == ("offer", "pay_it_forward", "transfer")
    assert remote.title == "Cordless drill"
    assert remote.content_html == note["content"]
    assert remote.categories == ("tools",)
    assert remote.place == "Rue des Lilas, North"
    assert (remote.latitude, remote.longitude) == (48.857, 2.352)
    assert (remote.unit, remote.quantity, remote.available_quantity) == ("one", 1, 4)
    assert remote.unit_based is True
    assert remote.state == "open"
    assert [photo.alt for photo in remote.photos] == ["A green drill on a bench"]
    assert remote.photos[0].width == 800
    assert remote.published == T0
    assert remote.updated == T0 + timedelta(hours=1)
    assert remote.ends_at == T0 + timedelta(days=3)


@pytest.mark.parametrize("kind", sorted(KIND_CASES))
def test_listing_from_ap__reads_back_every_kind(kind):
    details, fields, *_ = KIND_CASES[kind]
    note = listing_to_ap(make_listing(kind=kind, details=details, **fields), make_context())
    remote = listing_from_ap(normalise(note), now=T0)
    assert remote is not None and remote.kind == kind


@pytest.mark.parametrize("state", ["open", "reserved", "completed", "expired"])
def test_listing_from_ap__round_trips_the_state(state):
    listing = make_listing(state=state, updated_at=T0 + timedelta(days=1))
    note = normalise(listing_to_ap(listing, make_context()))
    assert listing_from_ap(note, now=T0 + timedelta(days=2)).state == state


def test_listing_from_ap__withdrawn_if_ever_rendered_reads_as_closed():
    listing = make_listing(state="withdrawn", updated_at=T0 + timedelta(days=1))
    note = normalise(listing_to_ap(listing, make_context()))
    assert listing_from_ap(note, now=T0 + timedelta(days=2)).state == "expired"


def test_listing_from_ap__a_past_end_time_means_expired():
    document = normalise(load("fep0837_offer_note.json"))
    before = listing_from_ap(document, now=datetime(2024, 5, 10, tzinfo=UTC))
    after = listing_from_ap(document, now=datetime(2024, 6, 10, tzinfo=UTC))
    assert (before.state, after.state) == ("open", "expired")


def test_listing_from_ap__plain_mastodon_note_is_not_a_listing():
    note = normalise(load("mastodon_create_note.json"))["object"]
    assert listing_from_ap(note) is None


def test_listing_from_ap__a_page_with_purpose_and_publishes_is_one():
    # Given the FEP-0837 full example, sent as a Page by a marketplace server
    document = normalise(load("fep0837_proposal_page.json"))

    remote = listing_from_ap(document, now=T0)

    assert remote is not None
    assert remote.uri == "https://market.example/proposals/ddde9d6f-6f3b-4770-a966-3a18ef006930"
    assert remote.title == "Offering used bike"
    assert remote.kind == "swap"  # a transfer with a transfer in return
    assert remote.has_reciprocal is True
    assert (remote.latitude, remote.longitude) == (25.0, -71.0)
    assert remote.place is None
    assert remote.available_quantity == 1
    assert remote.state == "open"


def test_listing_from_ap__captured_fep0837_note():
    remote = listing_from_ap(normalise(load("fep0837_offer_note.json")), now=T0)
    assert remote.title == "Swap: tomato seedlings for a jar of jam"  # no name: first <strong>
    assert remote.kind == "swap"
    assert remote.categories == ("garden", "swap")
    assert remote.url.endswith("/page")
    assert remote.photos[0].width is None  # not sent


def test_listing_from_ap__listing_from_another_commonsfed_node():
    update = normalise(load("commonsfed_update_listing.json"))

    remote = listing_from_ap(update["object"], now=datetime(2024, 5, 7, tzinfo=UTC))

    assert remote.author_uri == "https://east.test/users/dmitri"
    assert remote.kind == "pay_it_forward"
    assert remote.available_quantity == 4
    assert remote.categories == ("food",)
    assert remote.updated == datetime(2024, 5, 7, 13, 30, tzinfo=UTC)
    assert "Portions left: 4 of 10" in html_to_text(remote.content_html)


def test_listing_from_ap__title_from_content_when_no_name_nor_strong():
    document = normalise(load("fep0837_offer_note.json"))
    document["content"] = "<p>Free sofa, come and get it\nsecond line</p><p>More</p>"
    assert listing_from_ap(document).title == "Free sofa, come and get it"


def test_listing_from_ap__kind_is_guessed_for_other_servers():
    base = normalise(load("fep0837_proposal_page.json"))
    guesses = {
        ("transferCustody", True): "lend",
        ("use", False): "shared",
        ("work", True): "service",
        ("deliverService", False): "service",
        ("transfer", False): "give",
        ("transfer", True): "swap",
        ("produce", False): "other",
    }
    for (action, reciprocal), kind in guesses.items():
        document = copy.deepcopy(base)
        document["publishes"]["action"] = action
        if not reciprocal:
            del document["reciprocal"]
        assert listing_from_ap(document).kind == kind, action


# --- hostile shapes ----------------------------------------------------------------------


def _page() -> dict[str, Any]:
    return normalise(load("fep0837_proposal_page.json"))


@pytest.mark.parametrize(
    "change",
    [
        {"purpose": "sell"},
        {"purpose": ["offer", "request"]},  # first is taken: still a listing (checked below)
        {"purpose": {"id": "offer"}},
        {"id": ["https://market.example/a", "https://market.example/b"]},
        {"id": "https://market.example/proposals/1#fragment"},
        {"id": "javascript:alert(1)"},
        {"attributedTo": None},
        {"publishes": None},
        {"publishes": ""},
    ],
)
def test_listing_from_ap__bad_identity_is_refused_without_crashing(change):
    document = {**_page(), **change}
    remote = listing_from_ap(document)
    if change.get("purpose") == ["offer", "request"]:
        assert remote is not None and remote.purpose == "offer"
    else:
        assert remote is None


def test_listing_from_ap__hostile_values_are_cut_or_dropped():
    document = {
        **_page(),
        "name": ["x" * 100_000, "second"],
        "content": {"html": "<p>not a string</p>"},
        "tag": ["#notadict", {"type": "Hashtag", "name": ["#Tools"]}, {"type": "Hashtag"}, 7]
        + [{"type": "Hashtag", "name": f"#t{i}"} for i in range(500)],
        "location": [{"type": "Place", "name": "y" * 10_000, "latitude": "north"}],
        "attachment": {"type": "Image", "mediaType": "text/html", "url": "https://x.example/a"},
        "attributedTo": [{"id": "https://market.example/users/alice"}],
        "published": ["2024-01-01T00:00:00Z"],
        "unitBased": "yes",
        "publishes": [
            {
                "action": ["transfer"],
                "resourceQuantity": {"hasUnit": ["one"], "hasNumericalValue": "1e999999"},
                "availableQuantity": {"hasNumericalValue": "NaN"},
                "minimumQuantity": {"hasNumericalValue": -3},
            }
        ],
    }

    remote = listing_from_ap(document)

    assert remote is not None
    assert len(remote.title) == MAX_TITLE and remote.title.endswith("…")
    assert remote.content_html == ""
    assert remote.categories[0] == "tools" and len(remote.categories) == 10
    assert len(remote.place) <= 200
    assert remote.latitude is None
    assert remote.photos == ()
    assert remote.author_uri == "https://market.example/users/alice"
    assert remote.published is None
    assert remote.unit_based is False
    assert (remote.quantity, remote.available_quantity, remote.minimum_quantity) == (
        None,
        None,
        None,
    )
    assert remote.kind == "swap"


def test_listing_from_ap__huge_html_content_is_capped():
    document = {**_page(), "name": None, "content": "<p>" + "<b>" * 50_000 + "a" * 300_000}
    remote = listing_from_ap(document)
    assert len(remote.content_html) <= 100_000
    assert len(remote.title) <= MAX_TITLE


@pytest.mark.parametrize("value", [None, [], "a string", 42, {"type": "Note"}])
def test_readers__non_documents_are_not_listings_nor_answers(value):
    assert listing_from_ap(value) is None
    assert offer_agreement_from_ap(value) is None
    assert agreement_answer_from_ap(value) is None
    assert is_direct_reply_to(value, LISTING_URL) is False


# --- answers: direct replies -------------------------------------------------------------


def _reply(**changes: Any) -> dict[str, Any]:
    note = normalise(load("mastodon_direct_reply.json"))["object"]
    return {**note, **changes}


def test_is_direct_reply_to__mastodon_direct_message():
    assert is_direct_reply_to(_reply(), LISTING_URL)


def test_is_direct_reply_to__public_reply_is_not():
    note = normalise(load("mastodon_create_note.json"))["object"]
    assert note["inReplyTo"] == LISTING_URL
    assert not is_direct_reply_to(note, LISTING_URL)


def test_is_direct_reply_to__unlisted_reply_is_not():
    assert not is_direct_reply_to(_reply(cc=[PUBLIC]), LISTING_URL)
    assert not is_direct_reply_to(_reply(cc=["as:Public"]), LISTING_URL)


def test_is_direct_reply_to__followers_only_is_not():
    followers = "https://mastodon.example/users/alice/followers"
    assert not is_direct_reply_to(_reply(cc=[followers]), LISTING_URL)
    friendica = "https://friendica.example/followers/alice"
    assert not is_direct_reply_to(_reply(to=[friendica]), LISTING_URL)


def test_is_direct_reply_to__must_reply_to_this_listing():
    assert not is_direct_reply_to(_reply(inReplyTo=None), LISTING_URL)
    assert not is_direct_reply_to(_reply(), LISTING_URL + "X")
    assert is_direct_reply_to(_reply(inReplyTo={"id": LISTING_URL}), LISTING_URL)


def test_is_direct_reply_to__hostile_addressing():
    assert not is_direct_reply_to(_reply(to=[], cc=[]), LISTING_URL)
    assert not is_direct_reply_to(_reply(to=[{"nope": 1}]), LISTING_URL)
    assert not is_direct_reply_to(_reply(to=["not a uri"]), LISTING_URL)
    assert not is_direct_reply_to(_reply(type="Question"), LISTING_URL)
    assert is_direct_reply_to(_reply(tag="Mention"), LISTING_URL)  # junk tags: no crash


# --- answers: FEP-0837 Offer(Agreement) --------------------------------------------------


def test_offer_agreement_from_ap__fep_example():
    offer = offer_agreement_from_ap(normalise(load("fep0837_offer_agreement.json")))

    assert offer == AgreementOffer(
        offer_id="https://social.example/objects/fc4af0d2-c3a1-409b-947c-3c5be29f49b0/offer",
        actor_uri="https://social.example/users/bob",
        listing_uri="https://market.example/proposals/ddde9d6f-6f3b-4770-a966-3a18ef006930",
        intent_uri="https://market.example/proposals/ddde9d6f-6f3b-4770-a966-3a18ef006930#primary",
        quantity=1,
        unit="one",
        reciprocal_intent_uri=(
            "https://market.example/proposals/ddde9d6f-6f3b-4770-a966-3a18ef006930#reciprocal"
        ),
        reciprocal_quantity=30,
        reciprocal_unit="one",
        message="",
    )


def test_offer_agreement_from_ap__from_a_commonsfed_node_carries_the_message():
    offer = offer_agreement_from_ap(normalise(load("commonsfed_offer_agreement.json")))
    assert offer.listing_uri == LISTING_URL
    assert offer.actor_uri == "https://south.test/users/carmen"
    assert offer.quantity == 1
    assert offer.message == (
        "Hello Bob! Could I borrow the ladder on Saturday morning?\nI can pick it up at 9."
    )


def test_offer_agreement_to_ap__reads_back():
    sent = offer_agreement_to_ap(
        activity_id="https://south.test/activities/9",
        actor_uri="https://south.test/users/carmen",
        author_uri=ALICE,
        listing_uri=LISTING_URL,
        quantity=2,
        message="Two portions <please> & thanks",
        reciprocal_quantity=2,
        reciprocal_unit="hour",
    )
    assert sent["to"] == [ALICE]
    assert is_fast_path(sent)

    offer = offer_agreement_from_ap(normalise(sent))

    assert (offer.listing_uri, offer.quantity, offer.unit) == (LISTING_URL, 2, "one")
    assert (offer.reciprocal_quantity, offer.reciprocal_unit) == (2, "hour")
    assert offer.message == "Two portions <please> & thanks"
    assert "&lt;please&gt;" in sent["content"]


@pytest.mark.parametrize(
    "change",
    [
        {"type": "Create"},
        {"object": "https://social.example/agreements/1"},
        {"object": {"type": "Note"}},
        {"object": {"type": "Agreement"}},
        {"object": {"type": "Agreement", "stipulates": {"satisfies": ["not a uri"]}}},
        {"object": {"type": "Agreement", "stipulates": {"satisfies": LISTING_URL + "#reciprocal"}}},
        {"id": None},
        {"actor": ["nope"]},
    ],
)
def test_offer_agreement_from_ap__other_shapes_are_none(change):
    activity = {**normalise(load("fep0837_offer_agreement.json")), **change}
    assert offer_agreement_from_ap(activity) is None


def test_offer_agreement_from_ap__hostile_quantities_are_dropped():
    activity = normalise(load("fep0837_offer_agreement.json"))
    activity = copy.deepcopy(activity)
    activity["object"]["stipulates"]["resourceQuantity"] = {"hasNumericalValue": [True]}
    activity["object"]["stipulatesReciprocal"] = ["junk"]
    activity["content"] = "<p>" + "hi " * 10_000 + "</p>"
    offer = offer_agreement_from_ap(activity)
    assert offer.quantity is None and offer.reciprocal_intent_uri is None
    assert len(offer.message) <= 5_000


def _fep_offer() -> AgreementOffer:
    return offer_agreement_from_ap(normalise(load("fep0837_offer_agreement.json")))


def test_agreement_accept_to_ap__names_the_offer_and_the_final_agreement():
    offer = _fep_offer()
    agreement_id = "https://market.example/agreements/edc374aa"

    accept = agreement_accept_to_ap(
        activity_id="https://market.example/activities/1",
        actor_uri="https://market.example/users/alice",
        offer=offer,
        agreement_id=agreement_id,
    )

    assert accept["type"] == "Accept"
    assert accept["object"] == offer.offer_id
    assert accept["to"] == [offer.actor_uri]
    result = accept["result"]
    assert result["id"] == agreement_id and result["type"] == "Agreement"
    assert result["stipulates"]["id"] == agreement_id + "#primary"
    assert result["stipulates"]["satisfies"] == offer.intent_uri
    assert result["stipulates"]["resourceQuantity"] == {"hasUnit": "one", "hasNumericalValue": "1"}
    assert result["stipulatesReciprocal"]["resourceQuantity"]["hasNumericalValue"] == "30"
    answer = agreement_answer_from_ap(normalise(accept))
    assert (answer.offer_id, answer.accepted, answer.agreement_id) == (
        offer.offer_id,
        True,
        agreement_id,
    )


def test_agreement_reject_to_ap__says_why():
    offer = _fep_offer()
    reject = agreement_reject_to_ap(
        activity_id="https://market.example/activities/2",
        actor_uri="https://market.example/users/alice",
        offer=offer,
        reason="Already given away, sorry.",
    )
    assert reject["type"] == "Reject"
    assert reject["object"] == offer.offer_id
    answer = agreement_answer_from_ap(normalise(reject))
    assert answer.accepted is False
    assert answer.reason == "Already given away, sorry."


def test_agreement_answer_from_ap__accept_of_a_follow_is_not_one():
    follow = load("mastodon_follow.json")
    accept = {
        "@context": OUR_CONTEXT,
        "id": "https://north.test/activities/7",
        "type": "Accept",
        "actor": ALICE,
        "object": {k: v for k, v in follow.items() if k != "@context"},
    }
    assert agreement_answer_from_ap(accept) is None
    bare = {**accept, "object": "https://social.example/offers/1"}
    assert agreement_answer_from_ap(bare) is None  # an Accept without its Agreement
