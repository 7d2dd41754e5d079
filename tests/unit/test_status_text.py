"""Reading a status as a listing (services.status_text), and a listing back as a status."""

from __future__ import annotations

import pytest

from commonsfed.services.status_text import NotAListing, read_listing, refusal

CATEGORIES = ["food", "tools", "transport"]


def test_read_listing__title_description_and_lines():
    text = "#offer #lend #tools Cordless drill\nWith two batteries.\nWhere: Elm Street 4\nDays: 7"
    listing = read_listing(text, CATEGORIES, place="North")
    assert (listing.purpose, listing.kind) == ("offer", "lend")
    assert listing.form["title"] == "Cordless drill"
    assert listing.form["description"] == "With two batteries."
    assert (listing.form["place"], listing.form["loan_days"]) == ("Elm Street 4", "7")


def test_read_listing__defaults_where_and_a_loans_days():
    listing = read_listing("#offer #lend #tools Drill", CATEGORIES, place="North")
    assert (listing.form["place"], listing.form["loan_days"]) == ("North", "14")


def test_read_listing__kind_hashtags_map_to_kinds():
    for tag, kind in (("help", "service"), ("groupbuy", "group_purchase"),
                      ("payitforward", "pay_it_forward")):  # fmt: skip
        assert read_listing(f"#request #{tag} #food X", CATEGORIES, "N").kind == kind


def test_read_listing__a_first_line_of_hashtags_takes_the_next_as_title():
    listing = read_listing("#offer #give #food\n\nApples\nA crate.", CATEGORIES, "N")
    assert (listing.form["title"], listing.form["description"]) == ("Apples", "A crate.")


@pytest.mark.parametrize("text, says", [
    ("Apples for anyone", "#offer or #request"),
    ("I #offer apples #give #food", "#offer or #request"),
    ("#offer #sell #food Apples", "kind"),
    ("#offer #give #cars Apples", "category"),
])  # fmt: skip
def test_read_listing__refusals_say_how(text, says):
    with pytest.raises(NotAListing, match=says):
        read_listing(text, CATEGORIES, "N")


def test_refusal__names_the_lines_to_add():
    message = refusal("stay", {"arrival": "Choose the day of arrival.",
                               "departure": "Choose the day of departure."})  # fmt: skip
    assert "Arrives: 2030-06-30" in message and "Departs: 2030-07-02" in message
