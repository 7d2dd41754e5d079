"""rel="me" read from pages with an HTML parser: what counts as a link back, what does not."""

from __future__ import annotations

import pytest

from commonsfed.federation.relme import links_back

PROFILE = "https://north.test/users/alice"


@pytest.mark.parametrize(
    "page",
    [
        f'<p>Find me on <a rel="me" href="{PROFILE}">my neighbourhood</a></p>',
        f'<a href="{PROFILE}" rel="nofollow me noopener">alice</a>',
        f'<A REL="Me" HREF="{PROFILE.upper()}">alice</A>',
        f'<html><head><link rel="me" href="{PROFILE}/"></head><body></body></html>',
        f"<link rel=me href={PROFILE} />",
    ],
)
def test_links_back__a_rel_me_link_to_the_profile(page):
    assert links_back(page, PROFILE)


@pytest.mark.parametrize(
    "page",
    [
        f'<a href="{PROFILE}">no rel</a>',
        f'<a rel="mention" href="{PROFILE}">another rel</a>',
        '<a rel="me" href="https://north.test/users/alicia">someone else</a>',
        f'<a rel="me" href="{PROFILE}.evil.example">a longer host</a>',
        # a parser, unlike a pattern, knows that these are not links
        f'<!-- <a rel="me" href="{PROFILE}">old</a> -->',
        f'<script>var s = \'<a rel="me" href="{PROFILE}">\';</script>',
        f'<p data-x=\'<a rel="me" href="{PROFILE}">\'>text</p>',
        "",
    ],
)
def test_links_back__anything_else_is_not_a_link_back(page):
    assert not links_back(page, PROFILE)
