"""How /about shows a domain whose block the admin chose to obfuscate: as Mastodon does
(`DomainBlock#public_domain`), so the same block reads the same on both."""

from __future__ import annotations

import pytest

from commonsfed.services.about import public_domain


@pytest.mark.parametrize("domain, shown", [
    ("example.com", "exa****.*om"),  # 11 letters: 2 kept at each end, past the third
    ("bad.social", "bad.****al"),  # the dots stay
    ("a.io", "a.*o"),  # 4 letters: 1 kept at each end
    ("hidden-server.example", "hidden*******.**ample"),  # 21 letters: 5 at each end
])  # fmt: skip
def test_public_domain__obfuscated_as_mastodon_does(domain, shown):
    assert public_domain(domain, obfuscate=True) == shown


def test_public_domain__shown_whole_unless_obfuscated():
    assert public_domain("example.com", obfuscate=False) == "example.com"
