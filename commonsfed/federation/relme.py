"""rel="me": proving that a link in a resident's profile is theirs, as Mastodon does.

A profile field whose value is a URL is verified when the page at that URL links back to the
resident's profile with `rel="me"` (`<a rel="me" href="...">` or `<link rel="me" ...>`), the
IndieWeb convention Mastodon's VerifyAccountLinksWorker follows: only the owner of the page
could have put the link there. The page is fetched through the node's guarded client (no
internal addresses, https only outside dev mode, 1 MB and 5 seconds at most, redirects
included) and read with the standard library's HTML parser, never with patterns.
"""

from __future__ import annotations

import asyncio
from html.parser import HTMLParser

from commonsfed.federation.context import Federation
from commonsfed.federation.fetch import PAGE_TIMEOUT, FetchError, fetch_html

# one link's whole check, redirects included: a person waits for it when they save
VERIFY_SECONDS = PAGE_TIMEOUT.total


class _RelMeLinks(HTMLParser):
    """Collects the href of every <a> and <link> whose rel names "me"."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.hrefs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in ("a", "link"):
            return
        found = dict(attrs)
        rel = (found.get("rel") or "").lower().split()
        if "me" in rel and found.get("href"):
            self.hrefs.append(found["href"])

    handle_startendtag = handle_starttag  # <link rel="me" href="..." />


def _same_url(a: str, b: str) -> bool:
    # Mastodon compares the two lower-cased; a trailing slash is a common slip
    return a.strip().lower().rstrip("/") == b.strip().lower().rstrip("/")


def links_back(page: str, profile_url: str) -> bool:
    """Whether `page` (HTML) links to `profile_url` with rel="me"."""
    parser = _RelMeLinks()
    parser.feed(page)
    parser.close()
    return any(_same_url(href, profile_url) for href in parser.hrefs)


async def verify_link(fed: Federation, url: str, profile_url: str) -> bool:
    """Whether the page at `url` links back to `profile_url`; False when it cannot be read."""
    try:
        async with asyncio.timeout(VERIFY_SECONDS):
            page = await fetch_html(fed.session, fed.policy, url, dev=fed.settings.dev)
    except (FetchError, TimeoutError):
        return False
    return links_back(page, profile_url)
