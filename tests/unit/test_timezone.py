"""The node's time zone: the setting, local days in forms, local times in pages and posts."""

from __future__ import annotations

from datetime import UTC, date, datetime
from functools import partial
from zoneinfo import ZoneInfo

import pytest

from commonsfed.ap.listings import listing_to_ap
from commonsfed.cli import main
from commonsfed.config import ConfigError, load_settings
from commonsfed.services.listing_forms import (
    IN_THE_FUTURE,
    form_values,
    last_day,
    validate_listing_form,
)
from commonsfed.web.dates import format_moment, local_time_filter, locale_of
from tests.unit.test_ap_listings import make_context, make_listing, visible_text

BERLIN = ZoneInfo("Europe/Berlin")
COMMON = {"title": "Ladder", "category": "tools", "place": "Elm Street 1-20"}
RIDE = {"origin": "Elm Street", "destination": "Lake", "seats": "2"}


# --- the setting ---------------------------------------------------------------------------


def test_load_settings__timezone_defaults_to_utc():
    settings = load_settings({}, {"dev": True})

    assert settings.timezone == "UTC" and settings.tz == ZoneInfo("UTC")


def test_load_settings__timezone_from_the_environment_and_the_flag():
    from_env = load_settings({"COMMONSFED_TIMEZONE": "Europe/Berlin"}, {"dev": True})
    from_flag = load_settings({"COMMONSFED_TIMEZONE": "Europe/Berlin"},
                              {"dev": True, "timezone": "America/Sao_Paulo"})

    assert from_env.tz == BERLIN
    assert from_flag.timezone == "America/Sao_Paulo"


@pytest.mark.parametrize("name", ["Mars/Olympus", "Europe", "../etc/passwd", "CEST"])
def test_load_settings__unknown_timezone_names_the_setting(name):
    with pytest.raises(ConfigError) as error:
        load_settings({"COMMONSFED_TIMEZONE": name}, {"dev": True})

    assert error.value.setting == "COMMONSFED_TIMEZONE"
    assert str(error.value) == (
        f"COMMONSFED_TIMEZONE: unknown time zone {name!r}; use a name like Europe/Berlin"
    )


def test_cli__unknown_timezone_exits_2_with_one_line(capsys, monkeypatch):
    monkeypatch.setenv("COMMONSFED_TIMEZONE", "Mars/Olympus")

    status = main(["migrate"])

    err = capsys.readouterr().err
    assert status == 2
    assert err.strip().count("\n") == 0
    assert "COMMONSFED_TIMEZONE: unknown time zone 'Mars/Olympus'" in err


def test_cli__unknown_timezone_flag_is_named(capsys, monkeypatch):
    monkeypatch.delenv("COMMONSFED_TIMEZONE", raising=False)

    status = main(["migrate", "--timezone", "Mars/Olympus"])

    assert status == 2
    assert "--timezone: unknown time zone" in capsys.readouterr().err


# --- forms ---------------------------------------------------------------------------------


def test_validate__today_is_the_berlin_day():
    just_after_midnight = datetime(2030, 6, 30, 22, 30, tzinfo=UTC)  # 1 July 00:30 CEST

    berlin, berlin_errors = validate_listing_form(
        {**COMMON, "expires_on": "2030-06-30"}, "give", just_after_midnight, tz=BERLIN)
    utc, utc_errors = validate_listing_form(
        {**COMMON, "expires_on": "2030-06-30"}, "give", just_after_midnight)

    assert berlin_errors == {"expires_on": IN_THE_FUTURE}
    assert utc_errors == {} and utc["expires_at"] == datetime(2030, 7, 1, tzinfo=UTC)


def test_validate__ride_departure_is_local_time():
    values, errors = validate_listing_form(
        {**COMMON, **RIDE, "departure": "2030-06-30T08:15"}, "ride",
        datetime(2030, 6, 1, tzinfo=UTC), tz=BERLIN)

    assert errors == {}
    assert values["details"]["departure"] == "2030-06-30T06:15:00+00:00"


def test_validate__ride_leaving_in_the_local_past_is_refused():
    # 08:15 in Berlin is 06:15 UTC: at 07:00 UTC it has gone
    _, errors = validate_listing_form(
        {**COMMON, **RIDE, "departure": "2030-06-30T08:15"}, "ride",
        datetime(2030, 6, 30, 7, 0, tzinfo=UTC), tz=BERLIN)

    assert errors == {"departure": IN_THE_FUTURE}


def test_last_day__of_a_berlin_midnight():
    assert last_day(datetime(2030, 6, 30, 22, 0, tzinfo=UTC), BERLIN) == date(2030, 6, 30)
    assert last_day(datetime(2030, 6, 30, 22, 0, tzinfo=UTC), UTC) == date(2030, 6, 30)
    assert last_day(None, BERLIN) is None


def test_form_values__ride_departure_back_as_local_time():
    ride = make_listing(kind="ride", details={"departure": "2030-06-30T06:15:00+00:00"})

    assert form_values(ride, BERLIN)["departure"] == "2030-06-30T08:15"
    assert form_values(ride, UTC)["departure"] == "2030-06-30T06:15"


# --- the page filter -----------------------------------------------------------------------


def test_local_filter__shows_moments_in_the_zone_and_days_as_they_are():
    local = partial(local_time_filter(BERLIN), {})  # a page's context without a locale
    moment = datetime(2030, 12, 31, 23, 30, tzinfo=UTC)

    assert local(moment) == "2031-01-01 00:30"
    assert local(moment, "%Y-%m-%d") == "2031-01-01"
    assert local("2030-06-30T06:15:00+00:00", "%H:%M %Z") == "08:15 CEST"
    assert local("2030-06-30", "%Y-%m-%d") == "2030-06-30"  # a day is not a UTC midnight
    assert local(None) == "" and local("soon") == "soon"


def test_local_filter__babel_styles_in_the_readers_language_and_the_node_zone():
    local = local_time_filter(BERLIN)
    moment = datetime(2030, 12, 24, 7, 15, tzinfo=UTC)  # 08:15 in Berlin

    assert local({}, moment, "datetime") == "Tuesday, December 24, 2030, 08:15"
    assert local({"locale": "fr"}, moment, "datetime") == "mardi 24 décembre 2030, 08:15"
    assert local({"locale": "en_GB"}, moment, "day") == "Tuesday, 24 December 2030"
    assert local({"locale": "fr"}, "2030-06-30", "day") == "dimanche 30 juin 2030"
    assert local({"locale": "fr"}, moment, "month") == "décembre 2030"
    assert local({"locale": "xx-nowhere"}, moment, "date") == "December 24, 2030"


def test_format_moment__drops_the_year_of_this_year_only():
    locale = locale_of("en")
    now = datetime(2026, 12, 1, tzinfo=UTC)
    thursday = datetime(2026, 12, 24, 7, 15, tzinfo=UTC)

    assert format_moment(thursday, "datetime", BERLIN, locale, now) == (
        "Thursday, December 24, 08:15"
    )
    assert format_moment(thursday, "short", BERLIN, locale, now) == "Dec 24, 08:15"
    assert format_moment(date(2027, 1, 2), "day", BERLIN, locale, now) == (
        "Saturday, January 2, 2027"
    )


# --- the federated Note --------------------------------------------------------------------


def test_listing_to_ap__ride_time_in_the_node_zone_with_its_abbreviation():
    ride = make_listing(kind="ride", details={"origin": "North", "destination": "Lyon",
                                              "departure": "2030-06-30T06:15:00+00:00",
                                              "seats": 3})

    note = listing_to_ap(ride, make_context(tz=BERLIN))

    assert "Leaving: 30 June 2030, 08:15 CEST" in visible_text(note)
    assert note["startTime"] == "2030-06-30T06:15:00Z"


def test_listing_to_ap__zone_without_an_abbreviation_is_named():
    ride = make_listing(kind="ride", details={"departure": "2030-06-30T11:15:00+00:00"})

    note = listing_to_ap(ride, make_context(tz=ZoneInfo("America/Sao_Paulo")))

    assert "Leaving: 30 June 2030, 08:15 America/Sao_Paulo" in visible_text(note)


def test_listing_to_ap__dates_alone_are_local_midnights():
    stay = make_listing(kind="stay", expires_at=datetime(2030, 7, 31, 22, 0, tzinfo=UTC),
                        details={"arrival": "2030-07-01", "departure": "2030-07-03"})

    note = listing_to_ap(stay, make_context(tz=BERLIN))

    assert note["startTime"] == "2030-06-30T22:00:00Z"
    assert note["endTime"] == "2030-07-02T22:00:00Z"
    assert "Stay: 1 July 2030 to 3 July 2030" in visible_text(note)
    assert "Until: 31 July 2030" in visible_text(note)  # the Berlin midnight after it


def test_listing_to_ap__deadline_ends_at_local_midnight():
    group = make_listing(kind="group_purchase", expires_at=datetime(2030, 8, 1, tzinfo=UTC),
                         details={"target_quantity": 10, "unit": "kg", "deadline": "2030-07-05"})

    note = listing_to_ap(group, make_context(tz=BERLIN))

    assert note["endTime"] == "2030-07-05T22:00:00Z"
    assert "Target: 10 kg by 5 July 2030" in visible_text(note)
