"""The languages people read a node in: English (the source) and French.

Strings are marked in templates with jinja2's i18n extension (`{% trans %}`, `_()`) and in
Python with `gettext_noop`-style markers; `pybabel extract` (babel.cfg) collects them into
`commonsfed/locale/messages.pot`, and translators fill `commonsfed/locale/fr/LC_MESSAGES/
messages.po`. The catalogs are compiled to `.mo` at install (`make install`, and the wheel's
build: see `commonsfed/catalog_build.py`); a checkout whose `.po` is newer than its `.mo` (a
translator at work) gets it compiled in memory at start, with a warning.

A reader's language comes, in order, from their account's choice (the footer's switch), the
`language` cookie the switch leaves for visitors, the browser's `Accept-Language`, and the
node's default (`Settings.language`). Mail goes out in the recipient's language; listings go
out with `contentMap` in their author's.
"""

from __future__ import annotations

import contextlib
import functools
import io
import logging
from collections.abc import Iterator
from contextvars import ContextVar
from gettext import NullTranslations
from pathlib import Path

import jinja2
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

log = logging.getLogger(__name__)

SOURCE_LANGUAGE = "en"
LANGUAGES = ("en", "fr")
# each language's name in itself: what the switch shows, whatever the page's language
LANGUAGE_NAMES = {"en": "English", "fr": "Français"}
LOCALE_DIR = Path(__file__).parent / "locale"
DOMAIN = "messages"


# the language of what is being rendered now (a request's reader, a mail's recipient): for
# templates whose context does not carry `locale`, such as macros imported without context
CURRENT_LANGUAGE: ContextVar[str | None] = ContextVar("language", default=None)


@contextlib.contextmanager
def rendering_in(language: str) -> Iterator[None]:
    token = CURRENT_LANGUAGE.set(language)
    try:
        yield
    finally:
        CURRENT_LANGUAGE.reset(token)


def language_of(context: jinja2.runtime.Context) -> str:
    """The language a template renders in: its context's `locale`, else the rendering's."""
    return context.get("locale") or CURRENT_LANGUAGE.get() or SOURCE_LANGUAGE


def gettext_noop(message: str) -> str:
    """Marks a string for extraction where it is defined; it is translated where it is shown
    (a flash message, a form's error), in the reader's language."""
    return message


class Text(str):
    """A message made where the reader's language is not known (a service's error, a flash
    message): it reads as English wherever it is used as a string (logs, the API, tests),
    and `localize` translates its template, then fills in its values. Mark the template for
    extraction by writing it as `Text(gettext_noop("... %(name)s ..."), name=...)`."""

    template: str
    values: dict[str, object]

    def __new__(cls, template: str, **values: object) -> Text:
        text = super().__new__(cls, template % values if values else template)
        text.template = template
        text.values = values
        return text


def localize(language: str, message: str) -> str:
    """`message` in `language`: a Text by its template, any other string as it is written
    (a marked constant is found in the catalog; anything else is left as it is)."""
    if isinstance(message, Text):
        translated = gettext(language, message.template)
        return translated % message.values if message.values else translated
    return gettext(language, message) if message else message


def catalog_paths(language: str, locale_dir: Path = LOCALE_DIR) -> tuple[Path, Path]:
    folder = locale_dir / language / "LC_MESSAGES"
    return folder / f"{DOMAIN}.po", folder / f"{DOMAIN}.mo"


@functools.cache
def translations(language: str) -> NullTranslations:
    """The compiled catalog of `language` (English, the source, has none)."""
    if language not in LANGUAGES or language == SOURCE_LANGUAGE:
        return NullTranslations()
    po, mo = catalog_paths(language)
    if mo.exists() and (not po.exists() or mo.stat().st_mtime >= po.stat().st_mtime):
        with mo.open("rb") as file:
            return Translations(file, domain=DOMAIN)
    if not po.exists():
        log.warning("no catalog for %s: pages are shown in English", language)
        return NullTranslations()
    log.warning("%s is newer than its compiled catalog: compiled in memory "
                "(`make install` compiles it)", po.name)  # fmt: skip
    return Translations(io.BytesIO(_compile(po)), domain=DOMAIN)


def _compile(po: Path) -> bytes:
    with po.open("rb") as file:
        catalog = read_po(file)
    out = io.BytesIO()
    write_mo(out, catalog, use_fuzzy=False)  # a fuzzy guess is not a translation
    return out.getvalue()


def compile_catalogs(locale_dir: Path = LOCALE_DIR, out_dir: Path | None = None) -> list[Path]:
    """Compile every language's `.po` into its `.mo` (beside it, or under `out_dir`)."""
    written = []
    for language in LANGUAGES:
        po, mo = catalog_paths(language, locale_dir)
        if not po.exists():
            continue
        if out_dir is not None:
            mo = out_dir / mo.relative_to(locale_dir)
        mo.parent.mkdir(parents=True, exist_ok=True)
        mo.write_bytes(_compile(po))
        written.append(mo)
    return written


def gettext(language: str, message: str) -> str:
    return translations(language).gettext(message)


def ngettext(language: str, singular: str, plural: str, count: int) -> str:
    return translations(language).ngettext(singular, plural, count)


def install_translations(env: jinja2.Environment) -> None:
    """`_()`, `gettext`, `ngettext` and `{% trans %}` in the template's `locale` (the reader's
    language on the web, the recipient's in mail): one compiled template serves every
    language. `{% trans %}` blocks are trimmed, as `make messages` extracts them."""

    @jinja2.pass_context
    def context_gettext(context: jinja2.runtime.Context, message: str) -> str:
        return gettext(language_of(context), message)

    @jinja2.pass_context
    def context_ngettext(
        context: jinja2.runtime.Context, singular: str, plural: str, n: int
    ) -> str:
        return ngettext(language_of(context), singular, plural, n)

    @jinja2.pass_context
    def localize_filter(context: jinja2.runtime.Context, message: str) -> str:
        return localize(language_of(context), message)

    env.filters["t"] = localize_filter  # {{ message|t }}: a message made in Python
    @jinja2.pass_context
    def context_pgettext(context: jinja2.runtime.Context, where: str, message: str) -> str:
        """One English word with two French ones: `pgettext("ride", "From")`."""
        return translations(language_of(context)).pgettext(where, message)

    env.policies["ext.i18n.trimmed"] = True
    env.install_gettext_callables(  # type: ignore[attr-defined]
        context_gettext, context_ngettext, newstyle=True, pgettext=context_pgettext
    )


def choose(accept_language: str | None, default: str) -> str:
    """The first of our languages the browser asks for (RFC 9110's weighted list: `fr-CH,
    fr;q=0.9, en;q=0.8`), else `default`. A region falls back to its language."""
    wanted: list[tuple[float, int, str]] = []
    for position, item in enumerate((accept_language or "").split(",")):
        tag, _, params = item.strip().partition(";")
        weight = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name.strip().lower() == "q":
                try:
                    weight = float(value)
                except ValueError:
                    weight = 0.0  # a malformed weight counts as "not wanted"
        language = tag.strip().lower().split("-")[0]
        if weight > 0 and language in LANGUAGES:
            wanted.append((-weight, position, language))
    return min(wanted)[2] if wanted else default


def main() -> None:
    """`python -m commonsfed.i18n`: compile the catalogs in place (make install runs it)."""
    for mo in compile_catalogs():
        print(f"i18n   {mo.relative_to(LOCALE_DIR.parent.parent)}")


if __name__ == "__main__":
    main()
