"""Markdown rendering and sanitising: what residents type can never run in a neighbour's browser."""

from __future__ import annotations

from commonsfed.services.markdown import render_markdown, sanitise_html


def test_render_markdown__keeps_the_allowed_formatting():
    html = render_markdown("**bold** and *soft*\n\n- one\n- two\n\n> quoted\n\n`code`")

    for tag in (
        "<strong>bold</strong>",
        "<em>soft</em>",
        "<ul>",
        "<li>one</li>",
        "<blockquote>",
        "<code>code</code>",
    ):
        assert tag in html


def test_render_markdown__script_tags_are_shown_as_text_never_run():
    html = render_markdown("hello <script>alert(1)</script>")

    assert "<script" not in html
    assert "&lt;script&gt;" in html


def test_render_markdown__event_handlers_are_removed():
    html = render_markdown('<a href="https://example.org" onclick="steal()">x</a>')

    assert "<a " not in html  # raw HTML is shown as text, never becomes a tag
    assert "&lt;a href=" in html


def test_sanitise_html__removes_onclick_even_when_html_gets_through():
    html = sanitise_html(
        '<p onclick="steal()">hi <a href="https://e.org" onmouseover="x()">y</a></p>'
    )

    assert "onclick" not in html and "onmouseover" not in html
    assert '<a href="https://e.org" rel="nofollow noopener noreferrer">y</a>' in html


def test_render_markdown__javascript_links_are_not_links():
    html = render_markdown(
        "[click](javascript:alert(1)) [data](data:text/html;base64,PHNjcmlwdD4=)"
    )

    assert 'href="javascript:' not in html and 'href="data:' not in html


def test_sanitise_html__javascript_href_is_dropped():
    html = sanitise_html('<a href="javascript:alert(1)">x</a><a href="JaVaScRiPt:alert(1)">y</a>')

    assert "javascript" not in html.lower()


def test_render_markdown__links_get_nofollow_noopener_noreferrer():
    html = render_markdown("[our garden](https://garden.example.org)")

    assert html.strip() == (
        '<p><a href="https://garden.example.org" '
        'rel="nofollow noopener noreferrer">our garden</a></p>'
    )


def test_render_markdown__images_iframes_and_styles_do_not_survive():
    html = render_markdown(
        '![x](https://tracker.example/p.png)\n\n<iframe src="https://e.org">'
        "</iframe><style>body{}</style>"
    )

    assert "<img" not in html and "<iframe" not in html and "<style" not in html
