"""HTTP signatures: draft-cavage (what the fediverse sends today) and RFC 9421.

Pure functions over method, URL or path, headers and body: no I/O, no web framework.
Verification runs in two phases so the caller can fetch the signer's key in between:
`parse_signature` does every check that needs no key and returns a `ParsedSignature`;
`verify_signature` then checks the RSA signature with the key found for `key_id`.
Every refusal is a `SignatureError` whose message is short enough for a 401 body.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime, parsedate_to_datetime
from typing import Any, Literal
from urllib.parse import urlsplit

import http_sf
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from http_sf.innerlist import ser_innerlist

# Mastodon's window: a clock may run an hour ahead, and a request may wait a few
# minutes in a queue on top of an hour behind.
MAX_FUTURE = timedelta(hours=1)
MAX_PAST = timedelta(hours=1, minutes=5)

# hs2019 means "the algorithm the key implies"; for the RSA keys ActivityPub uses,
# Mastodon treats it as rsa-sha256 (PKCS#1 v1.5), so we do the same.
CAVAGE_ALGORITHMS = frozenset({"rsa-sha256", "hs2019"})
RFC9421_ALGORITHM = "rsa-v1_5-sha256"
RFC9421_LABEL = "sig1"

_CAVAGE_REQUIRED = ("(request-target)", "host", "date")
_PSEUDO_TIMES = frozenset({"(created)", "(expires)"})
_DEFAULT_PORTS = {"http": 80, "https": 443}
_HASHES: dict[str, Callable[[bytes], Any]] = {
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


# --- Keys ------------------------------------------------------------------------------


def generate_private_key() -> rsa.RSAPrivateKey:
    """A new RSA-2048 key, the size every fediverse server accepts."""
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def private_key_to_pem(key: rsa.RSAPrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode("ascii")


def private_key_from_pem(pem: str) -> rsa.RSAPrivateKey:
    """A private key the node made itself and kept in its database. cryptography's check of
    an RSA key's numbers costs tens of milliseconds a load; it guards against keys from
    elsewhere, and these never are, so it is skipped (as the library's docs allow)."""
    try:
        key = serialization.load_pem_private_key(
            pem.strip().encode("ascii"), password=None, unsafe_skip_rsa_key_validation=True
        )
    except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
        raise SignatureError("private key is not a readable, unencrypted PEM") from exc
    if not isinstance(key, rsa.RSAPrivateKey):
        raise SignatureError("private key is not an RSA key")
    return key


def public_key_to_pem(key: rsa.RSAPrivateKey | rsa.RSAPublicKey) -> str:
    """SubjectPublicKeyInfo PEM ("BEGIN PUBLIC KEY"), the form actors publish."""
    public = key.public_key() if isinstance(key, rsa.RSAPrivateKey) else key
    return public.public_bytes(
        serialization.Encoding.PEM,
        serialization.PublicFormat.SubjectPublicKeyInfo,
    ).decode("ascii")


def public_key_from_pem(pem: str) -> rsa.RSAPublicKey:
    """Read an actor's publicKeyPem; PKCS#1 ("BEGIN RSA PUBLIC KEY") is read as well,
    because some older servers publish their keys in that form."""
    try:
        key = serialization.load_pem_public_key(pem.strip().encode("ascii"))
    except (ValueError, UnsupportedAlgorithm) as exc:
        raise SignatureError("public key is not a readable PEM") from exc
    if not isinstance(key, rsa.RSAPublicKey):
        raise SignatureError("public key is not an RSA key")
    return key


def key_fingerprint(key: rsa.RSAPublicKey) -> str:
    """SHA-256 of the DER public key, base64 without padding (as ssh-keygen -l shows keys)."""
    der = key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return base64.b64encode(hashlib.sha256(der).digest()).decode("ascii").rstrip("=")


# --- Digests and dates ------------------------------------------------------------------


def digest_header(body: bytes) -> str:
    """The draft-cavage `Digest` value; Mastodon wants the name upper case."""
    return "SHA-256=" + _b64(hashlib.sha256(body).digest())


def content_digest_header(body: bytes) -> str:
    """The RFC 9530 `Content-Digest` value, a Structured Field dictionary."""
    return http_sf.ser({"sha-256": hashlib.sha256(body).digest()})


def http_date(now: datetime | None = None) -> str:
    """IMF-fixdate (RFC 9110), the one Date format every peer parses."""
    return format_datetime(_utc(now), usegmt=True)


# --- Signing ------------------------------------------------------------------------------


def sign_cavage(
    method: str,
    url: str,
    headers: Mapping[str, str],
    body: bytes | None,
    key_id: str,
    private_key: rsa.RSAPrivateKey,
    now: datetime | None = None,
) -> dict[str, str]:
    """Sign like Mastodon does; return the headers to add (Host, Date, Digest, Signature)."""
    scheme, authority, path_qs = _split_url(url)
    present = _lower_headers(headers)
    added = _missing_headers(present, {"Host": authority, "Date": http_date(now)})
    if body is not None:
        added |= _cavage_digest(present, body)
    merged = present | _lower_headers(added)
    covered = _cavage_covered_for(merged, has_body=body is not None)
    request = _Request(method.upper(), scheme, merged["host"], path_qs, merged)
    signature = _rsa_sign(private_key, _cavage_signing_string(covered, request, {}))
    added["Signature"] = _cavage_signature_field(key_id, covered, signature)
    return added


def sign_rfc9421(
    method: str,
    url: str,
    headers: Mapping[str, str],
    body: bytes | None,
    key_id: str,
    private_key: rsa.RSAPrivateKey,
    now: datetime | None = None,
) -> dict[str, str]:
    """Sign as Mastodon 4.7+ does; return the headers to add (Content-Digest, Signature-*)."""
    scheme, authority, path_qs = _split_url(url)
    present = _lower_headers(headers)
    added = _rfc9421_digest(present, body) if body is not None else {}
    covered = ("@method", "@target-uri") + (("content-digest",) if body is not None else ())
    params = {"created": int(_utc(now).timestamp()), "keyid": key_id, "alg": RFC9421_ALGORITHM}
    inner: _SfInnerList = ([(name, {}) for name in covered], params)
    request = _Request(method.upper(), scheme, authority, path_qs, present | _lower_headers(added))
    signature = _rsa_sign(private_key, _signature_base(inner, request))
    added["Signature-Input"] = _sf_serialise({RFC9421_LABEL: inner})
    added["Signature"] = http_sf.ser({RFC9421_LABEL: signature})
    return added


def _cavage_covered_for(headers: Mapping[str, str], has_body: bool) -> tuple[str, ...]:
    # Mastodon's choice: a POST signs its digest and content type, a GET its Accept.
    if has_body:
        return (
            _CAVAGE_REQUIRED
            + ("digest",)
            + (("content-type",) if "content-type" in headers else ())
        )
    return _CAVAGE_REQUIRED + (("accept",) if "accept" in headers else ())


def _cavage_signature_field(key_id: str, covered: tuple[str, ...], signature: bytes) -> str:
    # Refuse rather than escape: many peers split this header without unescaping.
    if not key_id or re.search(r'["\\\x00-\x1f\x7f]', key_id):
        raise SignatureError("keyId must be non-empty, without quotes or control characters")
    return (
        f'keyId="{key_id}",algorithm="rsa-sha256",'
        f'headers="{" ".join(covered)}",signature="{_b64(signature)}"'
    )


def _cavage_digest(present: Mapping[str, str], body: bytes) -> dict[str, str]:
    """The Digest to add, or none when the caller set one (which must then match)."""
    if "digest" in present:
        _check_digest(present["digest"], body)
        return {}
    return {"Digest": digest_header(body)}


def _rfc9421_digest(present: Mapping[str, str], body: bytes) -> dict[str, str]:
    if "content-digest" in present:
        _check_content_digest(present["content-digest"], body)
        return {}
    return {"Content-Digest": content_digest_header(body)}


def _missing_headers(present: Mapping[str, str], wanted: dict[str, str]) -> dict[str, str]:
    return {name: value for name, value in wanted.items() if name.lower() not in present}


def _rsa_sign(private_key: rsa.RSAPrivateKey, data: bytes) -> bytes:
    return private_key.sign(data, padding.PKCS1v15(), hashes.SHA256())


# --- Verifying ----------------------------------------------------------------------------


def parse_signature(
    method: str,
    path_qs: str,
    headers: Mapping[str, str],
    body: bytes | None,
    *,
    scheme: str = "https",
    authority: str | None = None,
    for_authority: str | None = None,
    now: datetime | None = None,
) -> ParsedSignature:
    """Check everything that needs no key; raise SignatureError on the first problem.

    `path_qs` is the request target exactly as sent (aiohttp: `request.raw_path`, not
    `path_qs`, which re-encodes and so would break the signed text).
    `body` is the raw body; None and b"" both mean none, any other body must be covered
    by a digest that matches it.
    `scheme` is the one the client used (https behind a TLS-terminating proxy).
    `authority` is this server's public host[:port]; when given it stands in for the
    Host header, for a reverse proxy that rewrites Host.
    `for_authority` is this server's public host[:port] too: a request signed for any
    other host is refused, so a request one server received cannot be replayed to another
    (a proxy may well pass an unknown Host through).
    Then look up the key for `key_id` and call `verify_signature`.
    """
    request = _incoming_request(method, path_qs, headers, scheme, authority)
    if "signature-input" in request.headers:
        parsed = _parse_rfc9421(request, body, _utc(now))
    else:
        parsed = _parse_cavage(request, body, _utc(now))
    if for_authority is not None:
        _check_authority(request, for_authority)
    return parsed


def verify_signature(parsed: ParsedSignature, public_key: rsa.RSAPublicKey) -> None:
    if not isinstance(public_key, rsa.RSAPublicKey):
        raise SignatureError("the signer's key is not an RSA public key")
    try:
        public_key.verify(parsed.signature, parsed.signed_data, padding.PKCS1v15(), hashes.SHA256())
    except InvalidSignature as exc:
        raise SignatureError("signature does not verify") from exc


def verify_request(
    method: str,
    path_qs: str,
    headers: Mapping[str, str],
    body: bytes | None,
    public_key: rsa.RSAPublicKey,
    *,
    scheme: str = "https",
    authority: str | None = None,
    for_authority: str | None = None,
    now: datetime | None = None,
) -> ParsedSignature:
    """Parse and verify with a key already in hand; returns what was verified."""
    parsed = parse_signature(
        method,
        path_qs,
        headers,
        body,
        scheme=scheme,
        authority=authority,
        for_authority=for_authority,
        now=now,
    )
    verify_signature(parsed, public_key)
    return parsed


@dataclass(frozen=True)
class _Request:
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
        return self.host.lower().removesuffix(f":{_DEFAULT_PORTS.get(self.scheme)}")


def _check_authority(request: _Request, expected: str) -> None:
    wanted = replace(request, host=expected).authority()
    if request.authority() != wanted:
        raise SignatureError(f"the request is for {request.authority()}, not for {wanted}")


def _incoming_request(
    method: str, path_qs: str, headers: Mapping[str, str], scheme: str, authority: str | None
) -> _Request:
    if not path_qs.startswith("/"):
        raise SignatureError("request target must be a path")
    lowered = _lower_headers(headers)
    if authority is not None:
        lowered["host"] = authority
    return _Request(method.upper(), scheme.lower(), lowered.get("host"), path_qs, lowered)


def _lower_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """Names folded to lower case; repeated fields joined with ", " as both specs say.

    Iterating items() (not keys) keeps every value of a CIMultiDict."""
    grouped: dict[str, list[str]] = {}
    for name, value in headers.items():
        grouped.setdefault(name.lower(), []).append(value.strip(" \t"))
    return {name: ", ".join(values) for name, values in grouped.items()}


def _header_value(headers: Mapping[str, str], name: str) -> str:
    if name not in headers:
        raise SignatureError(f"signature covers {name}, which the request lacks")
    value = headers[name]
    # A line break would let one header forge further lines of the signed text.
    if "\n" in value or "\r" in value:
        raise SignatureError(f"{name} header contains a line break")
    return value


# --- draft-cavage -------------------------------------------------------------------------

# One `name="value"` (or RFC 7235 `name=token`) parameter and its separating comma.
# The quoted string is written as runs of plain characters between escapes ("unrolled"):
# the same strings as `(?:[^"\\]|\\.)*`, without a step of the regex engine per character
# of a 344-character signature.
_CAVAGE_PARAM = re.compile(
    r"[ \t]*([A-Za-z][A-Za-z0-9_-]*)[ \t]*=[ \t]*"
    r'(?:"([^"\\]*(?:\\.[^"\\]*)*)"|([!#$%&\'*+.^_`|~0-9A-Za-z-]+))'
    r"[ \t]*(?:,|\Z)"
)
_ESCAPED = re.compile(r"\\(.)")


def _parse_cavage(request: _Request, body: bytes | None, now: datetime) -> ParsedSignature:
    params = _parse_cavage_params(_cavage_field(request.headers))
    algorithm = _cavage_algorithm(params)
    covered = tuple(params.get("headers", "(created)").lower().split())
    _require_covered(covered, _CAVAGE_REQUIRED + (("digest",) if body else ()))
    signing_string = _cavage_signing_string(covered, request, params)
    _check_cavage_times(covered, params, request.headers["date"], algorithm, now)
    if "digest" in covered:
        _check_digest(request.headers["digest"], body)
    signature = _b64decode(params["signature"], "signature")
    return ParsedSignature(params["keyid"], "cavage", algorithm, covered, signing_string, signature)


def _cavage_field(headers: Mapping[str, str]) -> str:
    if "signature" in headers:
        return headers["signature"]
    # The original draft put the parameters in `Authorization: Signature ...`.
    auth_scheme, _, rest = headers.get("authorization", "").partition(" ")
    if auth_scheme.lower() == "signature":
        return rest
    raise SignatureError("request is not signed")


def _parse_cavage_params(value: str) -> dict[str, str]:
    params: dict[str, str] = {}
    position = 0
    while position < len(value.rstrip(" \t")):
        match = _CAVAGE_PARAM.match(value, position)
        if match is None:
            raise SignatureError("Signature header is malformed")
        name = match[1].lower()
        if name in params:
            raise SignatureError(f"Signature header repeats {name}")
        quoted = match[2]
        if quoted is None:
            params[name] = match[3]
        else:  # most values have no escape, so skip the substitution for them
            params[name] = _ESCAPED.sub(r"\1", quoted) if "\\" in quoted else quoted
        position = match.end()
    for needed, label in (("keyid", "keyId"), ("signature", "signature")):
        if not params.get(needed):
            raise SignatureError(f"Signature header has no {label}")
    return params


def _cavage_algorithm(params: Mapping[str, str]) -> str | None:
    algorithm = params.get("algorithm")
    if algorithm is None:
        return None
    if algorithm.lower() not in CAVAGE_ALGORITHMS:
        raise SignatureError(f"algorithm {algorithm} is not accepted; use rsa-sha256 or hs2019")
    return algorithm.lower()


def _cavage_signing_string(
    covered: tuple[str, ...], request: _Request, params: Mapping[str, str]
) -> bytes:
    lines = (f"{name}: {_cavage_value(name, request, params)}" for name in covered)
    return _ascii("\n".join(lines))


def _cavage_value(name: str, request: _Request, params: Mapping[str, str]) -> str:
    if name == "(request-target)":
        return f"{request.method.lower()} {request.path_qs}"
    if name in _PSEUDO_TIMES:
        return _cavage_param(params, name.strip("()"))
    if name.startswith("("):
        raise SignatureError(f"unknown pseudo-header {name}")
    return _header_value(request.headers, name)


def _check_cavage_times(
    covered: tuple[str, ...],
    params: Mapping[str, str],
    date: str,
    algorithm: str | None,
    now: datetime,
) -> None:
    _check_fresh(_parse_http_date(date), now, "Date")
    # draft-cavage 12 section 2.3, as Mastodon enforces: (created) and (expires) come
    # only with hs2019, because rsa-sha256 signers predate them.
    if _PSEUDO_TIMES.intersection(covered) and algorithm not in (None, "hs2019"):
        raise SignatureError("(created) and (expires) need algorithm hs2019")
    if "(created)" in covered:
        _check_fresh(_unix_time(_cavage_param(params, "created")), now, "created")
    if "(expires)" in covered and _unix_time(_cavage_param(params, "expires")) < now:
        raise SignatureError("signature has expired")


def _cavage_param(params: Mapping[str, str], name: str) -> str:
    value = params.get(name, "")
    if not re.fullmatch(r"[0-9]{1,15}(\.[0-9]{1,9})?", value):
        raise SignatureError(f"signature covers ({name}) but has no valid {name} parameter")
    return value


def _check_digest(value: str, body: bytes | None) -> None:
    digests = _parse_digest(value)
    if "sha-256" not in digests:
        raise SignatureError("Digest header has no SHA-256 digest")
    for name, encoded in digests.items():
        if name in _HASHES:
            _compare_digest(_b64decode(encoded, "Digest"), name, body, "Digest")


def _parse_digest(value: str) -> dict[str, str]:
    """`SHA-256=abc, SHA-512=def` by lower-case algorithm name (peers differ in case)."""
    digests: dict[str, str] = {}
    for part in value.split(","):
        name, sep, encoded = part.strip().partition("=")
        if not sep or not name:
            raise SignatureError("Digest header is malformed")
        digests[name.lower()] = encoded
    return digests


# --- RFC 9421 ----------------------------------------------------------------------------


def _parse_rfc9421(request: _Request, body: bytes | None, now: datetime) -> ParsedSignature:
    label, inner = _first_signature_input(request.headers["signature-input"])
    signature = _signature_member(request.headers.get("signature"), label)
    key_id, algorithm = _check_rfc9421_params(inner[1], now)
    covered = _component_names(inner)
    _require_rfc9421_coverage(covered, request, body)
    base = _signature_base(inner, request)
    if "content-digest" in covered:
        _check_content_digest(request.headers["content-digest"], body)
    return ParsedSignature(key_id, "rfc9421", algorithm, covered, base, signature)


def _first_signature_input(value: str) -> tuple[str, _SfInnerList]:
    # Peers send one signature (Mastodon labels it sig1). With several, the first is
    # judged, and it must meet every requirement on its own.
    members = _sf_dictionary(value, "Signature-Input")
    if not members:
        raise SignatureError("Signature-Input header is empty")
    label, inner = next(iter(members.items()))
    if not isinstance(inner[0], list):
        raise SignatureError("Signature-Input header is malformed (expected a list)")
    return label, inner


def _signature_member(value: str | None, label: str) -> bytes:
    if value is None:
        raise SignatureError("Signature-Input comes without a Signature header")
    signature, _params = _sf_dictionary(value, "Signature").get(label, (None, {}))
    if not isinstance(signature, bytes) or not signature:
        raise SignatureError(f"Signature header has no signature labelled {label}")
    return signature


def _check_rfc9421_params(params: Mapping[str, Any], now: datetime) -> tuple[str, str | None]:
    algorithm = _sf_string_param(params, "alg")
    if algorithm is not None and algorithm != RFC9421_ALGORITHM:
        raise SignatureError(f"algorithm {algorithm} is not accepted; use {RFC9421_ALGORITHM}")
    key_id = _sf_string_param(params, "keyid")
    if not key_id:
        raise SignatureError("Signature-Input has no keyid")
    created = params.get("created")
    if type(created) is not int:
        raise SignatureError("Signature-Input has no created time")
    _check_fresh(_unix_time(created), now, "created")
    expires = params.get("expires")
    if expires is not None and (type(expires) is not int or _unix_time(expires) < now):
        raise SignatureError("signature has expired")
    return key_id, algorithm


def _sf_string_param(params: Mapping[str, Any], name: str) -> str | None:
    # An http_sf Token is not a str, so `alg=rsa` is told apart from `alg="rsa"`.
    value = params.get(name)
    if value is not None and not isinstance(value, str):
        raise SignatureError(f"Signature-Input parameter {name} must be a string")
    return value


def _component_names(inner: _SfInnerList) -> tuple[str, ...]:
    names: list[str] = []
    for name, params in inner[0]:
        # Parameters (;sf, ;key, ;req ...) are refused: no peer needs them for a request.
        if not isinstance(name, str) or params:
            raise SignatureError("covered components must be plain strings")
        if name != name.lower() or name in names:
            raise SignatureError(f"covered component {name} is not lower case or repeated")
        names.append(name)
    return tuple(names)


def _require_rfc9421_coverage(
    covered: tuple[str, ...], request: _Request, body: bytes | None
) -> None:
    _require_covered(covered, ("@method",) + (("content-digest",) if body else ()))
    if "@target-uri" in covered:
        return
    if not {"@path", "@authority"}.issubset(covered):
        raise SignatureError("signature must cover @target-uri, or @path and @authority")
    # Without @target-uri the query would travel unsigned, so it must be covered itself.
    if "?" in request.path_qs and "@query" not in covered:
        raise SignatureError("signature must cover @query when the target has a query")


def _check_content_digest(value: str, body: bytes | None) -> None:
    members = _sf_dictionary(value, "Content-Digest")
    if "sha-256" not in members:
        raise SignatureError("Content-Digest header has no sha-256 digest")
    for name, (digest, _params) in members.items():
        if name not in _HASHES:
            continue
        if not isinstance(digest, bytes):
            raise SignatureError("Content-Digest header is malformed")
        _compare_digest(digest, name, body, "Content-Digest")


_DERIVED_COMPONENTS: dict[str, Callable[[_Request], str]] = {
    "@method": lambda request: request.method,
    "@target-uri": lambda request: f"{request.scheme}://{request.authority()}{request.path_qs}",
    "@authority": lambda request: request.authority(),
    "@scheme": lambda request: request.scheme,
    "@request-target": lambda request: request.path_qs,
    "@path": lambda request: request.path_qs.partition("?")[0],
    "@query": lambda request: "?" + request.path_qs.partition("?")[2],
}


def _signature_base(inner: _SfInnerList, request: _Request) -> bytes:
    names = _component_names(inner)
    lines = [f"{http_sf.ser(name)}: {_component_value(name, request)}" for name in names]
    lines.append(f'"@signature-params": {_sf_serialise(inner)}')
    return _ascii("\n".join(lines))


def _component_value(name: str, request: _Request) -> str:
    if not name.startswith("@"):
        return _header_value(request.headers, name)
    if name not in _DERIVED_COMPONENTS:
        raise SignatureError(f"covered component {name} is not supported")
    return _DERIVED_COMPONENTS[name](request)


# --- Structured Fields (RFC 8941), parsed and serialised by http_sf ---------------------

# http_sf's shapes: an item is (value, params), an inner list is ([items], params).
_SfParams = dict[str, Any]
_SfInnerList = tuple[list[tuple[Any, _SfParams]], _SfParams]
_SfMember = tuple[Any, _SfParams]  # an item or an inner list
# Strings, tokens, integers, byte sequences and booleans (a bool is an int); decimals,
# dates and display strings are refused: no signature field uses them.
_SF_ACCEPTED = (str, http_sf.Token, int, bytes)


def _sf_dictionary(value: str, field_name: str) -> dict[str, _SfMember]:
    try:
        members = http_sf.parse(
            value.encode("ascii"), tltype="dictionary", on_duplicate_key=_sf_refuse_duplicate
        )
    except ValueError as exc:  # http_sf's StructuredFieldError, or a non-ASCII character
        raise SignatureError(f"{field_name} header is malformed ({exc})") from exc
    for bare in _sf_bare_values(members.values()):
        if not isinstance(bare, _SF_ACCEPTED):
            raise SignatureError(f"{field_name} header is malformed (unsupported value)")
        # http_sf forgives missing "=" padding (RFC 9651 4.2.7); we refuse it, as we
        # always have, so that a byte sequence has a single spelling.
        if isinstance(bare, bytes) and f":{_b64(bare)}:" not in value:
            raise SignatureError(f"{field_name} is not valid base64")
    return members


def _sf_refuse_duplicate(key: str, _where: str) -> None:
    # RFC 8941 keeps the last; refusing avoids disputes between parsers.
    raise http_sf.StructuredFieldError(f"{key} given twice")


def _sf_bare_values(members: Iterable[_SfMember]) -> Iterator[Any]:
    """Every bare value in the members, their items and their parameters."""
    for value, params in members:
        yield from params.values()
        if isinstance(value, list):
            yield from _sf_bare_values(value)
        else:
            yield value


def _sf_serialise(structure: dict[str, _SfInnerList] | _SfInnerList) -> str:
    try:
        if isinstance(structure, dict):
            return http_sf.ser(structure)
        return ser_innerlist(structure)
    except ValueError as exc:
        raise SignatureError("signature parameters must be printable ASCII") from exc


# --- Small shared helpers -----------------------------------------------------------------


def _require_covered(covered: tuple[str, ...], required: tuple[str, ...]) -> None:
    missing = [name for name in required if name not in covered]
    if missing:
        raise SignatureError(f"signature must cover {', '.join(missing)}")


def _compare_digest(expected: bytes, name: str, body: bytes | None, header: str) -> None:
    if not hmac.compare_digest(expected, _HASHES[name](body or b"").digest()):
        raise SignatureError(f"{header} does not match the body")


def _check_fresh(moment: datetime, now: datetime, what: str) -> None:
    if moment - now > MAX_FUTURE:
        raise SignatureError(f"{what} is more than 1 hour in the future; check the clock")
    if now - moment > MAX_PAST:
        raise SignatureError(f"{what} is more than 1 hour 5 minutes old")


def _parse_http_date(value: str) -> datetime:
    try:
        return _utc(parsedate_to_datetime(value))
    except (TypeError, ValueError, IndexError) as exc:
        raise SignatureError("Date header is not a valid HTTP date") from exc


def _unix_time(seconds: int | str) -> datetime:
    try:
        return datetime.fromtimestamp(float(seconds), UTC)
    except (OverflowError, ValueError, OSError) as exc:
        raise SignatureError("signature time is out of range") from exc


def _utc(moment: datetime | None) -> datetime:
    if moment is None:
        return datetime.now(UTC)
    # A naive datetime is read as UTC, the only zone HTTP dates use.
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def _split_url(url: str) -> tuple[str, str, str]:
    """(scheme, authority, path and query) of an absolute URL, as a client sends them."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    try:
        port = parts.port
    except ValueError as exc:
        raise SignatureError(f"cannot sign for {url!r}: bad port") from exc
    if scheme not in _DEFAULT_PORTS or not parts.hostname:
        raise SignatureError(f"cannot sign for {url!r}: need an absolute http(s) URL")
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    authority = host if port in (None, _DEFAULT_PORTS[scheme]) else f"{host}:{port}"
    path_qs = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return scheme, authority, path_qs


def _ascii(text: str) -> bytes:
    try:
        return text.encode("ascii")
    except UnicodeEncodeError as exc:
        raise SignatureError("signed header values must be ASCII") from exc


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _b64decode(text: str, what: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise SignatureError(f"{what} is not valid base64") from exc
