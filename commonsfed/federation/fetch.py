"""Fetching remote ActivityStreams documents, signed as the instance actor.

Every document a peer points us to is hostile until checked: only http(s) URLs we accept,
redirects followed by hand and only within the origin, only AS2 content types, a size cap
read as a stream, a JSON object whose `id` is the URL it came from. The session must come
from `transport.make_client_session`, which refuses internal addresses at connect time.
"""

from __future__ import annotations

import codecs
import ipaddress
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin, urlsplit, urlunsplit

import aiohttp
import orjson
from cryptography.hazmat.primitives.asymmetric import rsa
from yarl import URL

from commonsfed.federation.transport import AddressNotAllowed, AddressPolicy, TransportError
from commonsfed.signatures import sign_cavage

ACCEPT = 'application/activity+json, application/ld+json; profile="https://www.w3.org/ns/activitystreams"'
# application/json is refused: Mastodon, GoToSocial, Misskey, Pleroma and Lemmy all answer
# an AS2 Accept with one of these, and a plain-JSON answer is more often an API or an
# error page than an ActivityPub document.
AS2_CONTENT_TYPES = frozenset({"application/activity+json", "application/ld+json"})
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
_CHUNK = 64 * 1024


class FetchError(TransportError):
    """The document could not be fetched, or was refused; the message says which and why."""


class NotFound(FetchError):
    """404: the document is not there (perhaps not yet)."""


class Gone(FetchError):
    """410: the document was deleted; a Mastodon actor answers this after its account is."""


@dataclass(frozen=True)
class FetchedDocument:
    url: str  # the final URL, after redirects, without fragment
    document: dict[str, Any]
    status: int
    fragment: str = ""  # of the requested URL ("main-key"), for the caller to look up


@dataclass(frozen=True)
class _Hop:
    status: int
    location: str | None = None
    document: dict[str, Any] | None = None


async def fetch_document(
    session: aiohttp.ClientSession,
    policy: AddressPolicy,
    url: str,
    *,
    key_id: str,
    private_key: rsa.RSAPrivateKey,
    max_bytes: int = 1_048_576,
    max_redirects: int = 3,
    dev: bool = False,
) -> FetchedDocument:
    """GET an AS2 document, signed with `key_id` (the instance actor's key).

    A fragment (`…/users/a#main-key`) is not sent: the document at the URL without it is
    fetched and checked, and the fragment comes back in `FetchedDocument.fragment`.
    """
    target, fragment = _start_url(url, dev)
    _check_literal_host(policy, target)
    for _ in range(max_redirects + 1):
        hop = await _get_once(session, target, key_id, private_key, max_bytes)
        if hop.location is None:
            assert hop.document is not None
            _check_id(hop.document, target)
            return FetchedDocument(target, hop.document, hop.status, fragment)
        target = _redirect_target(target, hop.location, dev)
    raise FetchError(f"refused: more than {max_redirects} redirects from {url}")


# --- URLs -----------------------------------------------------------------------------------


def _start_url(url: str, dev: bool) -> tuple[str, str]:
    """The URL to fetch, canonical and without fragment, and the fragment."""
    # Only printable ASCII: what we sign must be byte for byte what aiohttp sends.
    if not url.isascii() or any(ch.isspace() or not ch.isprintable() for ch in url):
        raise FetchError(f"refused: {url!r} is not a valid URL")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises on a port out of range
    except ValueError:
        raise FetchError(f"refused: {url} is not a valid URL") from None
    _check_scheme(parts.scheme.lower(), url, dev)
    if not parts.hostname:
        raise FetchError(f"refused: {url} has no host")
    if parts.username is not None or parts.password is not None:
        # not repeated in the message: it would leak the password into logs
        raise FetchError(f"refused: a URL on {parts.hostname} carries a user name or password")
    return _canonical(url), parts.fragment


def _check_scheme(scheme: str, url: str, dev: bool) -> None:
    allowed = ("https", "http") if dev else ("https",)
    if scheme not in allowed:
        raise FetchError(f"refused: {url} is not an {' or '.join(allowed)} URL")


def _canonical(url: str) -> str:
    """Lower-case scheme and host, no fragment; the path and query exactly as given."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme.lower(), parts.netloc.lower(), parts.path, parts.query, ""))


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    default = {"http": 80, "https": 443}.get(parts.scheme)
    return parts.scheme, parts.hostname or "", parts.port or default


def _redirect_target(current: str, location: str, dev: bool) -> str:
    """Where a redirect leads: only within the origin, so a peer cannot bounce the
    instance actor's signed request to a host of its choosing."""
    target, _fragment = _start_url(urljoin(current, location.strip()), dev)
    if _origin(target) != _origin(current):
        raise FetchError(f"refused: {current} redirects to another origin ({target})")
    return target


def _check_literal_host(policy: AddressPolicy, url: str) -> None:
    """Refuse an internal IP-literal host before signing anything. The session's socket
    factory refuses it too; this gives the clear message even with another session."""
    try:
        literal = ipaddress.ip_address(urlsplit(url).hostname or "")
    except ValueError:
        return  # a host name: judged by the session's resolver
    try:
        policy.check(literal)
    except AddressNotAllowed as exc:
        raise FetchError(exc.message) from exc


# --- One request ----------------------------------------------------------------------------


def _signed_headers(url: str, key_id: str, private_key: rsa.RSAPrivateKey) -> dict[str, str]:
    # Misskey answers an unsigned fetch with a stripped actor, and servers in secure mode
    # (Mastodon's AUTHORIZED_FETCH) refuse it, so every GET is signed.
    headers = {"Accept": ACCEPT}
    return headers | sign_cavage("GET", url, headers, None, key_id, private_key)


async def _get_once(
    session: aiohttp.ClientSession,
    url: str,
    key_id: str,
    private_key: rsa.RSAPrivateKey,
    max_bytes: int,
) -> _Hop:
    headers = _signed_headers(url, key_id, private_key)
    try:
        request = session.get(URL(url, encoded=True), headers=headers, allow_redirects=False)
        async with request as response:
            return await _read_hop(response, url, max_bytes)
    except AddressNotAllowed as exc:
        raise FetchError(exc.message) from exc
    except TimeoutError as exc:  # aiohttp's timeouts are TimeoutErrors too
        raise FetchError(f"timed out fetching {url}") from exc
    except aiohttp.ClientError as exc:
        raise FetchError(f"could not fetch {url}: {exc or type(exc).__name__}") from exc


async def _read_hop(response: aiohttp.ClientResponse, url: str, max_bytes: int) -> _Hop:
    location = response.headers.get("Location")
    if response.status in REDIRECT_STATUSES and location:
        return _Hop(response.status, location=location)
    _check_status(response.status, url)
    _check_content_type(response.headers.get("Content-Type", ""))
    body = await _read_capped(response, url, max_bytes)
    return _Hop(response.status, document=_parse_object(body, url))


def _check_status(status: int, url: str) -> None:
    if status == 404:
        raise NotFound(f"{url} was not found (404)", status=status)
    if status == 410:
        raise Gone(f"{url} is gone (410)", status=status)
    if not 200 <= status < 300:
        raise FetchError(f"{url} answered {status}", status=status)


def _check_content_type(value: str) -> None:
    mime = value.partition(";")[0].strip().lower()
    if mime not in AS2_CONTENT_TYPES:
        shown = mime or "a missing content type"
        raise FetchError(f"refused: {shown} is not an ActivityPub document")


async def _read_capped(response: aiohttp.ClientResponse, url: str, max_bytes: int) -> bytes:
    """The body, or FetchError as soon as it passes `max_bytes` (announced or streamed)."""
    too_big = f"refused: {url} is larger than {max_bytes} bytes"
    if response.content_length is not None and response.content_length > max_bytes:
        raise FetchError(too_big)
    body = bytearray()
    async for chunk in response.content.iter_chunked(_CHUNK):
        body += chunk
        if len(body) > max_bytes:
            raise FetchError(too_big)
    return bytes(body)


def _parse_object(body: bytes, url: str) -> dict[str, Any]:
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise FetchError(f"refused: {url} did not answer valid JSON") from exc
    if not isinstance(document, dict):
        raise FetchError(f"refused: {url} answered JSON that is not an object")
    return document


def _check_id(document: dict[str, Any], url: str) -> None:
    """The document must say it is what we asked for, else any server could answer for
    any id by redirecting to, or serving, a document it made up."""
    claimed = document.get("id")
    if not isinstance(claimed, str) or not claimed:
        raise FetchError(f"refused: the document at {url} has no id")
    if "#" in claimed or _canonical_or_none(claimed) != url:
        raise FetchError(f"refused: id {claimed} does not match {url}")


def _canonical_or_none(url: str) -> str | None:
    try:
        return _canonical(url)
    except ValueError:  # urlsplit refuses e.g. an unclosed "[" in the host
        return None


# --- WebFinger ------------------------------------------------------------------------------

# JRD is often served as plain JSON (GoToSocial, older Pleroma); it is not an AS2 document,
# and nothing in it is trusted beyond the actor URL it points to, which is then fetched.
JRD_CONTENT_TYPES = frozenset({"application/jrd+json", "application/json"})
JRD_MAX_BYTES = 64 * 1024


async def fetch_jrd(
    session: aiohttp.ClientSession, policy: AddressPolicy, url: str, *, dev: bool = False
) -> dict[str, Any]:
    """GET a WebFinger (JRD) document; redirects may leave the origin (split-domain setups),
    but every hop still goes through the session's address guard."""
    target, _ = _start_url(url, dev)
    _check_literal_host(policy, target)
    headers = {"Accept": "application/jrd+json, application/json"}
    try:
        request = session.get(URL(target, encoded=True), headers=headers, max_redirects=3)
        async with request as response:
            _check_status(response.status, target)
            mime = response.headers.get("Content-Type", "").partition(";")[0].strip().lower()
            if mime not in JRD_CONTENT_TYPES:
                raise FetchError(f"refused: {mime or 'no content type'} is not a WebFinger answer")
            return _parse_object(await _read_capped(response, target, JRD_MAX_BYTES), target)
    except AddressNotAllowed as exc:
        raise FetchError(exc.message) from exc
    except TimeoutError as exc:
        raise FetchError(f"timed out fetching {target}") from exc
    except aiohttp.ClientError as exc:
        raise FetchError(f"could not fetch {target}: {exc or type(exc).__name__}") from exc


# --- Web pages ------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Unsigned:
    """What an unsigned GET of a public file takes: its content types, how long to wait,
    and what to call a refused one ("a web page", "an image")."""

    types: frozenset[str]
    timeout: aiohttp.ClientTimeout
    what: str


HTML_CONTENT_TYPES = frozenset({"text/html", "application/xhtml+xml"})
PAGE_MAX_BYTES = 1_048_576  # Mastodon reads at most 1 MB of a linked page for rel="me"
# a person waits for this (their profile is saved when the links are checked)
PAGE_TIMEOUT = aiohttp.ClientTimeout(total=5, connect=3, sock_read=3)
_PAGE = _Unsigned(HTML_CONTENT_TYPES, PAGE_TIMEOUT, "a web page")


async def fetch_html(
    session: aiohttp.ClientSession,
    policy: AddressPolicy,
    url: str,
    *,
    dev: bool = False,
    max_bytes: int = PAGE_MAX_BYTES,
    max_redirects: int = 3,
) -> str:
    """GET a web page, unsigned (a resident's link, not a peer): HTML only, size-capped,
    quick to give up. Redirects may lead to another origin (http to https, a bare domain to
    www), but each hop is checked as the first: https only outside dev mode, no internal
    address (the session's guard refuses those at connect time too)."""
    body, charset = await _fetch_unsigned(
        session, policy, url, _PAGE, max_bytes=max_bytes, dev=dev, max_redirects=max_redirects
    )
    return body.decode(_charset(charset), errors="replace")


def _charset(declared: str | None) -> str:
    try:
        return codecs.lookup(declared or "utf-8").name
    except LookupError:  # a charset Python does not know: read what it can as UTF-8
        return "utf-8"


# --- Images ---------------------------------------------------------------------------------

# what Mastodon and GoToSocial send as a listing's photo; anything else is not fetched
IMAGE_CONTENT_TYPES = frozenset({"image/jpeg", "image/png", "image/webp", "image/gif"})
IMAGE_TIMEOUT = aiohttp.ClientTimeout(total=8, connect=3, sock_read=5)
_IMAGE = _Unsigned(IMAGE_CONTENT_TYPES, IMAGE_TIMEOUT, "an image")


async def fetch_image(
    session: aiohttp.ClientSession,
    policy: AddressPolicy,
    url: str,
    *,
    max_bytes: int,
    dev: bool = False,
    max_redirects: int = 3,
) -> bytes:
    """GET an image, unsigned (media are public files; Mastodon serves them from a CDN that
    knows no signatures): image types only, size-capped, each redirect hop checked as the
    first (https outside dev mode, no internal address). The caller checks the bytes."""
    body, _ = await _fetch_unsigned(
        session, policy, url, _IMAGE, max_bytes=max_bytes, dev=dev, max_redirects=max_redirects
    )
    return body


# --- an unsigned GET, hop by hop ---------------------------------------------------------


async def _fetch_unsigned(
    session: aiohttp.ClientSession,
    policy: AddressPolicy,
    url: str,
    kind: _Unsigned,
    *,
    max_bytes: int,
    dev: bool,
    max_redirects: int,
) -> tuple[bytes, str | None]:
    """(the body, its declared charset), following redirects one checked hop at a time."""
    target, _ = _start_url(url, dev)
    for _ in range(max_redirects + 1):
        _check_literal_host(policy, target)
        hop = await _get_unsigned(session, target, kind, max_bytes)
        if isinstance(hop, tuple):
            return hop
        target, _ = _start_url(urljoin(target, hop.location or ""), dev)
    raise FetchError(f"refused: more than {max_redirects} redirects from {url}")


async def _get_unsigned(
    session: aiohttp.ClientSession, url: str, kind: _Unsigned, max_bytes: int
) -> tuple[bytes, str | None] | _Hop:
    headers = {"Accept": ", ".join(sorted(kind.types))}
    try:
        request = session.get(
            URL(url, encoded=True), headers=headers, allow_redirects=False, timeout=kind.timeout
        )
        async with request as response:
            location = response.headers.get("Location")
            if response.status in REDIRECT_STATUSES and location:
                return _Hop(response.status, location=location.strip())
            _check_status(response.status, url)
            mime = response.headers.get("Content-Type", "").partition(";")[0].strip().lower()
            if mime not in kind.types:
                raise FetchError(f"refused: {mime or 'no content type'} is not {kind.what}")
            return await _read_capped(response, url, max_bytes), response.charset
    except AddressNotAllowed as exc:
        raise FetchError(exc.message) from exc
    except TimeoutError as exc:
        raise FetchError(f"timed out fetching {url}") from exc
    except aiohttp.ClientError as exc:
        raise FetchError(f"could not fetch {url}: {exc or type(exc).__name__}") from exc
