"""HTTP signatures: draft-cavage (what the fediverse sends today) and RFC 9421.

Pure functions over method, URL or path, headers and body: no I/O, no web framework.
Verification runs in two phases so the caller can fetch the signer's key in between:
`parse_signature` does every check that needs no key and returns a `ParsedSignature`;
`verify_signature` then checks the RSA signature with the key found for `key_id`.
Every refusal is a `SignatureError` whose message is short enough for a 401 body.
This module is the one to import: the RFC 9421 half is in commonsfed.signatures_rfc9421,
what both share in commonsfed.signatures_common.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from commonsfed.signatures_common import (
    HASHES,
    MAX_FUTURE,
    MAX_PAST,
    ParsedSignature,
    Request,
    SignatureError,
    ascii_bytes,
    b64,
    b64decode,
    check_fresh,
    compare_digest,
    content_digest_header,
    digest_header,
    header_value,
    http_date,
    lower_headers,
    parse_http_date,
    require_covered,
    rsa_sign,
    split_url,
    unix_time,
    utc,
)
from commonsfed.signatures_rfc9421 import (
    RFC9421_ALGORITHM,
    RFC9421_LABEL,
    parse_rfc9421,
    sign_rfc9421,
)

__all__ = [
    "CAVAGE_ALGORITHMS", "MAX_FUTURE", "MAX_PAST", "RFC9421_ALGORITHM", "RFC9421_LABEL",
    "ParsedSignature", "SignatureError", "content_digest_header", "digest_header",
    "generate_private_key", "http_date", "key_fingerprint", "parse_signature",
    "private_key_from_pem", "private_key_to_pem", "public_key_from_pem", "public_key_to_pem",
    "sign_cavage", "sign_rfc9421", "verify_request", "verify_signature",
]  # fmt: skip

# hs2019 means "the algorithm the key implies"; for the RSA keys ActivityPub uses,
# Mastodon treats it as rsa-sha256 (PKCS#1 v1.5), so we do the same.
CAVAGE_ALGORITHMS = frozenset({"rsa-sha256", "hs2019"})

_CAVAGE_REQUIRED = ("(request-target)", "host", "date")
_PSEUDO_TIMES = frozenset({"(created)", "(expires)"})


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
    scheme, authority, path_qs = split_url(url)
    present = lower_headers(headers)
    added = _missing_headers(present, {"Host": authority, "Date": http_date(now)})
    if body is not None:
        added |= _cavage_digest(present, body)
    merged = present | lower_headers(added)
    covered = _cavage_covered_for(merged, has_body=body is not None)
    request = Request(method.upper(), scheme, merged["host"], path_qs, merged)
    signature = rsa_sign(private_key, _cavage_signing_string(covered, request, {}))
    added["Signature"] = _cavage_signature_field(key_id, covered, signature)
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
        f'headers="{" ".join(covered)}",signature="{b64(signature)}"'
    )


def _cavage_digest(present: Mapping[str, str], body: bytes) -> dict[str, str]:
    """The Digest to add, or none when the caller set one (which must then match)."""
    if "digest" in present:
        _check_digest(present["digest"], body)
        return {}
    return {"Digest": digest_header(body)}


def _missing_headers(present: Mapping[str, str], wanted: dict[str, str]) -> dict[str, str]:
    return {name: value for name, value in wanted.items() if name.lower() not in present}


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
        parsed = parse_rfc9421(request, body, utc(now))
    else:
        parsed = _parse_cavage(request, body, utc(now))
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


def _check_authority(request: Request, expected: str) -> None:
    wanted = replace(request, host=expected).authority()
    if request.authority() != wanted:
        raise SignatureError(f"the request is for {request.authority()}, not for {wanted}")


def _incoming_request(
    method: str, path_qs: str, headers: Mapping[str, str], scheme: str, authority: str | None
) -> Request:
    if not path_qs.startswith("/"):
        raise SignatureError("request target must be a path")
    lowered = lower_headers(headers)
    if authority is not None:
        lowered["host"] = authority
    return Request(method.upper(), scheme.lower(), lowered.get("host"), path_qs, lowered)


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


def _parse_cavage(request: Request, body: bytes | None, now: datetime) -> ParsedSignature:
    params = _parse_cavage_params(_cavage_field(request.headers))
    algorithm = _cavage_algorithm(params)
    covered = tuple(params.get("headers", "(created)").lower().split())
    require_covered(covered, _CAVAGE_REQUIRED + (("digest",) if body else ()))
    signing_string = _cavage_signing_string(covered, request, params)
    _check_cavage_times(covered, params, request.headers["date"], algorithm, now)
    if "digest" in covered:
        _check_digest(request.headers["digest"], body)
    signature = b64decode(params["signature"], "signature")
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
    covered: tuple[str, ...], request: Request, params: Mapping[str, str]
) -> bytes:
    lines = (f"{name}: {_cavage_value(name, request, params)}" for name in covered)
    return ascii_bytes("\n".join(lines))


def _cavage_value(name: str, request: Request, params: Mapping[str, str]) -> str:
    if name == "(request-target)":
        return f"{request.method.lower()} {request.path_qs}"
    if name in _PSEUDO_TIMES:
        return _cavage_param(params, name.strip("()"))
    if name.startswith("("):
        raise SignatureError(f"unknown pseudo-header {name}")
    return header_value(request.headers, name)


def _check_cavage_times(
    covered: tuple[str, ...],
    params: Mapping[str, str],
    date: str,
    algorithm: str | None,
    now: datetime,
) -> None:
    check_fresh(parse_http_date(date), now, "Date")
    # draft-cavage 12 section 2.3, as Mastodon enforces: (created) and (expires) come
    # only with hs2019, because rsa-sha256 signers predate them.
    if _PSEUDO_TIMES.intersection(covered) and algorithm not in (None, "hs2019"):
        raise SignatureError("(created) and (expires) need algorithm hs2019")
    if "(created)" in covered:
        check_fresh(unix_time(_cavage_param(params, "created")), now, "created")
    if "(expires)" in covered and unix_time(_cavage_param(params, "expires")) < now:
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
        if name in HASHES:
            compare_digest(b64decode(encoded, "Digest"), name, body, "Digest")


def _parse_digest(value: str) -> dict[str, str]:
    """`SHA-256=abc, SHA-512=def` by lower-case algorithm name (peers differ in case)."""
    digests: dict[str, str] = {}
    for part in value.split(","):
        name, sep, encoded = part.strip().partition("=")
        if not sep or not name:
            raise SignatureError("Digest header is malformed")
        digests[name.lower()] = encoded
    return digests
