"""A lend listing's booked days on the wire (ap.loan_days): written as an Offer writes days,
read back whatever a peer sends, within bounds."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from commonsfed.ap.loan_days import (
    MAX_AHEAD,
    MAX_DAYS,
    MAX_RANGES,
    booked_from_ap,
    booked_to_ap,
    overlapping,
)

D = date(2026, 12, 7)


def test_booked__written_as_days_and_read_back_the_same():
    ranges = [(D + timedelta(days=5), D + timedelta(days=6)), (D, D + timedelta(days=2))]
    wire = booked_to_ap(ranges)
    assert wire[0] == {"startTime": "2026-12-07T00:00:00Z", "endTime": "2026-12-09T23:59:59Z"}
    assert booked_from_ap({"booked": wire}) == sorted(ranges)


def test_booked__a_single_range_as_an_object_and_expanded_values_are_read():
    one = {"startTime": {"@value": "2026-12-07T00:00:00Z"}, "endTime": "2026-12-07T23:59:59Z"}
    assert booked_from_ap({"booked": one}) == [(D, D)]


@pytest.mark.parametrize(
    "item",
    [
        "2026-12-07",  # not an object
        {"startTime": "2026-12-07T00:00:00Z"},  # no end
        {"startTime": "yesterday", "endTime": "2026-12-08T00:00:00Z"},  # not a date
        {"startTime": "2026-12-09T00:00:00Z", "endTime": "2026-12-07T00:00:00Z"},  # reversed
        {"startTime": 20261207, "endTime": "2026-12-08T00:00:00Z"},  # a number
        {"startTime": "2026-02-30T00:00:00Z", "endTime": "2026-03-02T00:00:00Z"},  # no such day
        {"startTime": "2026-01-01T00:00:00Z", "endTime": f"{2026 + 2}-01-01T00:00:00Z"},  # long
    ],
)
def test_booked__what_cannot_be_read_is_left_out(item):
    good = {"startTime": "2026-12-20T00:00:00Z", "endTime": "2026-12-21T23:59:59Z"}
    assert booked_from_ap({"booked": [item, good]}) == [(date(2026, 12, 20), date(2026, 12, 21))]


def test_booked__bounded_in_count_and_in_reach():
    many = [{"startTime": f"{D + timedelta(days=2 * n)}", "endTime": f"{D + timedelta(days=2 * n)}"}
            for n in range(MAX_RANGES + 50)]  # fmt: skip
    assert len(booked_from_ap({"booked": many})) == MAX_RANGES
    far = D + timedelta(days=MAX_AHEAD + 1)
    ranges = booked_from_ap({"booked": booked_to_ap([(D, D), (far, far)])})
    assert ranges == [(D, D)]
    longest = D + timedelta(days=MAX_DAYS - 1)
    assert booked_from_ap({"booked": booked_to_ap([(D, longest)])}) == [(D, longest)]


def test_booked__none_when_the_note_has_none_or_nonsense():
    assert booked_from_ap({}) == []
    assert booked_from_ap({"booked": "all of them"}) == []
    assert booked_from_ap({"booked": None}) == []


def test_overlapping__shares_a_day_both_days_inclusive():
    ranges = [(D, D + timedelta(days=2))]
    assert overlapping(ranges, D + timedelta(days=2), D + timedelta(days=4)) == ranges[0]
    assert overlapping(ranges, D - timedelta(days=3), D) == ranges[0]
    assert overlapping(ranges, D + timedelta(days=3), D + timedelta(days=4)) is None
