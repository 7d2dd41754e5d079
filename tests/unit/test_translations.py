"""The French catalog is complete: every string marked for translation in the templates and
the code has a French translation (not fuzzy, with the same placeholders), and no template
shows people text that is not marked. Each failure lists what to do, file by file.

`make messages` extracts the strings and merges them into the catalog; a translator then
fills in what is new."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import jinja2
import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from commonsfed import i18n

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = ROOT / "templates"
CONFIG = ROOT / "commonsfed" / "locale" / "babel.cfg"

# the methods of babel.cfg, read by Babel itself
METHODS = [
    ("commonsfed/**.py", "python"),
    ("templates/**.html", "jinja2"),
    ("templates/**.txt", "jinja2"),
]
OPTIONS = {
    "templates/**.html": {"extensions": "jinja2.ext.i18n", "trimmed": "true"},
    "templates/**.txt": {"extensions": "jinja2.ext.i18n", "trimmed": "true"},
}
KEYWORDS = {
    "_": None,
    "N_": None,
    "gettext": None,
    "ngettext": (1, 2),
    "gettext_noop": None,
    "translate": (2,),
    "pgettext": ((1, "c"), 2),
}


def extracted() -> dict[tuple[str, str | None], list[str]]:
    """(msgid, context) -> where it is used (singular msgids; plural forms are checked by
    Babel)."""
    found: dict[tuple[str, str | None], list[str]] = {}
    for filename, lineno, message, _comments, context in extract_from_dir(
        str(ROOT), METHODS, OPTIONS, KEYWORDS
    ):
        msgid = message[0] if isinstance(message, tuple) else message
        if filename.startswith(("commonsfed/", "templates/")) and msgid:
            found.setdefault((msgid, context), []).append(f"{filename}:{lineno}")
    return found


def french():
    po, _mo = i18n.catalog_paths("fr")
    with po.open("rb") as file:
        return read_po(file, locale="fr")


def test_babel_cfg__names_the_methods_this_test_uses():
    text = CONFIG.read_text()

    for pattern, method in METHODS:
        assert f"[{method}: {pattern}]" in text


def test_french__translates_every_marked_string():
    catalog = french()

    missing = []
    for (msgid, context), places in sorted(extracted().items(), key=str):
        message = catalog.get(msgid, context=context)
        translated = (
            message is not None
            and not message.fuzzy
            and (all(message.string) if isinstance(message.string, tuple) else message.string)
        )
        if not translated:
            missing.append(f"{places[0]}: {msgid!r}")

    assert missing == [], (
        "not translated into French (run `make messages`, then translate "
        "commonsfed/locale/fr/LC_MESSAGES/messages.po):\n" + "\n".join(missing)
    )


def test_french__keeps_every_placeholder():
    # python-format checks: a translation that drops or renames %(name)s breaks the page
    problems = [
        f"{message.id!r}: {'; '.join(str(error) for error in errors)}"
        for message, errors in french().check()
    ]

    assert problems == []


# --- unmarked text ---------------------------------------------------------------------------

# attributes people read or hear (a screen reader says aria-label and alt)
SPOKEN = {"alt", "title", "placeholder", "aria-label"}
WORD = re.compile(r"[A-Za-zÀ-ÿ]{2,}")
# words that are the same in every language: names, and what the software itself is called
SAME_EVERYWHERE = {"commonsfed", "OpenStreetMap", "Leaflet", "ActivityPub", "Mastodon",
                   "RSS", "Atom", "OAuth", "PKCE", "CSV", "JSON", "URL", "ID", "OK",
                   "English", "Français", "Markdown", "WebFinger", "PostgreSQL", "SMTP",
                   "px", "km"}  # fmt: skip


class _Text(HTMLParser):
    """Text nodes and spoken attributes of a page's skeleton, with their lines."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[tuple[int, str]] = []
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style"):
            self._skip += 1
        for name, value in attrs:
            if name in SPOKEN and value:
                self.found.append((self.getpos()[0], value))

    def handle_endtag(self, tag):
        if tag in ("script", "style") and self._skip:
            self._skip -= 1

    def handle_data(self, data):
        if not self._skip:
            self.found.append((self.getpos()[0], data))


def skeleton(source: str) -> str:
    """The template with every jinja expression and block, and all text inside `{% trans
    %}`, replaced by a mark that is not a word (keeping the line breaks), so that the HTML
    around them parses whole."""
    env = jinja2.Environment(extensions=["jinja2.ext.i18n"])
    out = []
    in_trans = 0
    block: list[str] = []
    for _lineno, token, value in env.lex(source):
        if token == "block_begin":
            block = []
        elif token == "name" and block == [] and value in ("trans", "endtrans"):
            in_trans += 1 if value == "trans" else -1
        if token not in ("block_begin", "whitespace"):
            block.append(value)
        if token == "data" and not in_trans:
            out.append(value)
        else:
            out.append("\x00" + "\n" * value.count("\n"))
    return "".join(out)


def unmarked(source: str) -> list[tuple[int, str]]:
    """Text outside `{% trans %}` blocks and expressions, with its line: what a reader would
    see in English whatever their language."""
    parser = _Text()
    parser.feed(skeleton(source))
    parser.close()
    found = []
    for lineno, text in parser.found:
        words = [w for w in WORD.findall(text) if w not in SAME_EVERYWHERE]
        if words:
            found.append((lineno, " ".join(text.replace("\x00", " ").split())))
    return found


def _pages() -> list[Path]:
    # mail's plain-text parts and the feeds are checked as templates too; the feeds' XML
    # carries only the listings' own words
    return sorted(p for p in TEMPLATES.rglob("*") if p.suffix in (".html", ".txt"))


def test_templates__mark_every_text_people_read():
    problems = []
    for page in _pages():
        for lineno, text in unmarked(page.read_text()):
            problems.append(f"{page.relative_to(ROOT)}:{lineno}: {text[:70]!r}")

    assert problems == [], (
        "text not marked for translation (wrap it in {% trans %}...{% "
        "endtrans %} or _()):\n" + "\n".join(problems)
    )


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("<p>Hello</p>", [(1, "Hello")]),
        ("<p>{% trans %}Hello{% endtrans %}</p>", []),
        ('<img alt="A ladder" src="x">', [(1, "A ladder")]),
        ('<img alt="{{ _(\'A ladder\') }}" src="x">', []),
        ("<p>{{ listing.title }}</p>", []),
        ('<a class="button" href="/register">{{ _("Join") }}</a>', []),
        ("<p>{% trans n=3 %}one{% pluralize %}many{% endtrans %}</p>", []),
        ("<script>var words = 'not read'</script>", []),
    ],
)
def test_unmarked__finds_text_outside_trans(source, expected):
    assert unmarked(source) == expected


# --- rendering -------------------------------------------------------------------------------


def _env(**templates: str) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.DictLoader(templates), extensions=["jinja2.ext.i18n"], autoescape=True
    )
    i18n.install_translations(env)
    return env


def test_macro_imported_without_context__speaks_the_renderings_language():
    env = _env(**{"m.html": '{% macro m() %}{{ _("About this node") }}{% endmacro %}',
                  "page.html": '{% from "m.html" import m %}{{ m() }}'})  # fmt: skip

    with i18n.rendering_in("fr"):
        french = env.get_template("page.html").render(locale="fr")
    english = env.get_template("page.html").render(locale="en")

    assert french == "À propos de ce nœud"
    assert english == "About this node"


def test_t_filter__translates_a_text_by_its_template_and_leaves_other_words_alone():
    env = _env(page="{{ message|t }}")
    text = i18n.Text(i18n.gettext_noop("Page not found"))

    assert env.get_template("page").render(locale="fr", message=text) == "Page introuvable"
    assert env.get_template("page").render(locale="fr", message="Alice's ladder") == (
        "Alice&#39;s ladder"
    )
