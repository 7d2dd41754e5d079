"""A remote post's language, as the client API's Status gives it: contentMap's first key
that names a language, as Mastodon files statuses."""

from __future__ import annotations

import pytest

from commonsfed.services.statuses import language_of


@pytest.mark.parametrize(
    ("document", "language"),
    [
        ({"contentMap": {"fr": "<p>Bonjour</p>"}}, "fr"),
        ({"contentMap": {"pt-BR": "<p>Olá</p>"}}, "pt"),
        ({"contentMap": {"und": "<p>?</p>", "de": "<p>Hallo</p>"}}, "de"),
        ({"contentMap": {"und": "<p>?</p>"}}, None),
        ({"contentMap": {"<script>": "x", "12": "y"}}, None),
        ({"contentMap": "fr"}, None),
        ({"content": "<p>Hello</p>"}, None),
    ],
)
def test_language_of__contentmaps_first_language_or_none(document, language):
    assert language_of(document) == language
