"""What both HTTP signature schemes share (commonsfed.signatures signs and verifies; the
RFC 9421 half is commonsfed.signatures_rfc9421): the error, the parsed signature, the request
as both sign it, digests, dates and the small checks. Pure, no I/O."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime, parsedate_to_datetime
from typing import Any, Literal
from urllib.parse import urlsplit

import http_sf
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

# Mastodon's window: a clock may run an hour ahead, and a request may wait a few
# minutes in a queue on top of an hour behind.
MAX_FUTURE = timedelta(hours=1)
MAX_PAST = timedelta(hours=1, minutes=5)

DEFAULT_PORTS = {"http": 80, "https": 443}
HASHES: dict[str, Callable[[bytes], Any]] = {
    "sha-256": hashlib.sha256,
    "sha-512": hashlib.sha512,
}


class SignatureError(Exception):
    """The request's signature cannot be trusted; the message says why, for a 401 body."""


@dataclass(frozen=True)
class ParsedSignature:
    """A signature that passed every check but the cryptographic one; it proves nothing
    until `verify_signature` has accepted it with the key of `key_id`."""

    key_id: str
    scheme: Literal["cavage", "rfc9421"]
    algorithm: str | None
    covered: tuple[str, ...]
    signed_data: bytes  # the cavage signing string or the RFC 9421 signature base
    signature: bytes


@dataclass(frozen=True)
class Request:
    """What both schemes sign, from the sender's URL or the receiver's request line."""

    method: str  # upper case
    scheme: str
    host: str | None  # Host header value, or the authority standing in for it
    path_qs: str
    headers: Mapping[str, str]  # lower-case names

    def authority(self) -> str:
        # RFC 9421 section 2.2.3: lower case, without the scheme's default port.
        if not self.host:
            raise SignatureError("request has no Host header")
        return self.host.lower().removesuffix(f":{DEFAULT_PORTS.get(self.scheme)}")


def lower_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """Names folded to lower case; repeated fields joined with ", " as both specs say.

    Iterating items() (not keys) keeps every value of a CIMultiDict."""
    grouped: dict[str, list[str]] = {}
    for name, value in headers.items():
        grouped.setdefault(name.lower(), []).append(value.strip(" \t"))
    return {name: ", ".join(values) for name, values in grouped.items()}


def header_value(headers: Mapping[str, str], name: str) -> str:
    if name not in headers:
        raise SignatureError(f"signature covers {name}, which the request lacks")
    value = headers[name]
    # A line break would let one header forge further lines of the signed text.
    if "\n" in value or "\r" in value:
        raise SignatureError(f"{name} header contains a line break")
    return value


# --- Digests and dates ------------------------------------------------------------------


def digest_header(body: bytes) -> str:
    """The draft-cavage `Digest` value; Mastodon wants the name upper case."""
    return "SHA-256=" + b64(hashlib.sha256(body).digest())


def content_digest_header(body: bytes) -> str:
    """The RFC 9530 `Content-Digest` value, a Structured Field dictionary."""
    return http_sf.ser({"sha-256": hashlib.sha256(body).digest()})


def http_date(now: datetime | None = None) -> str:
    """IMF-fixdate (RFC 9110), the one Date format every peer parses."""
    return format_datetime(utc(now), usegmt=True)


def parse_http_date(value: str) -> datetime:
    try:
        return utc(parsedate_to_datetime(value))
    except (TypeError, ValueError, IndexError) as exc:
        raise SignatureError("Date header is not a valid HTTP date") from exc


def unix_time(seconds: int | str) -> datetime:
    try:
        return datetime.fromtimestamp(float(seconds), UTC)
    except (OverflowError, ValueError, OSError) as exc:
        raise SignatureError("signature time is out of range") from exc


def utc(moment: datetime | None) -> datetime:
    if moment is None:
        return datetime.now(UTC)
    # A naive datetime is read as UTC, the only zone HTTP dates use.
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


# --- Small helpers ----------------------------------------------------------------------


def rsa_sign(private_key: rsa.RSAPrivateKey, data: bytes) -> bytes:
    return private_key.sign(data, padding.PKCS1v15(), hashes.SHA256())


def require_covered(covered: tuple[str, ...], required: tuple[str, ...]) -> None:
    missing = [name for name in required if name not in covered]
    if missing:
        raise SignatureError(f"signature must cover {', '.join(missing)}")


def compare_digest(expected: bytes, name: str, body: bytes | None, header: str) -> None:
    if not hmac.compare_digest(expected, HASHES[name](body or b"").digest()):
        raise SignatureError(f"{header} does not match the body")


def check_fresh(moment: datetime, now: datetime, what: str) -> None:
    if moment - now > MAX_FUTURE:
        raise SignatureError(f"{what} is more than 1 hour in the future; check the clock")
    if now - moment > MAX_PAST:
        raise SignatureError(f"{what} is more than 1 hour 5 minutes old")


def split_url(url: str) -> tuple[str, str, str]:
    """(scheme, authority, path and query) of an absolute URL, as a client sends them."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    try:
        port = parts.port
    except ValueError as exc:
        raise SignatureError(f"cannot sign for {url!r}: bad port") from exc
    if scheme not in DEFAULT_PORTS or not parts.hostname:
        raise SignatureError(f"cannot sign for {url!r}: need an absolute http(s) URL")
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    authority = host if port in (None, DEFAULT_PORTS[scheme]) else f"{host}:{port}"
    path_qs = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return scheme, authority, path_qs


def ascii_bytes(text: str) -> bytes:
    try:
        return text.encode("ascii")
    except UnicodeEncodeError as exc:
        raise SignatureError("signed header values must be ASCII") from exc


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def b64decode(text: str, what: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise SignatureError(f"{what} is not valid base64") from exc
