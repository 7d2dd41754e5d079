"""The `local` template filter: a stored moment as people of the node read their clocks, in
the reader's language (Babel's CLDR data) and the node's time zone.

`{{ moment|local("datetime") }}` gives "Thursday, December 24, 08:15" in English and
"jeudi 24 décembre, 08:15" in French; the year shows only when it is not this year's. The
styles are STYLES' keys; a format with a "%" is a strftime format, as the filter took before
(machine-like dates such as "2030-06-30" in tables). The language is the template context's
`locale` ("en", "fr"; "en" when a page sets none). Times use a 24-hour clock in every
language, as the neighbourhoods' own notices do. `datetime="..."` attributes keep the ISO
moment.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, date, datetime, tzinfo
from functools import cache

import jinja2
from babel import Locale, UnknownLocaleError
from babel.dates import format_datetime, format_skeleton, match_skeleton

from commonsfed.i18n import language_of

DEFAULT_LOCALE = "en"
# style: (the CLDR skeleton of the day, with the year; without it; with the time)
STYLES = {
    "day": ("yMMMMEd", "MMMMEd", False),  # Thursday, December 24
    "date": ("yMMMMd", "MMMMd", False),  # December 24 (a day without its weekday)
    "datetime": ("yMMMMEd", "MMMMEd", True),  # Thursday, December 24, 08:15
    "short": ("yMMMd", "MMMd", True),  # Dec 24, 08:15 (lists, history lines)
    "month": ("yMMMM", "yMMMM", False),  # December 2026
}
TIME_SKELETON = "Hm"
_SHORT_WEEKDAY = re.compile(r"(?<!E)E{1,3}(?!E)")
# strftime's directives as CLDR pattern fields, so that a strftime format that names a month
# or a weekday ("%-d %B", "%B %Y") names it in the reader's language, as Babel does
_CLDR_FIELDS = {"%-d": "d", "%d": "dd", "%B": "MMMM", "%b": "MMM", "%A": "EEEE", "%a": "EEE",
                "%Y": "y", "%m": "MM", "%-H": "H", "%H": "HH", "%M": "mm"}  # fmt: skip
_DIRECTIVE = re.compile(r"%-?[A-Za-z]")
_NAMES = re.compile(r"%[BbAa]")


def locale_of(name: object) -> Locale:
    """The Babel locale named `name` ("fr", "fr-BE", "fr_BE"); English for none or an
    unknown one, so a page never fails over a language."""
    try:
        return _parse(str(name or DEFAULT_LOCALE).replace("-", "_"))
    except (UnknownLocaleError, ValueError):
        return _parse(DEFAULT_LOCALE)


@cache
def _parse(name: str) -> Locale:
    return Locale.parse(name)


@cache
def _day_pattern(locale: Locale, skeleton: str) -> str:
    """The locale's pattern for `skeleton` with the weekday written in full: CLDR lists
    the abbreviated weekday ("Thu") in its skeletons, and Babel does not widen fields as ICU
    does, so "E" becomes "EEEE" here."""
    key = match_skeleton(skeleton, locale.datetime_skeletons) or skeleton
    pattern = locale.datetime_skeletons[key].pattern
    return _SHORT_WEEKDAY.sub("EEEE", pattern) if "E" in skeleton else pattern


def format_moment(
    value: datetime | date, style: str, tz: tzinfo, locale: Locale, now: datetime | None = None
) -> str:
    """`value` in `style` (a STYLES key), in `tz` (a datetime) and `locale`."""
    with_year, without_year, with_time = STYLES[style]
    if isinstance(value, datetime):
        moment = (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(tz)
    else:
        moment, with_time = datetime(value.year, value.month, value.day), False
    this_year = (now or datetime.now(UTC)).astimezone(tz).year
    skeleton = without_year if moment.year == this_year else with_year
    day = format_datetime(moment, _day_pattern(locale, skeleton), locale=locale)
    if not with_time:
        return day
    time = format_skeleton(TIME_SKELETON, moment, locale=locale)
    return locale.datetime_formats["medium"].format(time, day)


def cldr_pattern(fmt: str) -> str | None:
    """The CLDR pattern of a strftime format ("%-d %B" -> "d MMMM"), its other text quoted;
    None when it has a directive the table does not know (it is then used as it is)."""
    parts, position = [], 0
    for match in _DIRECTIVE.finditer(fmt):
        field = _CLDR_FIELDS.get(match.group())
        if field is None:
            return None
        parts += [_quoted(fmt[position : match.start()]), field]
        position = match.end()
    return "".join([*parts, _quoted(fmt[position:])])


def _quoted(text: str) -> str:
    if not any(c.isalpha() or c == "'" for c in text):
        return text
    return "'" + text.replace("'", "''") + "'"


def _moment(value: datetime | date | str) -> datetime | date | str:
    if not isinstance(value, str):
        return value
    try:
        # "2030-06-30" is a day, not the UTC midnight fromisoformat would make of it
        return date.fromisoformat(value) if len(value) == 10 else datetime.fromisoformat(value)
    except ValueError:
        return value  # not a moment: shown as it was typed


def local_time_filter(tz: tzinfo) -> Callable[..., str]:
    """The `local` filter for a node in time zone `tz` (see the module docstring)."""

    @jinja2.pass_context
    def local(
        context: jinja2.runtime.Context,
        value: datetime | date | str | None,
        fmt: str = "%Y-%m-%d %H:%M",
    ) -> str:
        if not value:
            return ""
        moment = _moment(value)
        if isinstance(moment, str):
            return moment
        if "%" not in fmt:
            return format_moment(moment, fmt, tz, locale_of(language_of(context)))
        if isinstance(moment, datetime):
            aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
            moment = aware.astimezone(tz)  # a day (a date) is the same day everywhere
        pattern = cldr_pattern(fmt) if _NAMES.search(fmt) else None
        if pattern is None:
            return moment.strftime(fmt)
        return format_datetime(moment, pattern, locale=locale_of(language_of(context)))

    return local
