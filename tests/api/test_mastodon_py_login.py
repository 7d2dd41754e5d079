"""Mastodon.py (from PyPI, pinned, unmodified) logs in to a node as it would to Mastodon:
registers an app, sends the resident to the real authorize page, trades the code for a
token, passes its version check, verifies credentials, and revokes the token.

Mastodon.py is synchronous: it runs in a thread against the node's loopback address. The
node is a dev node on http://, so the OAuth calls pass Mastodon.py's own `allow_http` flag,
which it offers for testing; nothing else of it is changed."""

from __future__ import annotations

import asyncio
from urllib.parse import urlencode, urlsplit

import pytest
import requests

from commonsfed.web.keys import POOL
from tests.api.live_node import live_node, start_live_node  # noqa: F401  (fixtures)
from tests.api.oauth_flow import code_from_page, consent, pkce_pair
from tests.builders import register_and_login

mastodon = pytest.importorskip("mastodon")
Mastodon = mastodon.Mastodon
SCOPES = ["read", "write", "follow"]


class VerifierSession(requests.Session):
    """Mastodon.py 2.3.3 neither makes a PKCE challenge nor sends a code_verifier. An app
    using it with PKCE hands it a requests.Session (its documented `session` parameter)
    that adds the verifier to the token request: that is all this does."""

    def __init__(self, verifier: str | None) -> None:
        super().__init__()
        self.verifier = verifier

    def request(self, method, url, *args, **kwargs):
        data = kwargs.get("data")
        if self.verifier and url.endswith("/oauth/token") and isinstance(data, dict):
            kwargs["data"] = {**data, "code_verifier": self.verifier}
        return super().request(method, url, *args, **kwargs)


def _client(base: str, verifier: str | None) -> Mastodon:
    client_id, client_secret = Mastodon.create_app(
        "Mastodon.py test", scopes=SCOPES, api_base_url=base, website="https://example.org")
    # "created": the version check runs, as apps that rely on it run it
    return Mastodon(client_id=client_id, client_secret=client_secret, api_base_url=base,
                    session=VerifierSession(verifier), version_check_mode="created",
                    ratelimit_method="throw")  # fmt: skip


async def _authorise(browser, url: str) -> str:
    """The resident opens the URL the app made, authorises it, and copies the code."""
    parts = urlsplit(url)
    response = await consent(browser, f"{parts.path}?{parts.query}")
    assert response.status == 200, await response.text()
    return code_from_page(await response.text())


async def test_mastodon_py__logs_in_with_pkce_reads_the_instance_and_revokes(live_node):  # noqa: F811
    base, browser = live_node
    await register_and_login(browser, "alice")
    verifier, challenge = pkce_pair()
    # Given an app registered by Mastodon.py, and the authorize URL it makes, with PKCE
    api = await asyncio.to_thread(_client, base, verifier)
    url = await asyncio.to_thread(api.auth_request_url, scopes=SCOPES, allow_http=True)
    assert url.startswith(f"{base}/oauth/authorize?")
    url += "&" + urlencode({"code_challenge": challenge, "code_challenge_method": "S256"})
    # When alice authorises it and Mastodon.py trades the code for a token
    code = await _authorise(browser, url)
    token = await asyncio.to_thread(api.log_in, code=code, scopes=SCOPES, allow_http=True)
    # Then it speaks for alice, and its version check passes on the instance
    me = await asyncio.to_thread(api.account_verify_credentials)
    assert (me.username, me.acct) == ("alice", "alice")
    instance = await asyncio.to_thread(api.instance)
    assert instance.version.startswith("4.3.0 (compatible; commonsfed")
    assert await asyncio.to_thread(api.verify_minimum_version, "4.3.0")
    assert instance.configuration.statuses.max_media_attachments == 4
    app = await asyncio.to_thread(api.app_verify_credentials)
    assert app.name == "Mastodon.py test"
    # When it revokes the token, the token no longer works
    await asyncio.to_thread(api.revoke_access_token, allow_http=True)
    again = Mastodon(access_token=token, api_base_url=base)
    with pytest.raises(mastodon.MastodonUnauthorizedError):
        await asyncio.to_thread(again.account_verify_credentials)
    assert await browser.app[POOL].fetchval("SELECT count(*) FROM oauth_tokens") == 0


async def test_mastodon_py__a_code_asked_with_pkce_needs_the_verifier(live_node):  # noqa: F811
    # Mastodon.py as shipped sends no code_verifier: a code bound to a challenge is refused
    base, browser = live_node
    await register_and_login(browser, "alice")
    _verifier, challenge = pkce_pair()
    api = await asyncio.to_thread(_client, base, None)
    url = await asyncio.to_thread(api.auth_request_url, scopes=SCOPES, allow_http=True)
    url += "&" + urlencode({"code_challenge": challenge, "code_challenge_method": "S256"})
    code = await _authorise(browser, url)
    with pytest.raises(mastodon.MastodonIllegalArgumentError, match="invalid_grant"):
        await asyncio.to_thread(api.log_in, code=code, scopes=SCOPES, allow_http=True)


async def test_mastodon_py__refuses_http_oauth_urls_unless_told(live_node):  # noqa: F811
    # Mastodon.py insists on https for OAuth; a dev node is http, hence `allow_http` above
    base, _browser = live_node
    api = await asyncio.to_thread(_client, base, None)
    with pytest.raises(mastodon.MastodonIllegalArgumentError, match="https"):
        await asyncio.to_thread(api.auth_request_url, scopes=SCOPES)
