"""domain_of reads a URI's host as urlsplit does, without urlsplit's cost for the usual
shape (publishing to 10,000 followers asks for 10,000 hosts)."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from commonsfed.federation.policy import domain_of

URIS = [
    "https://Example.ORG/users/alice/inbox",
    "http://h12.test/users/u1/inbox",
    "https://example.org:8443/inbox",
    "https://example.org",
    "https://example.org?x=1",
    "https://example.org#top",
    "https://user@example.org/inbox",
    "https://[2001:db8::1]:8080/inbox",
    "HTTPS://EXAMPLE.ORG/Inbox",
    "https:///no-host",
    "mailto:alice@example.org",
    "example.org/inbox",
    "",
    "https://exa mple.org/inbox",
    "https://example.org\\evil.test/inbox",
]


@pytest.mark.parametrize("uri", URIS)
def test_domain_of__is_urlsplits_netloc_lower_cased(uri):
    assert domain_of(uri) == urlsplit(uri).netloc.lower()


@pytest.mark.parametrize("uri", ["http://[south.test#main-key", "https://exa]mple.org/inbox"])
def test_domain_of__refuses_what_urlsplit_refuses(uri):
    with pytest.raises(ValueError):
        urlsplit(uri)
    with pytest.raises(ValueError):
        domain_of(uri)
