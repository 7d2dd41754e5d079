"""Markdown that residents type, rendered to HTML that is safe to show to anyone."""

from __future__ import annotations

import functools

import nh3
from markdown_it import MarkdownIt

ALLOWED_TAGS = frozenset(
    {"p", "br", "strong", "em", "a", "ul", "ol", "li", "blockquote", "code", "pre"}
)
ALLOWED_ATTRIBUTES = {"a": {"href"}}
URL_SCHEMES = frozenset({"http", "https", "mailto"})
LINK_REL = "nofollow noopener noreferrer"


@functools.cache
def _parser() -> MarkdownIt:
    # CommonMark, with raw HTML off: what people type as <tags> is shown as text
    return MarkdownIt("commonmark", {"html": False})


def sanitise_html(html: str) -> str:
    """Reduce HTML to the allow-list; the only step that makes it safe (never regexes)."""
    return nh3.clean(
        html,
        tags=set(ALLOWED_TAGS),
        attributes={tag: set(names) for tag, names in ALLOWED_ATTRIBUTES.items()},
        url_schemes=set(URL_SCHEMES),
        link_rel=LINK_REL,
    )


def render_markdown(text: str) -> str:
    """Markdown to sanitised HTML. Headings, images and tables lose their tags, keep their text.

    The parser has raw HTML off already, but its output still goes through nh3: the
    sanitiser, not the parser's options, is what we trust.
    """
    return sanitise_html(_parser().render(text or ""))
