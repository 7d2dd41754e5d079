"""Fetching remote documents over real HTTP on loopback, against peers that misbehave.

Peers are small aiohttp servers that count what reaches them, so "refused" always means
"refused before any request left", checked on the peer's side. A "public" peer listens on
127.0.0.2, which the policy trusts, while the rest of loopback (127.0.0.1) stays internal.
"""

from __future__ import annotations

import asyncio
import gzip
import ipaddress
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import orjson
import pytest
from aiohttp import web
from multidict import CIMultiDict

from commonsfed.federation.fetch import (
    ACCEPT,
    FetchError,
    Gone,
    NotFound,
    fetch_document,
    fetch_jrd,
)
from commonsfed.federation.transport import (
    AddressNotAllowed,
    AddressPolicy,
    make_client_session,
)
from commonsfed.signatures import generate_private_key, verify_request

KEY_ID = "http://north.test/actor#main-key"
USER_AGENT = "commonsfed/0.1.0 (+http://north.test/)"
AS2 = "https://www.w3.org/ns/activitystreams"
TRUST_127_0_0_2 = (ipaddress.ip_network("127.0.0.2/32"),)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(frozen=True)
class Seen:
    path: str  # raw path and query, as signed
    headers: CIMultiDict[str]


@dataclass
class Peer:
    server: Any  # aiohttp.test_utils.TestServer
    requests: list[Seen] = field(default_factory=list)

    @property
    def target(self) -> str:
        """ "ip:port", as the resolver map wants it."""
        return f"{self.server.host}:{self.server.port}"


# --- Fixtures and builders --------------------------------------------------------------------


@pytest.fixture(scope="module")
def private_key():
    return generate_private_key()


@pytest.fixture
def start_peer(aiohttp_server):
    """Start a peer on `host` serving `routes` (path -> handler); other paths answer 404."""

    async def start(routes: dict[str, Handler], host: str = "127.0.0.1") -> Peer:
        peer = Peer(server=None)

        async def dispatch(request: web.Request) -> web.StreamResponse:
            peer.requests.append(Seen(request.raw_path, CIMultiDict(request.headers)))
            handler = routes.get(request.path)
            return await handler(request) if handler else web.Response(status=404)

        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", dispatch)
        peer.server = await aiohttp_server(app, host=host)
        return peer

    return start


@pytest.fixture
async def make_session():
    sessions: list[aiohttp.ClientSession] = []

    def make(policy: AddressPolicy, **options: Any) -> aiohttp.ClientSession:
        sessions.append(make_client_session(policy, user_agent=USER_AGENT, **options))
        return sessions[-1]

    yield make
    for session in sessions:
        await session.close()


@pytest.fixture
def fetch(make_session, private_key):
    """fetch_document with the test key, a session for `policy`, dev mode unless told."""

    async def run(policy: AddressPolicy, url: str, *, client_timeout=None, dev=True, **options):
        session = make_session(policy, **({"timeout": client_timeout} if client_timeout else {}))
        return await fetch_document(
            session, policy, url, key_id=KEY_ID, private_key=private_key, dev=dev, **options
        )

    return run


def dev_policy(**names: Peer) -> AddressPolicy:
    """Dev mode: each name (underscores for dots) resolves to its peer."""
    return AddressPolicy(
        allow_internal=True,
        resolve={name.replace("_", "."): peer.target for name, peer in names.items()},
    )


def public_policy(**names: Peer) -> AddressPolicy:
    """Production rules, except that 127.0.0.2 counts as a public address."""
    resolve = {name.replace("_", "."): peer.target for name, peer in names.items()}
    return AddressPolicy(resolve=resolve, trusted_networks=TRUST_127_0_0_2)


def actor(url: str) -> dict[str, Any]:
    return {"@context": AS2, "id": url, "type": "Person", "preferredUsername": "alice"}


def serve(
    document: Any, *, status: int = 200, content_type: str = "application/activity+json"
) -> Handler:
    async def handler(request: web.Request) -> web.Response:
        body = document if isinstance(document, bytes) else orjson.dumps(document)
        return web.Response(status=status, body=body, headers={"Content-Type": content_type})

    return handler


def redirect(location: str, status: int = 302) -> Handler:
    async def handler(request: web.Request) -> web.Response:
        return web.Response(status=status, headers={"Location": location})

    return handler


def chunked(pieces: list[bytes]) -> Handler:
    """Answer without Content-Length, one chunk at a time."""

    async def handler(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "application/activity+json"})
        response.enable_chunked_encoding()
        await response.prepare(request)
        for piece in pieces:
            await response.write(piece)
        await response.write_eof()
        return response

    return handler


def assert_signed(seen: Seen, private_key, authority: str) -> None:
    parsed = verify_request(
        "GET", seen.path, seen.headers, None, private_key.public_key(), scheme="http"
    )
    assert parsed.key_id == KEY_ID
    assert seen.headers["Host"] == authority
    assert "accept" in parsed.covered


# --- Success ----------------------------------------------------------------------------------

ALICE = "http://south.test/users/alice"


async def test_fetch_document__signed_get_reaches_the_mapped_name(start_peer, fetch, private_key):
    south = await start_peer({"/users/alice": serve(actor(ALICE))})

    fetched = await fetch(dev_policy(south_test=south), ALICE)

    assert (fetched.url, fetched.status, fetched.fragment) == (ALICE, 200, "")
    assert fetched.document == actor(ALICE)
    [seen] = south.requests
    assert_signed(seen, private_key, "south.test")
    assert seen.headers["Accept"] == ACCEPT
    assert seen.headers["User-Agent"] == USER_AGENT
    assert "Cookie" not in seen.headers


async def test_fetch_document__fragment_is_not_sent_but_returned(start_peer, fetch):
    south = await start_peer({"/users/alice": serve(actor(ALICE))})

    fetched = await fetch(dev_policy(south_test=south), ALICE + "#main-key")

    assert (fetched.url, fetched.fragment) == (ALICE, "main-key")
    assert [seen.path for seen in south.requests] == ["/users/alice"]


async def test_fetch_document__ld_json_with_profile_is_accepted(start_peer, fetch):
    ld_json = f'application/ld+json; profile="{AS2}"'
    south = await start_peer({"/users/alice": serve(actor(ALICE), content_type=ld_json)})

    fetched = await fetch(dev_policy(south_test=south), ALICE)

    assert fetched.document["id"] == ALICE


async def test_fetch_document__query_string_is_signed_and_kept(start_peer, fetch, private_key):
    url = "http://south.test/users/alice/outbox?page=true"
    south = await start_peer({"/users/alice/outbox": serve(actor(url))})

    fetched = await fetch(dev_policy(south_test=south), url)

    assert fetched.url == url
    assert_signed(south.requests[0], private_key, "south.test")


async def test_fetch_document__chunked_answer_under_the_cap_is_read(start_peer, fetch):
    body = orjson.dumps(actor(ALICE))
    south = await start_peer({"/users/alice": chunked([body[:10], body[10:]])})

    fetched = await fetch(dev_policy(south_test=south), ALICE)

    assert fetched.document == actor(ALICE)


async def test_fetch_document__public_peer_is_reached_without_allow_internal(start_peer, fetch):
    url = "http://public.test/users/alice"
    public = await start_peer({"/users/alice": serve(actor(url))}, host="127.0.0.2")

    fetched = await fetch(public_policy(public_test=public), url)

    assert fetched.url == url and len(public.requests) == 1


# --- Internal addresses -----------------------------------------------------------------------


async def test_fetch_document__loopback_literal_is_refused(start_peer, fetch):
    south = await start_peer({"/users/alice": serve(actor(ALICE))})
    url = f"http://127.0.0.1:{south.server.port}/users/alice"

    with pytest.raises(FetchError, match="refused: 127.0.0.1 is an internal address"):
        await fetch(AddressPolicy(), url)

    assert south.requests == []


async def test_fetch_document__name_mapped_to_loopback_is_refused(start_peer, fetch):
    south = await start_peer({"/users/alice": serve(actor(ALICE))})
    policy = AddressPolicy(resolve={"south.test": south.target})

    with pytest.raises(FetchError, match="refused: south.test is at 127.0.0.1, an internal"):
        await fetch(policy, ALICE)

    assert south.requests == []


async def test_fetch_document__public_peer_redirecting_to_loopback_is_refused(start_peer, fetch):
    inner = await start_peer({"/admin": serve(actor("http://127.0.0.1/admin"))})
    inner_url = f"http://127.0.0.1:{inner.server.port}/admin"
    public = await start_peer({"/users/alice": redirect(inner_url)}, host="127.0.0.2")

    with pytest.raises(FetchError, match="redirects to another origin"):
        await fetch(public_policy(public_test=public), "http://public.test/users/alice")

    assert len(public.requests) == 1
    assert inner.requests == []


@pytest.mark.parametrize("inner_host", ["127.0.0.1", "inner.test"])
async def test_make_client_session__redirect_to_loopback_is_refused_when_aiohttp_follows(
    start_peer, make_session, inner_host
):
    # The guard sits in the connector, so it holds for every request of the node, even one
    # that lets aiohttp follow redirects: literal hosts (never resolved) and names alike.
    inner = await start_peer({"/admin": serve({"secret": True})})
    inner_url = f"http://{inner_host}:{inner.server.port}/admin"
    public = await start_peer({"/": redirect(inner_url)}, host="127.0.0.2")
    policy = AddressPolicy(
        resolve={"public.test": public.target, "inner.test": inner.target},
        trusted_networks=TRUST_127_0_0_2,
    )
    session = make_session(policy)

    with pytest.raises(AddressNotAllowed, match="127.0.0.1"):
        await session.get("http://public.test/")

    assert len(public.requests) == 1
    assert inner.requests == []


@pytest.mark.parametrize("url", ["http://127.0.0.1:{port}/", "http://[::ffff:127.0.0.1]:{port}/"])
async def test_make_client_session__ip_literal_is_refused(start_peer, make_session, url):
    inner = await start_peer({"/": serve({})})

    with pytest.raises(AddressNotAllowed, match="is an internal address"):
        await make_session(AddressPolicy()).get(url.format(port=inner.server.port))

    assert inner.requests == []


# --- Redirects --------------------------------------------------------------------------------


async def test_fetch_document__redirect_to_another_origin_is_refused(start_peer, fetch):
    north = await start_peer({"/users/alice": serve(actor("http://north.test/users/alice"))})
    south = await start_peer({"/users/alice": redirect("http://north.test/users/alice")})

    with pytest.raises(FetchError, match="refused: http://south.test/users/alice redirects"):
        await fetch(dev_policy(south_test=south, north_test=north), ALICE)

    assert north.requests == []


async def test_fetch_document__same_origin_redirect_is_followed_and_signed_again(
    start_peer, fetch, private_key
):
    south = await start_peer(
        {"/@alice": redirect("/users/alice", status=301), "/users/alice": serve(actor(ALICE))}
    )

    fetched = await fetch(dev_policy(south_test=south), "http://south.test/@alice")

    assert fetched.url == ALICE
    assert [seen.path for seen in south.requests] == ["/@alice", "/users/alice"]
    for seen in south.requests:
        assert_signed(seen, private_key, "south.test")


async def test_fetch_document__id_is_checked_against_the_final_url(start_peer, fetch):
    start = "http://south.test/@alice"
    south = await start_peer({"/@alice": redirect(ALICE), "/users/alice": serve(actor(start))})

    with pytest.raises(FetchError, match=f"refused: id {start} does not match {ALICE}"):
        await fetch(dev_policy(south_test=south), start)


async def test_fetch_document__too_many_redirects_are_refused(start_peer, fetch):
    hops = {f"/{n}": redirect(f"/{n + 1}") for n in range(5)}
    south = await start_peer(hops)

    with pytest.raises(FetchError, match="more than 3 redirects"):
        await fetch(dev_policy(south_test=south), "http://south.test/0")

    assert len(south.requests) == 4


async def test_fetch_document__redirect_to_another_scheme_is_refused(start_peer, fetch):
    south = await start_peer({"/users/alice": redirect("gopher://south.test/users/alice")})

    with pytest.raises(FetchError, match="is not an https or http URL"):
        await fetch(dev_policy(south_test=south), ALICE)


# --- What the peer answers --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("document", "message"),
    [
        (
            actor("http://evil.test/users/alice"),
            f"refused: id http://evil.test/users/alice does not match {ALICE}",
        ),
        (actor(ALICE + "#main-key"), "does not match"),
        ({"type": "Person"}, "has no id"),
        ({"id": ["http://south.test/users/alice"]}, "has no id"),
        ([actor(ALICE)], "JSON that is not an object"),
        ("just a string", "JSON that is not an object"),
        (b"{not json", "did not answer valid JSON"),
        (b"", "did not answer valid JSON"),
    ],
)
async def test_fetch_document__bad_document_is_refused(start_peer, fetch, document, message):
    south = await start_peer({"/users/alice": serve(document)})

    with pytest.raises(FetchError, match=message):
        await fetch(dev_policy(south_test=south), ALICE)


async def test_fetch_document__id_differing_only_in_host_case_is_accepted(start_peer, fetch):
    south = await start_peer({"/users/alice": serve(actor("HTTP://South.Test/users/alice"))})

    fetched = await fetch(dev_policy(south_test=south), ALICE)

    assert fetched.url == ALICE


@pytest.mark.parametrize(
    "content_type",
    ["text/html; charset=utf-8", "application/json", "text/plain", ""],
)
async def test_fetch_document__content_type_other_than_as2_is_refused(
    start_peer, fetch, content_type
):
    south = await start_peer({"/users/alice": serve(actor(ALICE), content_type=content_type)})
    shown = content_type.partition(";")[0] or "a missing content type"

    with pytest.raises(FetchError, match=f"refused: {shown} is not an ActivityPub document"):
        await fetch(dev_policy(south_test=south), ALICE)


async def test_fetch_document__oversize_with_content_length_is_refused(start_peer, fetch):
    document = actor(ALICE) | {"summary": "x" * 5000}
    south = await start_peer({"/users/alice": serve(document)})

    with pytest.raises(FetchError, match="is larger than 4096 bytes"):
        await fetch(dev_policy(south_test=south), ALICE, max_bytes=4096)


async def test_fetch_document__oversize_chunked_is_refused(start_peer, fetch):
    south = await start_peer({"/users/alice": chunked([b" " * 1000] * 10)})

    with pytest.raises(FetchError, match="is larger than 4096 bytes"):
        await fetch(dev_policy(south_test=south), ALICE, max_bytes=4096)


async def test_fetch_document__gzip_that_inflates_past_the_cap_is_refused(start_peer, fetch):
    # A decompression bomb: small on the wire, its Content-Length under the cap.
    bomb = gzip.compress(b"[" + b" " * 2_000_000 + b"]")

    async def handler(request: web.Request) -> web.Response:
        headers = {"Content-Type": "application/activity+json", "Content-Encoding": "gzip"}
        return web.Response(body=bomb, headers=headers)

    south = await start_peer({"/users/alice": handler})

    with pytest.raises(FetchError, match="is larger than 65536 bytes"):
        await fetch(dev_policy(south_test=south), ALICE, max_bytes=65536)


@pytest.mark.parametrize(
    ("status", "error", "message"),
    [
        (404, NotFound, "was not found"),
        (410, Gone, "is gone"),
        (500, FetchError, "answered 500"),
        (401, FetchError, "answered 401"),
        (302, FetchError, "answered 302"),  # a redirect without Location
    ],
)
async def test_fetch_document__error_status_is_raised_with_its_status(
    start_peer, fetch, status, error, message
):
    south = await start_peer({"/users/alice": serve({"error": "no"}, status=status)})

    with pytest.raises(error, match=message) as caught:
        await fetch(dev_policy(south_test=south), ALICE)

    assert caught.value.status == status
    if error is FetchError:
        assert not isinstance(caught.value, NotFound | Gone)


# --- URLs refused before any connection -------------------------------------------------------


async def test_fetch_document__http_is_refused_outside_dev_mode(start_peer, fetch):
    south = await start_peer({"/users/alice": serve(actor(ALICE))})

    with pytest.raises(FetchError, match="is not an https URL"):
        await fetch(dev_policy(south_test=south), ALICE, dev=False)

    assert south.requests == []


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("ftp://south.test/users/alice", "is not an https or http URL"),
        ("/users/alice", "is not an https or http URL"),
        ("http:///users/alice", "has no host"),
        ("http://bob:secret@south.test/users/alice", "carries a user name or password"),
        ("http://south.test/users/al ice", "is not a valid URL"),
        ("http://south.test/users/alicé", "is not a valid URL"),
        ("http://south.test:99999/users/alice", "is not a valid URL"),
    ],
)
async def test_fetch_document__bad_url_is_refused_without_a_request(
    start_peer, fetch, url, message
):
    south = await start_peer({"/users/alice": serve(actor(ALICE))})

    with pytest.raises(FetchError, match=message) as caught:
        await fetch(dev_policy(south_test=south), url)

    assert "secret" not in str(caught.value)
    assert south.requests == []


# --- Slow peers -------------------------------------------------------------------------------


async def test_fetch_document__peer_that_never_answers_times_out(start_peer, fetch):
    release = asyncio.Event()

    async def never(request: web.Request) -> web.Response:
        await asyncio.wait_for(release.wait(), timeout=5)
        return web.Response(status=204)

    south = await start_peer({"/users/alice": never})
    timeout = aiohttp.ClientTimeout(total=0.5)

    try:
        with pytest.raises(FetchError, match=f"timed out fetching {ALICE}"):
            await fetch(dev_policy(south_test=south), ALICE, client_timeout=timeout)
    finally:
        release.set()


# --- WebFinger (JRD) --------------------------------------------------------------------------

WEBFINGER = "/.well-known/webfinger"
JRD = {"subject": "acct:alice@south.test", "links": [
    {"rel": "self", "type": "application/activity+json", "href": ALICE}]}


async def test_fetch_jrd__reads_jrd_and_plain_json(start_peer, make_session):
    south = await start_peer({WEBFINGER: serve(JRD, content_type="application/jrd+json")})
    east = await start_peer({WEBFINGER: serve(JRD, content_type="application/json")})
    policy = dev_policy(south_test=south, east_test=east)
    session = make_session(policy)

    from_south = await fetch_jrd(session, policy, f"http://south.test{WEBFINGER}?x=1", dev=True)
    from_east = await fetch_jrd(session, policy, f"http://east.test{WEBFINGER}", dev=True)

    assert from_south == JRD == from_east
    assert south.requests[0].headers["Accept"].startswith("application/jrd+json")


async def test_fetch_jrd__html_answer_is_refused(start_peer, make_session):
    south = await start_peer({WEBFINGER: serve(b"<html></html>", content_type="text/html")})
    policy = dev_policy(south_test=south)

    with pytest.raises(FetchError, match="not a WebFinger answer"):
        await fetch_jrd(make_session(policy), policy, f"http://south.test{WEBFINGER}", dev=True)


async def test_fetch_jrd__oversized_answer_is_refused(start_peer, make_session):
    big = {"subject": "x" * 70_000}
    south = await start_peer({WEBFINGER: serve(big, content_type="application/jrd+json")})
    policy = dev_policy(south_test=south)

    with pytest.raises(FetchError, match="larger than"):
        await fetch_jrd(make_session(policy), policy, f"http://south.test{WEBFINGER}", dev=True)


async def test_fetch_jrd__loopback_is_refused_outside_dev_mode(start_peer, make_session):
    south = await start_peer({WEBFINGER: serve(JRD, content_type="application/jrd+json")})
    policy = AddressPolicy(resolve={"south.test": south.target})

    with pytest.raises(FetchError, match="internal"):
        await fetch_jrd(make_session(policy), policy, f"https://south.test{WEBFINGER}")
    assert south.requests == []
