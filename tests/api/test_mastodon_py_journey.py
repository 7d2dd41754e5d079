"""The issue's whole walk with an unmodified Mastodon.py (from PyPI, pinned), on two real
federating nodes: an app logs alice in on north through the real authorize page with PKCE,
updates her profile, posts an offer with a photo as a `#offer #lend #tools` status; bob's
app on south reads it in south's timelines, answers it with a direct status, resolves
alice's handle, favourites and bookmarks the listing; alice's app gets the notifications;
bob's app revokes its token.

Mastodon.py is synchronous: it runs in threads. It talks to http://north.test and
http://south.test as an app talks to a node by its name, and finds the OAuth endpoints in
the node's metadata; those names live only in the nodes' resolver map, so the session handed
to Mastodon.py (its documented `session` parameter) sends each request to the node's
loopback port with the node's name in the Host header, as DNS would. `allow_http` is its own
flag for OAuth on http://, as in test_mastodon_py_login."""

from __future__ import annotations

import asyncio
from functools import partial
from urllib.parse import urlsplit

import pytest

from commonsfed.services import follows
from tests.api.oauth_flow import pkce_pair
from tests.api.test_mastodon_py_login import SCOPES, VerifierSession, _authorise
from tests.builders import photo_bytes, register_and_login
from tests.nodes import settle

mastodon = pytest.importorskip("mastodon")
Mastodon = mastodon.Mastodon


class ResolvingSession(VerifierSession):
    """Requests to a node's name go to its loopback port (see the module docstring)."""

    def __init__(self, verifier: str, ports: dict[str, int]) -> None:
        super().__init__(verifier)
        self.ports = ports

    def request(self, method, url, *args, **kwargs):
        parts = urlsplit(url)
        if parts.hostname in self.ports:
            kwargs["headers"] = {**(kwargs.get("headers") or {}), "Host": parts.hostname}
            url = parts._replace(netloc=f"127.0.0.1:{self.ports[parts.hostname]}").geturl()
        return super().request(method, url, *args, **kwargs)


def _app(node, session: ResolvingSession):
    client_id, client_secret = Mastodon.create_app(
        "Mastodon.py walk", scopes=SCOPES, api_base_url=node.url(""), session=session
    )
    return Mastodon(client_id=client_id, client_secret=client_secret,
                    api_base_url=node.url(""), session=session,
                    version_check_mode="created", ratelimit_method="throw")  # fmt: skip


async def logged_in_app(node, name: str, ports: dict[str, int]):
    """Mastodon.py, logged in as the new resident `name` through the authorize page."""
    await register_and_login(node.client, name)
    verifier, challenge = pkce_pair()
    api = await asyncio.to_thread(_app, node, ResolvingSession(verifier, ports))
    url = await asyncio.to_thread(api.auth_request_url, scopes=SCOPES, allow_http=True)
    url += f"&code_challenge={challenge}&code_challenge_method=S256"
    code = await _authorise(node.client, url)
    await asyncio.to_thread(api.log_in, code=code, scopes=SCOPES, allow_http=True)
    return api


def call(api, method: str, *args, **kwargs):
    return asyncio.to_thread(partial(getattr(api, method), *args, **kwargs))


async def test_mastodon_py__the_whole_walk_across_two_nodes(start_nodes):
    north, south = await start_nodes(2)
    await follows.federate(south.federation, "north.test")
    await settle(north, south)
    ports = {node.name: node.client.server.port for node in (north, south)}
    alice = await logged_in_app(north, "alice", ports)
    bob = await logged_in_app(south, "bob", ports)

    # alice's app: her credentials and her profile
    me = await call(alice, "account_verify_credentials")
    assert me.acct == "alice"
    me = await call(alice, "account_update_credentials", display_name="Alice Baker",
                    note="Tools to lend on Elm Street.")  # fmt: skip
    assert (me.display_name, me.source.note) == ("Alice Baker", "Tools to lend on Elm Street.")

    # an offer with a photo, written as a status
    media = await call(alice, "media_post", photo_bytes(), mime_type="image/jpeg",
                       description="A green cordless drill")  # fmt: skip
    offer = await call(alice, "status_post",
                       "#offer #lend #tools Cordless drill\nWith two batteries.",
                       media_ids=[media])  # fmt: skip
    assert [tag.name for tag in offer.tags] == ["tools"]
    assert offer.media_attachments[0].description == "A green cordless drill"
    local = await call(alice, "timeline_local")
    assert [status.id for status in local] == [offer.id]
    await settle(north, south)

    # bob's app on south finds it in the federated and the tag timelines
    tagged = await call(bob, "timeline_hashtag", "tools")
    [there] = [status for status in tagged if status.uri == offer.uri]
    assert there.account.acct == "alice@north.test"
    assert there.media_attachments[0].description == "A green cordless drill"
    assert there.uri in [status.uri for status in await call(bob, "timeline_public")]
    assert await call(bob, "timeline_local") == []  # nothing of south's own yet

    # bob resolves alice's handle, answers with a direct status, favourites, bookmarks
    found = await call(bob, "search_v2", "@alice@north.test", resolve=True)
    assert [account.acct for account in found.accounts] == ["alice@north.test"]
    answer = await call(bob, "status_post", "@alice@north.test May I borrow it on Saturday?",
                        in_reply_to_id=there.id, visibility="direct")  # fmt: skip
    assert (answer.visibility, answer.in_reply_to_id) == ("direct", there.id)
    assert (await call(bob, "status_favourite", there.id)).favourited is True
    assert (await call(bob, "status_bookmark", there.id)).bookmarked is True
    assert [status.id for status in await call(bob, "bookmarks")] == [there.id]
    await settle(north, south)

    # alice's app is told of the answer (a mention with bob's direct status) and the favourite
    notifications = await call(alice, "notifications")
    kinds = {(item.type, item.account.acct) for item in notifications}
    assert ("mention", "bob@south.test") in kinds
    assert ("favourite", "bob@south.test") in kinds
    [mention] = [item for item in notifications if item.type == "mention"]
    assert "May I borrow it on Saturday?" in mention.status.content
    assert mention.status.in_reply_to_id == offer.id

    # bob's app revokes its token, which then stops working
    await call(bob, "revoke_access_token", allow_http=True)
    with pytest.raises(mastodon.MastodonUnauthorizedError):
        await call(bob, "account_verify_credentials")
