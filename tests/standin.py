"""A server we do not run, for tests that need a peer doing what real nodes never do.

`StandIn` answers for any host names the test maps to it (every node's resolver map points
them at its port): GETs are served from `documents` (AS2 documents, WebFinger and NodeInfo),
POSTs to any inbox are kept in `received`, and every request is counted in `requests`, so a
test can change what a hostile or half-broken peer serves from one step to the next.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import orjson
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from commonsfed import signatures
from tests.nodes import bound_socket

AS2 = "application/activity+json"


@dataclass
class StandIn:
    port: int = 0
    documents: dict[str, dict[str, Any]] = field(default_factory=dict)  # URL -> document
    received: list[tuple[str, dict[str, Any]]] = field(default_factory=list)  # (inbox, body)
    requests: Counter = field(default_factory=Counter)  # (method, URL) -> count

    def resolve(self, *names: str) -> dict[str, str]:
        """The `others` argument of start_nodes that points `names` here."""
        return {name: f"127.0.0.1:{self.port}" for name in names}

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_route("*", "/{path:.*}", self._handle)
        return app

    async def _handle(self, request: web.Request) -> web.Response:
        url = f"http://{request.host}{request.path_qs}"
        self.requests[(request.method, url)] += 1
        if request.method == "POST":
            self.received.append((url, await request.json()))
            return web.Response(status=202)
        document = self.documents.get(url)
        if document is None:
            return web.json_response({"error": "not here"}, status=404)
        return web.Response(body=orjson.dumps(document), content_type=_content_type(url))

    def actor(self, uri: str, key: Any, **changes: Any) -> dict[str, Any]:
        """Serve a Person at `uri` with `key`'s public half (as Mastodon shapes one), changed
        by `changes` (None removes a field); returns the document."""
        host = uri.split("/")[2]
        document = {
            "@context": [
                "https://www.w3.org/ns/activitystreams",
                "https://w3id.org/security/v1",
            ],
            "id": uri,
            "type": "Person",
            "preferredUsername": uri.rsplit("/", 1)[1],
            "inbox": f"{uri}/inbox",
            "outbox": f"{uri}/outbox",
            "followers": f"{uri}/followers",
            "endpoints": {"sharedInbox": f"http://{host}/inbox"},
            "publicKey": {
                "id": f"{uri}#main-key",
                "owner": uri,
                "publicKeyPem": signatures.public_key_to_pem(key),
            },
        } | changes
        document = {name: value for name, value in document.items() if value is not None}
        self.documents[uri] = document
        return document

    def gets(self, url: str) -> int:
        return self.requests[("GET", url)]

    def inboxes(self) -> list[str]:
        return [inbox for inbox, _ in self.received]


def _content_type(url: str) -> str:
    if "/.well-known/webfinger" in url:
        return "application/jrd+json"
    if "/.well-known/" in url or "/nodeinfo/" in url:
        return "application/json"
    return AS2


@pytest.fixture
async def stand_in():
    peer = StandIn()
    sock = bound_socket()  # held, so no other test process takes the port meanwhile
    server = TestServer(
        peer.app(), host="127.0.0.1", port=sock.getsockname()[1], socket_factory=lambda *_: sock
    )
    await server.start_server()
    peer.port = server.port
    yield peer
    await server.close()


async def send_signed(node, path: str, activity: dict, key_id: str, key, host: str | None = None):
    """POST `activity` to `node`'s `path`, signed with `key` under `key_id`, with `host` as
    the Host header (the node's own name unless given); returns (status, JSON body or None)."""
    body = orjson.dumps({"@context": "https://www.w3.org/ns/activitystreams", **activity})
    headers = {"Host": host or node.name, "Content-Type": AS2}
    url = f"http://{host or node.name}{path}"
    headers |= signatures.sign_cavage("POST", url, headers, body, key_id, key)
    response = await node.client.post(path, data=body, headers=headers)
    is_json = response.content_type == "application/json"
    return response.status, (await response.json() if is_json else None)
