"""Neighbourhood projects without a database: the form's needs, their progress, the needs on
the wire and read back (hostile shapes included), and pledges as typed or as sent."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from commonsfed.ap.agreements import offer_agreement_from_ap, offer_agreement_to_ap
from commonsfed.ap.jsonld import is_fast_path
from commonsfed.ap.listings import listing_to_ap
from commonsfed.ap.projects import NEED_NS, NeedOnWire, need_index
from commonsfed.ap.remote_listings import needs_from_ap
from commonsfed.services import project_needs
from commonsfed.services.errors import ValidationError
from commonsfed.services.listing_forms import Form, form_values, purpose_and_kind
from commonsfed.services.listing_forms import validate_listing_form as validate
from commonsfed.services.project_needs import Need, all_met, needs_of, progress, wire_needs
from commonsfed.services.projects import read_pledge, remote_pledge_asked
from tests.unit.test_ap_listings import LISTING_URL, make_context, make_listing, visible_text

NOW = datetime(2030, 5, 1, 12, 0, tzinfo=UTC)
ALICE = "https://north.test/users/alice"


def project_form(**changes: str) -> dict[str, str]:
    form = {
        "purpose": "request", "kind": "project", "title": "A bench for the square",
        "category": "garden", "place": "Market square", "goal": "A bench by the lime tree",
        "deadline": "2030-05-20", "hours_needed": "12,5", "materials": "40 bricks\n2 x cement",
        "money_needed": "150", "currency": "eur", "how_to_pay": "Cash at the café.",
        "next_steps": "We build on Saturday.",
    }  # fmt: skip
    return form | changes


def test_project_form__keeps_each_need_in_order_with_its_key():
    fields, errors = validate(project_form(), "project", NOW)

    assert errors == {}
    assert fields["quantity"] is None
    details = fields["details"]
    assert details["needs"] == [
        {"kind": "hours", "quantity": "12.50", "label": ""},
        {"kind": "material", "quantity": 40, "label": "bricks"},
        {"kind": "material", "quantity": 2, "label": "cement"},
        {"kind": "money", "quantity": 150, "label": "EUR"},
    ]
    assert [need.index for need in needs_of(details)] == [0, 1, 2, 3]
    assert details["goal"] == "A bench by the lime tree"
    assert details["deadline"] == "2030-05-20"
    assert details["how_to_pay"] == "Cash at the café."


@pytest.mark.parametrize(
    ("changes", "field", "words"),
    [
        ({"hours_needed": "", "materials": "", "money_needed": ""}, "hours_needed", "needs"),
        ({"hours_needed": "0.1"}, "hours_needed", "0.25"),
        ({"hours_needed": "lots"}, "hours_needed", "0.25"),
        ({"materials": "bricks, forty"}, "materials", "bricks, forty"),
        ({"materials": "0 bricks"}, "materials", "40 bricks"),
        ({"materials": "\n".join(f"{n} nails" for n in range(1, 12))}, "materials", "10"),
        ({"money_needed": "-5"}, "money_needed", "0.01"),
        ({"money_needed": "2000000"}, "money_needed", "1000000"),
        ({"currency": "euros"}, "currency", "EUR"),
        ({"how_to_pay": ""}, "how_to_pay", "pay"),
        ({"goal": ""}, "goal", "achieve"),
        ({"deadline": ""}, "deadline", "last day"),
        ({"deadline": "2030-04-01"}, "deadline", "future"),
        ({"deadline": "2030-07-01", "expires_on": "2030-06-01"}, "deadline", "expires"),
    ],
)
def test_project_form__refuses_bad_needs_with_a_message(changes, field, words):
    _, errors = validate(project_form(**changes), "project", NOW)

    assert field in errors
    assert words.lower() in str(errors[field]).lower()


def test_project_form__money_is_optional_and_then_so_is_how_to_pay():
    fields, errors = validate(
        project_form(money_needed="", how_to_pay="", materials=""), "project", NOW
    )

    assert errors == {}
    assert [need["kind"] for need in fields["details"]["needs"]] == ["hours"]
    assert fields["details"]["how_to_pay"] == ""


def test_project_form__edit_form_shows_what_was_stored():
    fields, _ = validate(project_form(), "project", NOW)
    listing = make_listing(kind="project", purpose="request", details=fields["details"],
                           expires_at=NOW + timedelta(days=30))  # fmt: skip

    values = form_values(listing, UTC)

    assert values["hours_needed"] == "12.5"
    assert values["materials"] == "40 bricks\n2 cement"
    assert (values["money_needed"], values["currency"]) == ("150", "EUR")
    again, errors = validate({**project_form(), **values}, "project", NOW)
    assert errors == {}
    assert again["details"]["needs"] == fields["details"]["needs"]


def test_project_kind__is_always_a_request():
    f = Form({"purpose": "offer", "kind": "project"}, NOW)
    assert purpose_and_kind(f) == ("request", "project")
    assert f.errors == {}


def test_progress__per_need_and_met_only_when_every_need_is():
    details = {"needs": [
        {"kind": "hours", "quantity": 10, "label": ""},
        {"kind": "money", "quantity": "99.50", "label": "EUR"},
    ]}  # fmt: skip
    half = progress(details, {0: Decimal(5)})
    assert [(item.percent, item.left_text) for item in half] == [(50, "5"), (0, "99.5")]
    assert not all_met(half)

    full = progress(details, {0: Decimal(12), 1: Decimal("99.50")})
    assert [item.met for item in full] == [True, True]
    assert full[0].left == 0
    assert all_met(full)
    assert not all_met(progress({"needs": []}, {}))


def test_needs_of__leaves_out_malformed_needs():
    details = {"needs": [
        {"kind": "hours", "quantity": "x"}, {"kind": "gold", "quantity": 1},
        {"kind": "material", "quantity": -2, "label": "bricks"}, "nothing",
        {"kind": "material", "quantity": 3, "label": "planks"},
    ]}  # fmt: skip
    assert needs_of(details) == [Need(4, "material", Decimal(3), "planks")]


# --- on the wire ---------------------------------------------------------------------------

DETAILS = {
    "goal": "A bench", "deadline": "2024-05-31",
    "needs": [{"kind": "hours", "quantity": 12, "label": ""},
              {"kind": "material", "quantity": 40, "label": "bricks"},
              {"kind": "money", "quantity": 150, "label": "EUR"}],
}  # fmt: skip


def project_note(pledged: dict[int, Decimal], **changes) -> dict:
    listing = make_listing(kind="project", purpose="request", details=DETAILS, quantity=None,
                           **changes)  # fmt: skip
    return listing_to_ap(listing, make_context(needs=wire_needs(DETAILS, pledged)))


def test_project_to_ap__one_intent_per_need_with_what_is_still_needed():
    note = project_note({0: Decimal("4.5"), 2: Decimal(150)})

    hours, bricks, money = note["needs"]
    assert hours["id"] == LISTING_URL + "#need-0"
    assert hours["action"] == "work"
    assert hours["vf:resourceClassifiedAs"] == [NEED_NS + "hours"]
    assert hours["resourceQuantity"] == {"hasUnit": "hour", "hasNumericalValue": "12"}
    assert hours["availableQuantity"] == {"hasUnit": "hour", "hasNumericalValue": "7.5"}
    assert hours["receiver"] == ALICE
    assert (bricks["name"], bricks["resourceQuantity"]["hasUnit"]) == ("bricks", "one")
    assert money["resourceQuantity"] == {"hasUnit": "EUR", "hasNumericalValue": "150"}
    assert money["availableQuantity"]["hasNumericalValue"] == "0"
    assert note["endTime"] == "2024-06-01T00:00:00Z"  # the deadline's last day ends
    text = visible_text(note)
    assert "Needs: 12 hours of work (4.5 pledged)" in text
    assert "Needs: 40 × bricks (0 pledged)" in text
    assert "Needs: 150 EUR (150 pledged)" in text
    assert is_fast_path(note)


def test_project_to_ap__closed_needs_are_finished():
    note = project_note({}, state="completed")
    assert all(intent["vf:finished"] is True for intent in note["needs"])


def test_needs_from_ap__reads_back_what_we_send():
    note = project_note({1: Decimal(10)})

    needs = needs_from_ap(note, LISTING_URL)

    assert needs == [
        NeedOnWire(0, "hours", "Hours of work", "hour", 12, 12),
        NeedOnWire(1, "material", "bricks", "one", 40, 30),
        NeedOnWire(2, "money", "Money (EUR)", "EUR", 150, 150),
    ]


def test_needs_from_ap__leaves_out_hostile_needs():
    good = project_note({})["needs"][0]
    hostile = [
        {**good, "id": "https://evil.example/listings/x#need-0"},  # another object's need
        {**good, "id": LISTING_URL + "#primary"},
        {**good, "id": LISTING_URL + "#need-100"},
        {**good, "vf:resourceClassifiedAs": [NEED_NS + "gold"]},
        {**good, "resourceQuantity": {"hasUnit": "<script>", "hasNumericalValue": "1"}},
        {**good, "resourceQuantity": {"hasUnit": "hour", "hasNumericalValue": "-3"}},
        {**good, "resourceQuantity": {"hasUnit": "hour", "hasNumericalValue": "1e999"}},
        "https://north.test/listings/x#need-1",
        {**good, "name": "x" * 10_000, "id": LISTING_URL + "#need-7"},
    ]
    needs = needs_from_ap({"needs": hostile}, LISTING_URL)

    assert [need.index for need in needs] == [7]
    assert len(needs[0].name) == 120
    assert len(needs_from_ap({"needs": [good] * 50}, LISTING_URL)) == 20


# --- pledges -------------------------------------------------------------------------------


def test_offer_for_a_need__is_read_with_its_need():
    offer = offer_agreement_to_ap(
        activity_id="https://south.test/activities/1", actor_uri="https://south.test/users/bob",
        author_uri=ALICE, listing_uri=LISTING_URL, quantity=Decimal("2.5"), unit="hour",
        intent="need-0",
    )  # fmt: skip

    read = offer_agreement_from_ap(offer)

    assert read is not None
    assert read.listing_uri == LISTING_URL
    assert need_index(read.intent_uri) == 0
    assert (read.quantity, read.unit) == (2.5, "hour")
    # an Intent neither primary nor a need is not one we answer
    bad = {**offer, "object": {**offer["object"], "stipulates": {
        **offer["object"]["stipulates"], "satisfies": LISTING_URL + "#something"}}}  # fmt: skip
    assert offer_agreement_from_ap(bad) is None


@pytest.mark.parametrize(
    ("kind", "typed", "expected"),
    [
        ("hours", "2,5", Decimal("2.50")),
        ("hours", "0.1", None),
        ("hours", "101", None),
        ("material", "3", Decimal(3)),
        ("material", "2.5", None),
        ("material", "0", None),
        ("money", "12.50", Decimal("12.50")),
        ("money", "abc", None),
        ("money", "0", None),
    ],
)
def test_read_pledge__by_the_needs_kind(kind, typed, expected):
    assert read_pledge(Need(0, kind, Decimal(10), "EUR"), typed) == expected


def test_remote_pledge_asked__names_the_need_and_its_unit():
    needs = needs_from_ap(project_note({}), LISTING_URL)

    assert remote_pledge_asked(needs, {"need": "2", "quantity": "20"}) == (
        "need-2",
        Decimal("20.00"),
        "EUR",
    )
    with pytest.raises(ValidationError) as unknown:
        remote_pledge_asked(needs, {"need": "9", "quantity": "1"})
    assert "need" in unknown.value.errors
    with pytest.raises(ValidationError) as wrong:
        remote_pledge_asked(needs, {"need": "1", "quantity": "1.5"})
    assert "quantity" in wrong.value.errors


def test_amount_text__as_people_write_amounts():
    assert project_needs.amount_text(Decimal("12.00")) == "12"
    assert project_needs.amount_text(Decimal("12.50")) == "12.5"
    assert project_needs.read_amount("1.005", Decimal("0.01"), Decimal(10)) == Decimal("1.01")
    assert project_needs.read_amount("1e3", Decimal("0.01"), Decimal(10_000)) is None
