"""Numbers, distances and ages as each language writes them, from Babel's CLDR data: "1,234"
and « 1 234 », "1.2 km" and « 1,2 km », "3 days ago" and « il y a 3 jours ».

The language is the one being rendered (i18n.CURRENT_LANGUAGE, set per request and per
mail) unless a caller names one; English when there is none (a unit test, a log line). A
`Distance` is a number of kilometres that writes itself in that language, so a template
that shows a card's distance as it is shows it right; the `number` and `distance` template
filters do the same from the template's own `locale`.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, tzinfo
from functools import cache

import jinja2
from babel import Locale, UnknownLocaleError
from babel.dates import format_date, format_timedelta
from babel.numbers import format_decimal
from babel.units import format_unit

from commonsfed import i18n
from commonsfed.i18n import gettext_noop as N_

MONTH_DAYS = 30  # older than this, an age is a date


@cache
def locale_of(language: str | None) -> Locale:
    """Babel's locale for `language`; English for none or one Babel does not know."""
    try:
        return Locale.parse((language or i18n.SOURCE_LANGUAGE).replace("-", "_"))
    except (UnknownLocaleError, ValueError):
        return Locale.parse(i18n.SOURCE_LANGUAGE)


def _language(language: str | None) -> str:
    return language or i18n.CURRENT_LANGUAGE.get() or i18n.SOURCE_LANGUAGE


def number(value: float, language: str | None = None) -> str:
    """ "1,234.5" in English, « 1 234,5 » in French."""
    return format_decimal(value, locale=locale_of(_language(language)))


def distance(km: float, language: str | None = None) -> str:
    """ "0.4 km", "1.2 km", "12 km", "1,234 km": one decimal below ten kilometres, whole
    ones above (the coordinates people give are no finer), in the language's digits."""
    pattern = "#,##0.0" if km < 10 else "#,##0"
    return format_unit(
        float(km),
        "length-kilometer",
        "short",
        format=pattern,
        locale=locale_of(_language(language)),
    )


class Distance(float):
    """Kilometres, written in the language being rendered when shown (see the module)."""

    def __str__(self) -> str:
        return distance(self)

    def __html__(self) -> str:  # jinja2 asks this of a value before escaping it
        return str(self)

    def __bool__(self) -> bool:
        """Known, even at 0.0 km (the listing is where the reader stands): templates ask
        `{% if card.distance %}` whether there is one to show."""
        return True


def age(
    moment: datetime, now: datetime | None = None, tz: tzinfo = UTC, language: str | None = None
) -> str:
    """How long ago `moment` was: "just now", "5 minutes ago", "3 days ago" (« il y a 3
    jours »); after a month its day in the node's zone, "on 3 March 2030" (« le 3 mars
    2030 »)."""
    language = _language(language)
    locale = locale_of(language)
    elapsed = max((now or datetime.now(UTC)) - moment, timedelta(0))
    if elapsed.days > MONTH_DAYS:
        day = format_date(moment.astimezone(tz), "d MMMM y", locale=locale)
        return i18n.gettext(language, N_("on %(date)s")) % {"date": day}
    if elapsed < timedelta(minutes=1):
        return i18n.gettext(language, N_("just now"))
    # threshold 1: "23 hours", not CLDR's rounding up to "1 day" from 85% of it
    return format_timedelta(-elapsed, threshold=1, add_direction=True, locale=locale)


@jinja2.pass_context
def number_filter(context: jinja2.runtime.Context, value: float | None) -> str:
    """`{{ n|number }}`: a number in the template's language."""
    return "" if value is None else number(value, i18n.language_of(context))


@jinja2.pass_context
def distance_filter(context: jinja2.runtime.Context, km: float | None) -> str:
    """`{{ card.distance|distance }}`: kilometres in the template's language."""
    return "" if km is None else distance(km, i18n.language_of(context))


def install_filters(env: jinja2.Environment) -> None:
    env.filters["number"] = number_filter
    env.filters["distance"] = distance_filter
