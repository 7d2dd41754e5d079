"""Listing form checks: each kind asks for its own fields, each bad field gets its message."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from commonsfed.services.listing_forms import (
    IN_THE_FUTURE,
    WHOLE_NUMBER,
    last_day,
    validate_listing_form,
)
from commonsfed.services.listings import TRANSITIONS, slug_from

NOW = datetime(2030, 6, 1, 12, 0, tzinfo=UTC)
COMMON = {"title": "Ladder", "category": "tools", "place": "Elm Street 1-20"}
KIND_FIELDS = {
    "give": {},
    "swap": {},
    "shared": {},
    "lend": {"loan_days": "7"},
    "ride": {
        "origin": "Elm Street",
        "destination": "Central station",
        "departure": "2030-06-02T08:15",
        "seats": "3",
    },
    "stay": {"arrival": "2030-06-10", "departure": "2030-06-12", "places": "2"},
    "group_purchase": {"target_quantity": "25", "unit": "kg", "deadline": "2030-06-20"},
    "pay_it_forward": {"portions": "10"},
    "service": {"hours": "1.5"},
}


def check(kind: str = "give", **fields):
    return validate_listing_form({**COMMON, **KIND_FIELDS[kind], **fields}, kind, NOW)


@pytest.mark.parametrize("kind", sorted(KIND_FIELDS))
def test_validate__each_kind_with_its_fields_is_accepted(kind):
    values, errors = check(kind)

    assert errors == {}
    assert values["title"] == "Ladder"


@pytest.mark.parametrize("kind", [k for k, v in KIND_FIELDS.items() if v])
def test_validate__each_kind_without_its_fields_names_every_missing_one(kind):
    form = {**COMMON}

    _, errors = validate_listing_form(form, kind, NOW)

    required = set(KIND_FIELDS[kind])
    assert required <= set(errors), errors


def test_validate__a_kind_ignores_the_fields_of_other_kinds():
    values, errors = check("give", seats="-4", loan_days="many", hours="x")

    assert errors == {} and values["details"] == {}


@pytest.mark.parametrize(
    ("field", "message"),
    [
        ("title", "Give your listing a title."),
        ("place", "Say where: a street, a corner or a landmark."),
    ],
)
def test_validate__required_common_fields(field, message):
    _, errors = check(**{field: "  "})

    assert errors == {field: message}


def test_validate__title_over_120_characters():
    _, errors = check(title="x" * 121)

    assert errors == {"title": "Use at most 120 characters."}


def test_validate__description_over_5000_characters():
    _, errors = check(description="x" * 5001)

    assert errors == {"description": "Use at most 5,000 characters."}


def test_validate__browser_newlines_count_once():
    _, errors = check(description="ab\r\n" * 1250)  # 5,000 characters once \r\n is \n

    assert errors == {}


@pytest.mark.parametrize("value", ["-1", "0", "1.5", "two", "1e3"])
def test_validate__quantity_must_be_a_whole_number_of_1_or_more(value):
    _, errors = check(quantity=value)

    assert errors == {"quantity": WHOLE_NUMBER}


def test_validate__quantity_is_optional_and_becomes_available_quantity():
    values, _ = check(quantity="3")
    blank, _ = check()

    assert (values["quantity"], values["available_quantity"]) == (3, 3)
    assert blank["quantity"] is None


def test_validate__kinds_with_their_own_count_use_it_as_quantity():
    ride, _ = check("ride", quantity="99")
    portions, _ = check("pay_it_forward")

    assert ride["quantity"] == 3 and portions["available_quantity"] == 10


def test_validate__coordinates_are_rounded_to_about_a_kilometre():
    values, errors = check(latitude="52.370216", longitude="4.895168")

    assert errors == {}
    assert (values["latitude"], values["longitude"]) == (52.37, 4.9)


@pytest.mark.parametrize(
    ("lat", "lon", "bad"),
    [
        ("91", "4.9", "latitude"),
        ("52.3", "-181", "longitude"),
        ("north", "4", "latitude"),
        ("nan", "4", "latitude"),
        ("52.3", "", "longitude"),
        ("", "4.9", "latitude"),
    ],
)
def test_validate__coordinates_out_of_range_or_alone(lat, lon, bad):
    _, errors = check(latitude=lat, longitude=lon)

    assert set(errors) == {bad}


def test_validate__available_until_before_from():
    _, errors = check(available_from="2030-06-10", available_until="2030-06-09")

    assert errors == {"available_until": "Choose a day on or after the first day."}


def test_validate__availability_is_stored_as_whole_days():
    values, _ = check(available_from="2030-06-10", available_until="2030-06-10")

    assert values["available_from"] == datetime(2030, 6, 10, tzinfo=UTC)
    assert last_day(values["available_until"], UTC) == date(2030, 6, 10)


def test_validate__expiry_defaults_to_30_days():
    values, _ = check()

    assert last_day(values["expires_at"], UTC) == date(2030, 7, 1)


def test_validate__expiry_in_the_past_is_refused():
    _, errors = check(expires_on="2030-05-31")

    assert errors == {"expires_on": IN_THE_FUTURE}


def test_validate__expiry_today_lasts_until_the_end_of_today():
    values, errors = check(expires_on="2030-06-01")

    assert errors == {} and values["expires_at"] == datetime(2030, 6, 2, tzinfo=UTC)


def test_validate__expiry_more_than_a_year_ahead_is_refused():
    _, errors = check(expires_on="2031-06-02")

    assert "within a year" in errors["expires_on"]


def test_validate__no_expiry_for_standing_offers():
    values, errors = check(no_expiry="on", expires_on="1999-01-01")

    assert errors == {} and values["expires_at"] is None


def test_validate__a_date_that_is_not_a_date():
    _, errors = check(expires_on="next tuesday")

    assert errors == {"expires_on": "Enter a date like 2030-06-30."}


def test_validate__ride_departure_in_the_past():
    _, errors = check("ride", departure="2030-06-01T11:59")

    assert errors == {"departure": IN_THE_FUTURE}


def test_validate__stay_departure_must_follow_arrival():
    _, errors = check("stay", arrival="2030-06-10", departure="2030-06-10")

    assert errors == {"departure": "Choose a day after the arrival."}


def test_validate__lend_return_date_in_the_past():
    _, errors = check("lend", return_by="2030-01-01")

    assert errors == {"return_by": IN_THE_FUTURE}


def test_validate__group_purchase_deadline_after_expiry():
    _, errors = check("group_purchase", deadline="2030-06-20", expires_on="2030-06-15")

    assert set(errors) == {"deadline"}


@pytest.mark.parametrize("hours", ["0", "-2", "lots", "1001"])
def test_validate__service_hours(hours):
    _, errors = check("service", hours=hours)

    assert set(errors) == {"hours"}


def test_validate__details_hold_only_the_kinds_own_fields():
    values, _ = check("ride")

    assert values["details"] == {
        "origin": "Elm Street",
        "destination": "Central station",
        "departure": "2030-06-02T08:15:00+00:00",
        "seats": 3,
    }


def test_transitions__closed_states_are_final_but_withdrawn_may_reopen():
    assert TRANSITIONS["completed"] == TRANSITIONS["expired"] == frozenset()
    assert TRANSITIONS["withdrawn"] == {"open"}
    assert "expired" not in set().union(*TRANSITIONS.values())  # only the job expires


def test_slug_from__hashtag_safe():
    assert slug_from("Bicycles & Repairs") == "bicycles_repairs"
    assert slug_from("Crèche") == "creche"
