"""Numbers, distances, counts and ages as English and French write them (commonsfed.numbers,
services.sorted_search.count_text), in the language named or the one being rendered."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import jinja2
import pytest

from commonsfed import i18n, numbers
from commonsfed.services.sorted_search import Count, count_text
from commonsfed.web.dates import local_time_filter

NNBSP = "\u202f"  # CLDR's narrow no-break space, French's digit group and unit separator
NOW = datetime(2030, 6, 30, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("km", "english", "french"),
    [
        (0.04, "0.0 km", f"0,0{NNBSP}km"),
        (1.24, "1.2 km", f"1,2{NNBSP}km"),
        (9.94, "9.9 km", f"9,9{NNBSP}km"),
        (12.4, "12 km", f"12{NNBSP}km"),
        (1234.5, "1,234 km", f"1{NNBSP}234{NNBSP}km"),
    ],
)
def test_distance__one_decimal_below_ten_km_in_each_languages_digits(km, english, french):
    assert numbers.distance(km, "en") == english
    assert numbers.distance(km, "fr") == french


def test_distance_value__writes_itself_in_the_language_being_rendered():
    far = numbers.Distance(1.24)

    with i18n.rendering_in("fr"):
        french = f"{far} away"
    english = str(far)

    assert french == f"1,2{NNBSP}km away"
    assert english == "1.2 km"
    assert far == 1.24  # a number still: it sorts and compares as one


def test_number__groups_digits_as_each_language_does():
    assert numbers.number(1234567.5, "en") == "1,234,567.5"
    assert numbers.number(1234567.5, "fr") == f"1{NNBSP}234{NNBSP}567,5"
    assert numbers.number(3, "xx") == "3"  # an unknown language: English, not an error


@pytest.mark.parametrize(
    ("ago", "english", "french"),
    [
        (timedelta(seconds=20), "just now", "à l’instant"),
        (timedelta(minutes=5), "5 minutes ago", "il y a 5 minutes"),
        (timedelta(hours=23), "23 hours ago", "il y a 23 heures"),
        (timedelta(days=1), "1 day ago", "il y a 1 jour"),
        (timedelta(days=3), "3 days ago", "il y a 3 jours"),
    ],
)
def test_age__as_each_language_says_it(ago, english, french):
    assert numbers.age(NOW - ago, NOW, language="en") == english
    assert numbers.age(NOW - ago, NOW, language="fr") == french


def test_age__after_a_month_is_the_day_in_the_nodes_zone_and_the_readers_words():
    posted = datetime(2030, 3, 1, 23, 30, tzinfo=UTC)  # already 2 March in Berlin

    assert numbers.age(posted, NOW, language="en") == "on 1 March 2030"
    assert numbers.age(posted, NOW, ZoneInfo("Europe/Berlin"), "fr") == "le 2 mars 2030"


def test_age__without_a_language_speaks_the_one_being_rendered():
    with i18n.rendering_in("fr"):
        assert numbers.age(NOW - timedelta(days=3), NOW) == "il y a 3 jours"
    assert numbers.age(NOW - timedelta(days=3), NOW) == "3 days ago"


@pytest.mark.parametrize(
    ("count", "english", "french"),
    [
        (Count(0), "No listings", "Aucune annonce"),
        (Count(1), "1 listing", "1 annonce"),
        (Count(12), "12 listings", "12 annonces"),
        (Count(1000, more=True), "More than 1,000 listings", f"Plus de 1{NNBSP}000 annonces"),
    ],
)
def test_count_text__with_each_languages_plurals_and_digits(count, english, french):
    assert count_text(count) == english
    assert count_text(count, "fr") == french


def test_filters__format_in_the_templates_language():
    env = jinja2.Environment(extensions=["jinja2.ext.i18n"], autoescape=True)
    i18n.install_translations(env)
    numbers.install_filters(env)
    template = env.from_string("{{ km|distance }} · {{ n|number }} · {{ none|distance }}")

    assert template.render(locale="fr", km=1.24, n=1500, none=None) == (
        f"1,2{NNBSP}km · 1{NNBSP}500 · "
    )
    assert template.render(locale="en", km=1.24, n=1500, none=None) == "1.2 km · 1,500 · "


def test_local_filter__a_strftime_format_names_months_in_the_readers_language():
    # the cards' "until 24 December" and the profile's "member since December 2026"
    env = jinja2.Environment(extensions=["jinja2.ext.i18n"])
    env.filters["local"] = local_time_filter(ZoneInfo("Europe/Paris"))
    template = env.from_string('{{ m|local("%-d %B") }} · {{ m|local("%B %Y") }} · '
                               '{{ m|local("%Y-%m-%d %H:%M") }}')  # fmt: skip
    moment = datetime(2026, 12, 24, 23, 30, tzinfo=UTC)  # already the 25th in Paris

    assert template.render(locale="fr", m=moment) == "25 décembre · décembre 2026 · 2026-12-25 00:30"
    assert template.render(locale="en", m=moment) == "25 December · December 2026 · 2026-12-25 00:30"


def test_distance_value__of_zero_is_still_a_distance_to_show():
    assert numbers.Distance(0.0) and str(numbers.Distance(0.0)) == "0.0 km"
